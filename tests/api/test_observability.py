"""Structured logs with correlation ids and EMF metrics, as CloudWatch would receive them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib import observability

pytestmark = pytest.mark.api


def _json_lines(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_each_request_logs_one_json_line_with_its_correlation_id(as_user):
    stream = io.StringIO()
    handler = logging.getLogger("summon").handlers[0]
    # swapped, not setStream: that flushes the old stream, which a test runner holding
    # pytest in-process (mutmut) may have closed already
    previous, handler.stream = handler.stream, stream
    try:
        response = as_user().call("GET", "/me")
    finally:
        handler.stream = previous
    assert response.status_code == 200
    lines = [e for e in _json_lines(stream.getvalue()) if e.get("message") == "request"]
    assert len(lines) == 1, stream.getvalue()
    assert lines[0]["path"] == "/me" and lines[0]["status"] == 200
    assert lines[0]["service"] == "summon"
    assert lines[0]["correlation_id"]


def test_business_metrics_are_flushed_in_embedded_metric_format(as_user, capfd):
    observability.count("RequestsCreated")
    as_user().call("GET", "/categories")
    emf = [e for e in _json_lines(capfd.readouterr().out) if "_aws" in e]
    assert emf, "no EMF document was flushed"
    assert emf[-1]["RequestsCreated"] == [1.0] or emf[-1]["RequestsCreated"] == 1.0
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Summon"


def _emitted(capfd) -> set[str]:
    names: set[str] = set()
    for doc in _json_lines(capfd.readouterr().out):
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            names |= {m["Name"] for m in directive["Metrics"]}
    return names


def test_each_charted_metric_is_emitted_by_the_route_that_causes_it(as_user, capfd):
    """The dashboard's business metrics (infra/constructs/monitoring.py), each from the
    route where the thing happens."""
    from infra.constructs.monitoring import BUSINESS_METRICS
    from tests.api.test_marketplace import become_provider, offers_of, request_body

    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    capfd.readouterr()
    created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201
    assert {"RequestsCreated", "OffersSent"} <= _emitted(capfd)
    offer = offers_of(provider)[0]
    job = provider.call("POST", f"/offers/{offer['id']}/accept").json_body
    assert {"Matches", "TimeToAccept"} <= _emitted(capfd)
    body = {"client_msg_id": "m", "text": "on my way"}
    provider.call("POST", f"/conversations/{job['conversation_id']}/messages", body)
    assert "MessagesSent" in _emitted(capfd)
    charted = set(BUSINESS_METRICS) - {"PushesSent"}  # push: tests/api/test_devices.py
    assert charted == {"RequestsCreated", "OffersSent", "Matches", "TimeToAccept", "MessagesSent"}
