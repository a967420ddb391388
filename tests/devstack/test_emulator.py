"""The local stack's emulator (devstack/emulator.py, its moto patches in devstack/patches.py):
TransactWriteItems keeps DynamoDB's all-or-nothing semantics and moto's error shape (what
the app's code reads), while it rolls back with an undo log of the touched items instead
of a copy of the table."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack import emulator, patches

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@pytest.fixture(scope="module")
def ddb() -> Iterator[Any]:
    server = emulator.Emulator().start()
    try:
        yield boto3.client(
            "dynamodb",
            endpoint_url=server.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    finally:
        server.stop()


def _create(client: Any, stream: bool = False) -> str:
    name = f"emu-{uuid.uuid4().hex[:8]}"
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


@pytest.fixture
def table(ddb: Any) -> str:
    return _create(ddb)


def _key(pk: str, sk: str = "x") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _get(client: Any, table: str, pk: str, sk: str = "x") -> dict[str, Any] | None:
    found: dict[str, Any] | None = client.get_item(
        TableName=table, Key=_key(pk, sk), ConsistentRead=True
    ).get("Item")
    return found


def _put(table: str, pk: str, sk: str = "x", **attrs: str) -> dict[str, Any]:
    item = {**_key(pk, sk), **{k: {"S": v} for k, v in attrs.items()}}
    return {"Put": {"TableName": table, "Item": item}}


def _absent(op: dict[str, Any]) -> dict[str, Any]:
    body = next(iter(op.values()))
    body["ConditionExpression"] = "attribute_not_exists(pk)"
    return op


def _cancelled(client: Any, items: list[dict[str, Any]]) -> ClientError:
    with pytest.raises(ClientError) as caught:
        client.transact_write_items(TransactItems=items)
    return caught.value


def test_a_failed_condition_in_item_2_leaves_item_1_unwritten(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**_key("taken"), "v": {"S": "first"}})

    error = _cancelled(
        ddb,
        [_absent(_put(table, "new", v="mine")), _absent(_put(table, "taken", v="mine"))],
    )

    assert error.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = error.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert _get(ddb, table, "new") is None
    assert _get(ddb, table, "taken") == {**_key("taken"), "v": {"S": "first"}}


def test_all_old_returns_the_item_that_failed_the_condition(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**_key("taken"), "v": {"S": "first"}})
    failing = _absent(_put(table, "taken", v="mine"))
    failing["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"

    error = _cancelled(ddb, [_put(table, "other"), failing])

    reasons = error.response["CancellationReasons"]
    assert reasons[0] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Item"] == {**_key("taken"), "v": {"S": "first"}}
    assert _get(ddb, table, "other") is None


def test_two_operations_on_one_key_are_rejected_and_nothing_is_written(
    ddb: Any, table: str
) -> None:
    error = _cancelled(
        ddb, [_put(table, "a"), _put(table, "dup", v="1"), _put(table, "dup", v="2")]
    )

    assert error.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in error.response["Error"]["Message"]
    assert _get(ddb, table, "a") is None
    assert _get(ddb, table, "dup") is None


def test_updates_and_deletes_are_undone_too(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**_key("counter"), "n": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**_key("doomed"), "v": {"S": "keep me"}})
    ddb.put_item(TableName=table, Item={**_key("replaced"), "v": {"S": "old"}})

    error = _cancelled(
        ddb,
        [
            {
                "Update": {
                    "TableName": table,
                    "Key": _key("counter"),
                    "UpdateExpression": "ADD n :one SET touched = :yes",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":yes": {"BOOL": True}},
                }
            },
            {"Delete": {"TableName": table, "Key": _key("doomed")}},
            _put(table, "replaced", v="new"),
            {
                "Update": {
                    "TableName": table,
                    "Key": _key("created-by-update"),
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"S": "x"}},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": _key("missing"),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ],
    )

    codes = [r["Code"] for r in error.response["CancellationReasons"]]
    assert codes == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert _get(ddb, table, "counter") == {**_key("counter"), "n": {"N": "1"}}
    assert _get(ddb, table, "doomed") == {**_key("doomed"), "v": {"S": "keep me"}}
    assert _get(ddb, table, "replaced") == {**_key("replaced"), "v": {"S": "old"}}
    assert _get(ddb, table, "created-by-update") is None


def test_a_transaction_that_passes_writes_every_item(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**_key("counter"), "n": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**_key("doomed")})

    ddb.transact_write_items(
        TransactItems=[
            _absent(_put(table, "claim", "c1", seq="7")),
            _absent(_put(table, "message", "7", text="hi")),
            {
                "Update": {
                    "TableName": table,
                    "Key": _key("counter"),
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
            {"Delete": {"TableName": table, "Key": _key("doomed")}},
        ]
    )

    assert _get(ddb, table, "claim", "c1") == {**_key("claim", "c1"), "seq": {"S": "7"}}
    assert _get(ddb, table, "message", "7") == {**_key("message", "7"), "text": {"S": "hi"}}
    assert _get(ddb, table, "counter") == {**_key("counter"), "n": {"N": "2"}}
    assert _get(ddb, table, "doomed") is None


def test_a_cancelled_transaction_leaves_no_stream_records(ddb: Any) -> None:
    name = _create(ddb, stream=True)
    ddb.put_item(TableName=name, Item={**_key("taken")})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    streams = boto3.client(
        "dynamodbstreams",
        endpoint_url=ddb.meta.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    _cancelled(ddb, [_put(name, "new"), _absent(_put(name, "taken"))])

    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["taken"]


# --- the same answers as moto's own implementation, without copying the table ----------


def _backend_with_items() -> Any:
    from moto.dynamodb.models import DynamoDBBackend

    backend = DynamoDBBackend(REGION, "123456789012")
    backend.create_table(
        "t",
        schema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        attr=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=None,
        global_indexes=None,
        streams=None,
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for pk in ("taken", "counter", "doomed"):
        backend.put_item("t", {**_key(pk), "n": {"N": "1"}})
    return backend


def _update(pk: str, expression: str = "ADD n :one") -> dict[str, Any]:
    return {
        "Update": {
            "TableName": "t",
            "Key": _key(pk),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }


def _delete(key: dict[str, Any]) -> dict[str, Any]:
    return {"Delete": {"TableName": "t", "Key": key}}


SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "passes": [_absent(_put("t", "new")), _update("counter"), _delete(_key("doomed"))],
    "item 2 fails": [_absent(_put("t", "new")), _absent(_put("t", "taken"))],
    "all old": [
        _update("counter"),
        {
            "Put": {
                "TableName": "t",
                "Item": _key("taken"),
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ],
    "two fail": [_absent(_put("t", "taken")), _update("counter"), _absent(_put("t", "doomed"))],
    "duplicate key": [_put("t", "new"), _update("counter"), _put("t", "new")],
    "bad update": [_update("counter"), _update("taken", "SET #missing = :one")],
    "missing range key": [_put("t", "new"), _delete({"pk": {"S": "x"}})],
}


def _outcome(run: Any, items: list[dict[str, Any]]) -> tuple[Any, Any]:
    backend = _backend_with_items()
    try:
        run(backend, copy.deepcopy(items))
        error: Any = None
    except Exception as exc:  # noqa: BLE001 - compared below
        error = (type(exc).__name__, getattr(exc, "description", str(exc)))
    table = backend.get_table("t")
    contents = sorted(
        (str(item.hash_key.value), str(item.range_key.value), item.to_json())
        for bucket in table.items.values()
        for item in bucket.values()
    )
    return error, contents


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_same_outcome_as_moto_without_copying_the_table(
    scenario: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb import models

    patches.patch_transactions()
    moto_original = models.DynamoDBBackend.transact_write_items._moto_original  # type: ignore[attr-defined]
    expected = _outcome(moto_original, SCENARIOS[scenario])

    copied: list[str] = []
    real_deepcopy = copy.deepcopy

    def spy(value: Any, *args: Any) -> Any:
        copied.append(type(value).__name__)
        return real_deepcopy(value, *args)

    monkeypatch.setattr(copy, "deepcopy", spy)
    got = _outcome(patches.transact_write_items, SCENARIOS[scenario])

    assert got == expected
    assert "Table" not in copied


# --- Query reads the partition (or the index entries), not a sorted copy of the table ---


@pytest.fixture(scope="module")
def query_table(ddb: Any) -> str:
    name = f"emu-q-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi2",
                "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(120):
        item = {"pk": {"S": f"P#{i % 7}"}, "sk": {"S": f"S#{(i * 37) % 120:03d}"}}
        item["n"] = {"N": str(i)}
        if i % 3:
            item["gpk"] = {"S": f"G#{i % 4}"}
        if i % 5:
            item["gsk"] = {"S": f"{(i * 11) % 50:02d}"}  # repeats: the table key breaks ties
        ddb.put_item(TableName=name, Item=item)
    return name


def _values(**values: str) -> dict[str, Any]:
    return {f":{k}": ({"N": v} if k == "n" else {"S": v}) for k, v in values.items()}


QUERIES: dict[str, dict[str, Any]] = {
    "partition": {
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": _values(p="P#3"),
    },
    "range, backwards, pages of 4": {
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": _values(p="P#2", a="S#010", b="S#090"),
        "ScanIndexForward": False,
        "Limit": 4,
    },
    "begins_with + filter": {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "FilterExpression": "n > :n",
        "ExpressionAttributeValues": _values(p="P#1", s="S#0", n="30"),
    },
    "missing partition": {
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": _values(p="none"),
    },
    "index": {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gpk = :g",
        "ExpressionAttributeValues": _values(g="G#1"),
    },
    "index range, pages of 3": {
        "IndexName": "gsi1",
        "KeyConditionExpression": "gpk = :g AND gsk > :k",
        "ExpressionAttributeValues": _values(g="G#2", k="20"),
        "Limit": 3,
    },
    "index without range key, backwards": {
        "IndexName": "gsi2",
        "KeyConditionExpression": "gpk = :g",
        "ExpressionAttributeValues": _values(g="G#3"),
        "ScanIndexForward": False,
    },
}


def _pages(client: Any, table: str, request: dict[str, Any]) -> list[Any]:
    pages: list[Any] = []
    start = None
    while len(pages) < 100:
        extra = {"ExclusiveStartKey": start} if start else {}
        got = client.query(TableName=table, **request, **extra)
        start = got.get("LastEvaluatedKey")
        pages.append((got["Items"], got["Count"], got["ScannedCount"], start))
        if not start:
            break
    return pages


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_query_answers_what_moto_answers(
    name: str, ddb: Any, query_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.dynamodb.models import table as table_module
    from moto.dynamodb.models.table import Table

    patches.patch_queries()
    patched_query, patched_all_items = Table.query, Table.all_items
    sorted_tables: list[int] = []

    def counting_sorted(items: Any, **kwargs: Any) -> Any:
        sorted_tables.append(len(items))
        return sorted(items, **kwargs)

    monkeypatch.setattr(table_module, "sorted", counting_sorted, raising=False)
    monkeypatch.setattr(Table, "query", patched_query._moto_original)  # type: ignore[attr-defined]
    monkeypatch.setattr(Table, "all_items", patched_all_items._moto_original)  # type: ignore[attr-defined]
    expected = _pages(ddb, query_table, QUERIES[name])
    assert sorted_tables  # moto sorted the whole table for each page
    monkeypatch.setattr(Table, "query", patched_query)
    monkeypatch.setattr(Table, "all_items", patched_all_items)
    sorted_tables.clear()

    assert _pages(ddb, query_table, QUERIES[name]) == expected
    assert not sorted_tables
    assert any(page[0] for page in expected) or name == "missing partition"


# --- per-request overhead and GC pauses --------------------------------------------------


def test_cached_lookups_answer_what_moto_computes() -> None:
    import os

    import moto
    from moto import backends
    from moto.core import responses, utils
    from moto.dynamodb.responses import DynamoHandler

    patches.patch_request_overhead()
    on_disk = sorted(
        d
        for d in os.listdir(os.path.dirname(moto.__file__))
        if os.path.isdir(os.path.join(os.path.dirname(moto.__file__), d)) and not d.startswith("__")
    )
    assert list(backends.list_of_moto_modules()) == on_disk
    names = responses.method_names_from_class(DynamoHandler)  # type: ignore[attr-defined]
    assert names == utils.method_names_from_class(DynamoHandler)
    assert "transact_write_items" in names


def test_other_services_still_dispatch_after_dynamodb_calls(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item=_key("x"))
    sqs = boto3.client(
        "sqs",
        endpoint_url=ddb.meta.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hi"
    assert _get(ddb, table, "x") == _key("x")


def test_steady_gc_freezes_what_survives_a_full_collection() -> None:
    import subprocess
    import sys

    script = (
        "import gc\n"
        "from devstack.emulator import steady_gc\n"
        "steady_gc()\n"
        "frozen = gc.get_freeze_count()\n"
        "kept = [[i] for i in range(5000)]\n"
        "gc.collect()\n"
        "assert gc.get_freeze_count() >= frozen + 5000, (frozen, gc.get_freeze_count())\n"
        "garbage = []\n"
        "garbage.append(garbage)\n"
        "del garbage\n"
        "assert gc.collect() >= 1  # young cycles are still collected\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_one_update_expression_with_other_values_and_items(ddb: Any, table: str) -> None:
    expression = "SET #p = :p, #seen.#who = :n ADD last_seq :one"
    # the same expression string, other names and values: each call applies its own
    ddb.put_item(TableName=table, Item={**_key("c3"), "seen": {"M": {}}})
    for text in ("one", "three"):
        ddb.update_item(
            TableName=table,
            Key=_key("c3"),
            UpdateExpression=expression,
            ExpressionAttributeNames={"#p": "preview", "#seen": "seen", "#who": f"u-{text}"},
            ExpressionAttributeValues={
                ":p": {"M": {"text": {"S": text}}},
                ":n": {"N": str(len(text))},
                ":one": {"N": "1"},
            },
        )

    assert _get(ddb, table, "c3") == {
        **_key("c3"),
        "seen": {"M": {"u-one": {"N": "3"}, "u-three": {"N": "5"}}},
        "preview": {"M": {"text": {"S": "three"}}},
        "last_seq": {"N": "2"},
    }
    for _ in range(2):  # a malformed expression is refused every time, not remembered
        with pytest.raises(ClientError) as caught:
            ddb.update_item(TableName=table, Key=_key("c3"), UpdateExpression="SET = :x")
        assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_the_dynamodb_lock_is_handed_over_in_arrival_order() -> None:
    import threading
    import time

    lock = emulator.FifoLock()
    order: list[int] = []
    threads = []
    with lock:
        for n in range(6):

            def enter(n: int = n) -> None:
                with lock:
                    order.append(n)

            thread = threading.Thread(target=enter)
            thread.start()
            threads.append(thread)
            while len(lock._waiters) < n + 1:  # until this one is queued, then the next
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=10)

    assert order == [0, 1, 2, 3, 4, 5]
    with lock:  # free again, and reusable
        pass
