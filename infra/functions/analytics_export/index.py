"""DynamoDB stream -> Kinesis Data Firehose: each change of the main table becomes one JSON
line holding the item's attributes as plain values (numbers as numbers, JSON text and
strings as strings, maps/lists/sets as JSON text), its entity (the model discriminator),
``change_type`` (INSERT / MODIFY / REMOVE) and ``change_time``. Firehose partitions the
lines by entity and date, and Athena reads them through one Glue table per entity.

Standard library and boto3 only (both in the Lambda runtime)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MAX_RECORDS = 500  # PutRecordBatch limits
MAX_BYTES = 4 * 1024 * 1024

DISCRIMINATOR = os.environ.get("DISCRIMINATOR", "kind")


def plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON-friendly data matching the Glue column types."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if hasattr(value, "value") and isinstance(value.value, bytes):  # boto3 Binary
        return base64.b64encode(value.value).decode()
    if isinstance(value, set | frozenset):
        return json.dumps(sorted(plain(v) for v in value), default=str)
    if isinstance(value, dict | list):
        return json.dumps(value, default=_json_default, separators=(",", ":"))
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def flatten(record: dict[str, Any], deserialize: Any) -> dict[str, Any]:
    change = record["dynamodb"]
    image = change.get("NewImage") or change.get("OldImage") or change.get("Keys") or {}
    row = {name.lower(): plain(deserialize(v)) for name, v in image.items()}
    row[DISCRIMINATOR] = row.get(DISCRIMINATOR) or "unknown"
    row["change_type"] = record.get("eventName", "")
    created = change.get("ApproximateCreationDateTime")
    row["change_time"] = (
        datetime.fromtimestamp(float(created), UTC).isoformat() if created is not None else ""
    )
    return row


def batches(lines: list[tuple[str, bytes]]) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    size = 0
    for seq, data in lines:
        if batch and (len(batch) == MAX_RECORDS or size + len(data) > MAX_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((seq, data))
        size += len(data)
    if batch:
        yield batch


def export(event: dict[str, Any], firehose: Any, stream: str, deserialize: Any) -> dict[str, Any]:
    lines = [
        (
            r["dynamodb"]["SequenceNumber"],
            (json.dumps(flatten(r, deserialize), separators=(",", ":")) + "\n").encode(),
        )
        for r in event.get("Records", [])
    ]
    for batch in batches(lines):
        resp = firehose.put_record_batch(
            DeliveryStreamName=stream, Records=[{"Data": data} for _, data in batch]
        )
        if resp.get("FailedPutCount"):
            failed = [
                seq
                for (seq, _), r in zip(batch, resp["RequestResponses"], strict=True)
                if r.get("ErrorCode")
            ]
            # Stream order: retry from the first failure (earlier records are delivered).
            return {"batchItemFailures": [{"itemIdentifier": failed[0]}]}
    return {"batchItemFailures": []}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    global _CLIENT
    if _CLIENT is None:
        _CLIENT = boto3.client("firehose")
    return export(event, _CLIENT, os.environ["DELIVERY_STREAM"], TypeDeserializer().deserialize)


_CLIENT: Any = None
