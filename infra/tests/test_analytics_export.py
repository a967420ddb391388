"""The analytics exporter Lambda (pure logic; Firehose is a fake)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from infra.functions.analytics_export import index

pytestmark = pytest.mark.unit

_DESER = TypeDeserializer().deserialize


def _record(seq: str, event: str, image: dict[str, Any], *, old: bool = False) -> dict[str, Any]:
    key = "OldImage" if old else "NewImage"
    return {
        "eventName": event,
        "dynamodb": {
            "SequenceNumber": seq,
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            key: image,
        },
    }


class FakeFirehose:
    def __init__(self, fail: set[int] | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.fail = fail or set()

    def put_record_batch(
        self, DeliveryStreamName: str, Records: list[dict[str, bytes]]
    ) -> dict[str, Any]:
        start = sum(len(b) for b in self.batches)
        self.batches.append([r["Data"] for r in Records])
        responses = [
            {"ErrorCode": "ServiceUnavailable"} if start + i in self.fail else {"RecordId": "x"}
            for i in range(len(Records))
        ]
        return {
            "FailedPutCount": sum("ErrorCode" in r for r in responses),
            "RequestResponses": responses,
        }


IMAGE = {
    "pk": {"S": "USER#1"},
    "sk": {"S": "PROVIDER"},
    "kind": {"S": "provider"},
    "lat": {"N": "52.52"},
    "rating_count": {"N": "3"},
    "categories": {"S": '["plumbing"]'},
    "online": {"BOOL": True},
    "tags": {"SS": ["b", "a"]},
    "rate": {"M": {"amount": {"N": "40"}}},
}


def test_a_change_becomes_one_flat_json_line() -> None:
    row = index.flatten(_record("1", "MODIFY", IMAGE), _DESER)
    assert row["kind"] == "provider"
    assert row["lat"] == 52.52 and row["rating_count"] == 3 and row["online"] is True
    assert row["categories"] == '["plumbing"]'
    assert json.loads(row["tags"]) == ["a", "b"]
    assert json.loads(row["rate"]) == {"amount": 40}
    assert row["change_type"] == "MODIFY"
    assert row["change_time"].startswith("2023-11-14T22:13:20")


def test_a_removal_exports_the_old_image_and_unknown_kinds_are_kept() -> None:
    image = {"pk": {"S": "X"}, "sk": {"S": "Y"}}
    row = index.flatten(_record("1", "REMOVE", image, old=True), _DESER)
    assert row == {
        "pk": "X",
        "sk": "Y",
        "kind": "unknown",
        "change_type": "REMOVE",
        "change_time": row["change_time"],
    }


def test_export_batches_and_reports_the_first_failure() -> None:
    records = [_record(str(i), "INSERT", IMAGE) for i in range(index.MAX_RECORDS + 3)]
    fh = FakeFirehose()
    assert index.export({"Records": records}, fh, "s", _DESER) == {"batchItemFailures": []}
    assert [len(b) for b in fh.batches] == [index.MAX_RECORDS, 3]
    assert all(line.endswith(b"\n") for b in fh.batches for line in b)

    failing = FakeFirehose(fail={7, 9})
    result = index.export({"Records": records[:20]}, failing, "s", _DESER)
    assert result == {"batchItemFailures": [{"itemIdentifier": "7"}]}


def test_plain_values() -> None:
    assert index.plain(Decimal("2")) == 2 and isinstance(index.plain(Decimal("2")), int)
    assert index.plain(b"\x00") == "AA=="
    assert index.plain(None) is None
