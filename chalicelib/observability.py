"""Structured JSON logs with correlation ids, and CloudWatch metrics in the embedded metric
format, via Powertools (Logger + Metrics only: Tracer's ~0.3 s import is not worth it).

``middleware`` is registered for every event type in app.py: it sets the correlation id
(API Gateway's request id for HTTP and WebSocket, the message/event id otherwise), logs
one line per HTTP request, and flushes the metrics the handler recorded. Business code
calls :func:`count` / :func:`timing` (e.g. ``count("RequestsCreated")``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from chalicelib import ids

NAMESPACE = "Summon"
logger = Logger(service="summon")
metrics = Metrics(namespace=NAMESPACE, service="summon")


def count(name: str, value: float = 1) -> None:
    """Add to a business counter (RequestsCreated, Matches, MessagesSent, PushesSent …)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def timing(name: str, milliseconds: float) -> None:
    """Record a duration (e.g. TimeToAccept)."""
    metrics.add_metric(name=name, unit=MetricUnit.Milliseconds, value=milliseconds)


def _correlation_id(event: Any) -> str:
    context = getattr(event, "context", None)
    if isinstance(context, dict) and context.get("requestId"):
        return str(context["requestId"])
    for attr in ("message_id", "request_id", "event_id"):
        value = getattr(event, attr, None)
        if value:
            return str(value)
    lambda_context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    request_id = getattr(lambda_context, "aws_request_id", None)
    return str(request_id) if request_id else ids.new_id()


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    logger.set_correlation_id(_correlation_id(event))
    started = time.perf_counter()
    try:
        response = get_response(event)
        status = getattr(response, "status_code", None)
        is_http = isinstance(getattr(event, "method", None), str)
        if status is not None and is_http:  # HTTP requests only (not WebSocket events)
            logger.info(
                "request",
                extra={
                    "method": getattr(event, "method", ""),
                    "path": getattr(event, "path", ""),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return response
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
