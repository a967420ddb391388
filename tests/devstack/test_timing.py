"""Per-stage timings of the local stack (devstack/timing.py, read by bench/chat_stages.py):
a traced DynamoDB call is recorded on both sides under one id, with the emulator's lock
wait, hold and journal append; untraced calls leave no record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bench import chat_stages
from devstack import emulator, timing
from devstack.persist import Journal

pytestmark = pytest.mark.integration


@pytest.fixture
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    records = tmp_path / "timings.jsonl"
    monkeypatch.setenv(timing.ENV, str(records))
    timing._hook_botocore()
    journal = Journal(tmp_path / "state")
    server = emulator.Emulator(journal=journal).start()
    try:
        client = boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        yield client, records
    finally:
        server.stop()
        journal.close()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_traced_call_is_timed_on_both_sides_and_only_writes_pay_the_journal(
    traced: tuple[Any, Path],
) -> None:
    client, records = traced
    table = f"t-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert _lines(records) == []  # no frame in progress: nothing traced

    token = timing._key.set("b-msg-1")
    try:
        client.put_item(TableName=table, Item={"pk": {"S": "a"}})
        got = client.get_item(TableName=table, Key={"pk": {"S": "a"}})
    finally:
        timing._key.reset(token)
    assert got["Item"] == {"pk": {"S": "a"}}  # the header changes nothing

    lines = _lines(records)
    calls = {r["id"]: r for r in lines if r["k"] == "call"}
    emulated = {r["id"]: r for r in lines if r["k"] == "dynamodb"}
    assert set(calls) == set(emulated) and len(calls) == 2
    by_op = {r["op"]: r for r in emulated.values()}
    for call in calls.values():
        assert call["key"] == "b-msg-1"
        e = emulated[call["id"]]
        assert call["op"] == f"dynamodb.{e['op']}"
        assert call["t0"] <= e["arrive"] <= e["locked"] <= e["released"] <= call["t1"]
    assert by_op["PutItem"]["journal"] > 0
    assert by_op["GetItem"]["journal"] == 0


def test_the_breakdown_splits_a_message_into_its_stages(tmp_path: Path) -> None:
    path = tmp_path / "timings.jsonl"
    rows = [
        {"k": "frame", "key": "m", "rx": 10.001},
        {"k": "handler", "key": "m", "t0": 10.002, "t1": 10.020, "cpu": 0.004},
        {"k": "call", "key": "m", "id": "m#0", "op": "dynamodb.PutItem",
         "t0": 10.003, "t1": 10.009},
        {"k": "dynamodb", "id": "m#0", "op": "PutItem", "arrive": 10.004, "locked": 10.005,
         "released": 10.008, "journal": 0.001},
        {"k": "call", "key": "m", "id": "m#1", "op": "apigatewaymanagementapi.PostToConnection",
         "t0": 10.010, "t1": 10.016},
        {"k": "post", "id": "m#1", "t0": 10.012, "t1": 10.014},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    table = chat_stages.stages(path, {"m": (10.000, 10.015), "never-handled": (10.0, 10.1)})

    def ms(name: str) -> float:
        (value,) = table[name]
        return round(value, 6)

    assert ms("client → gateway (frame read, routed)") == 1.0
    assert ms("gateway → handler thread (pool wait)") == 1.0
    assert ms("handler wall time") == 18.0
    assert ms("  app's own work (wall minus AWS in flight)") == 6.0  # 18 - 6 - 6
    assert ms("  DynamoDB calls (app side, all)") == 6.0
    assert ms("    wait for the emulator's lock") == 1.0
    assert ms("    moto, lock held (excl. journal)") == 2.0
    assert ms("    journal append (persist.py)") == 1.0
    assert ms("    HTTP + botocore + werkzeug") == 2.0
    assert ms("gateway socket write → client read") == 1.0
    assert ms("end to end") == 15.0
