"""The Idempotency-Key helper on DynamoDB (Powertools' persistence layer on our table)."""

from __future__ import annotations

import pytest

from chalicelib.adapters.idempotency import run_once
from chalicelib.errors import Unprocessable

pytestmark = pytest.mark.integration


def test_a_retry_returns_the_first_result_and_runs_nothing(aws):
    runs = []

    def create():
        runs.append(1)
        return {"status": 201, "body": {"id": f"thing-{len(runs)}"}, "headers": {}}

    first = run_once("user1:POST:/things:key-1", '{"a": 1}', create)
    again = run_once("user1:POST:/things:key-1", '{"a": 1}', create)
    assert first == again == {"status": 201, "body": {"id": "thing-1"}, "headers": {}}
    assert len(runs) == 1
    other = run_once("user1:POST:/things:key-2", '{"a": 1}', create)
    assert other["body"]["id"] == "thing-2"


def test_the_same_key_with_another_body_is_refused(aws):
    run_once("u:POST:/t:k", '{"a": 1}', lambda: {"status": 201, "body": {}, "headers": {}})
    with pytest.raises(Unprocessable):
        run_once("u:POST:/t:k", '{"a": 2}', lambda: {"status": 201, "body": {}, "headers": {}})


def test_a_failure_is_not_remembered(aws):
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("downstream down")
        return {"status": 201, "body": {"ok": True}, "headers": {}}

    with pytest.raises(RuntimeError):
        run_once("u:POST:/t:k2", "{}", flaky)
    assert run_once("u:POST:/t:k2", "{}", flaky)["body"] == {"ok": True}
