"""The opt-in meter of the local stack (devstack/meter.py): each handler invocation is one
record, and every DynamoDB call lands in the record of the invocation that made it --
also when invocations overlap on several threads and when a handler fans out over a
thread pool."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.app import Chalice, Rate
from chalice.test import Client

from devstack import meter

pytestmark = pytest.mark.integration

REGION = "us-east-1"


def _client(endpoint: str, service: str = "dynamodb") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def table(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A table with one index (the meter reads its indexes with the process's settings)."""
    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    name = f"meter-{uuid.uuid4().hex[:8]}"
    ddb = _client(moto_endpoint)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": k, "AttributeType": "S"} for k in ("pk", "gsi1pk", "gsi1sk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "big"}, "blob": {"S": "x" * 5000}})
    return name


def _app(endpoint: str, table: str, overlap: threading.Barrier) -> Chalice:
    """A small app whose handlers make a known number of DynamoDB calls (with a client
    created at import, as an app module may: the meter is hooked first)."""
    meter.hook()
    app = Chalice(app_name="metered")
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    ddb = _client(endpoint)
    pool = ThreadPoolExecutor(4)

    def get(key: str = "big") -> None:
        ddb.get_item(TableName=table, Key={"pk": {"S": key}})

    @app.route("/reads/{n}")
    def reads(n: str) -> dict[str, int]:
        overlap.wait(timeout=10)  # both requests are in flight here at the same time
        for _ in range(int(n)):
            get()
        list(pool.map(lambda _: get("missing"), range(3)))  # fan-out: 3 more calls
        return {"n": int(n)}

    @app.on_ws_message()
    def message(event: Any) -> None:
        ddb.put_item(TableName=table, Item={"pk": {"S": uuid.uuid4().hex}, "v": {"S": "y" * 1500}})

    indexed = {"gsi1pk": {"S": "DUE#1"}, "gsi1sk": {"S": "1"}}

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def sweep(event: Any) -> None:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "t0"}}}},
                {"Put": {"TableName": table, "Item": {"pk": {"S": "t1"}, **indexed}}},
            ]
        )

    return app


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_overlapping_requests_each_get_their_own_calls_including_fan_out(
    moto_endpoint: str, table: str, tmp_path: Path
) -> None:
    path = tmp_path / "meter.jsonl"
    app = _app(moto_endpoint, table, threading.Barrier(2))
    metered = meter.install(app, "http", str(path))
    results: dict[str, int] = {}

    def call(n: int) -> None:
        with Client(metered) as client:
            results[str(n)] = client.http.get(f"/reads/{n}").status_code

    threads = [threading.Thread(target=call, args=(n,)) for n in (1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    _client(moto_endpoint).get_item(TableName=table, Key={"pk": {"S": "big"}})  # not metered

    assert results == {"1": 200, "4": 200}
    records = sorted(_records(path), key=lambda r: r["dynamodb"]["calls"])
    assert [(r["kind"], r["name"], r["status"]) for r in records] == [
        ("http", "GET /reads/{n}", 200),
        ("http", "GET /reads/{n}", 200),
    ]
    assert [r["dynamodb"]["calls"] for r in records] == [1 + 3, 4 + 3]
    assert records[1]["dynamodb"]["ops"] == ["GetItem"] * 7
    # a 5 KB item read eventually consistently is 1 unit (two 4 KB blocks at 0.5); a miss 0.5
    assert [r["dynamodb"]["read_units"] for r in records] == [1 + 1.5, 4 + 1.5]
    assert all(r["dynamodb"]["scans"] == 0 and r["ms"] > 0 for r in records)


def test_websocket_and_scheduled_handlers_are_named_and_their_writes_sized(
    moto_endpoint: str, table: str, tmp_path: Path
) -> None:
    path = tmp_path / "meter.jsonl"
    app = _app(moto_endpoint, table, threading.Barrier(1))
    meter.install(app, "ws", str(path))
    frame = json.dumps({"action": "chat.send", "text": "hi"})
    event = {
        "requestContext": {
            "routeKey": "$default",
            "eventType": "MESSAGE",
            "connectionId": "abc=",
            "domainName": "127.0.0.1:1",
            "stage": "local",
            "apiId": "local",
        },
        "body": frame,
        "isBase64Encoded": False,
    }
    app.handler_map["message"](event, None)
    with Client(app) as client:
        client.lambda_.invoke(
            "sweep", client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        )

    ws, schedule = _records(path)
    assert (ws["kind"], ws["name"], ws["in_bytes"]) == ("ws", "$default chat.send", len(frame))
    assert ws["dynamodb"]["ops"] == ["PutItem"]
    assert ws["dynamodb"]["write_units"] == 2  # a 1.5 KB item: two 1 KB units
    assert (schedule["kind"], schedule["name"]) == ("schedule", "sweep")
    assert schedule["dynamodb"]["ops"] == ["TransactWriteItems"]
    # two small items, transactional: 2 each, and the index entry of the second: 1
    assert schedule["dynamodb"]["write_units"] == 2 + 2 + 1


def test_without_the_variable_the_app_is_left_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(meter.ENV, raising=False)
    app = Chalice(app_name="plain")
    assert meter.maybe_install(app, "http") is app
