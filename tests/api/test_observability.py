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
    previous = handler.setStream(stream)
    try:
        response = as_user().call("GET", "/me")
    finally:
        handler.setStream(previous)
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
