"""The local stack's event builders produce AWS's shapes (compared with tests/events/)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from chalice.app import SNSEvent, SQSEvent, WebsocketEvent

from devstack import events

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parent.parent / "events"

CONN = events.WsConnection(
    connection_id="SdTz5cJ5oAMCKnQ=",
    domain_name="127.0.0.1:8001",
    stage="local",
    api_id="local",
    connected_at_ms=1707480000000,
    source_ip="127.0.0.1",
    user_agent="pytest",
)


def fixture(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return doc


def key_paths(doc: Any, prefix: str = "", skip: tuple[str, ...] = ()) -> set[str]:
    """Every key path in a document; the contents of ``skip`` maps are not descended."""
    paths: set[str] = set()
    if isinstance(doc, dict):
        for key, value in doc.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            if key not in skip:
                paths |= key_paths(value, path, skip)
    elif isinstance(doc, list):
        for item in doc:
            paths |= key_paths(item, f"{prefix}[]", skip)
    return paths


HEADER_MAPS = (
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
)


def test_connect_event_has_the_fixture_keys() -> None:
    built = events.ws_connect_event(
        CONN,
        headers=[("Host", "127.0.0.1:8001"), ("Sec-WebSocket-Version", "13")],
        query_string="token=abc.def.ghi",
    )
    assert key_paths(built, skip=HEADER_MAPS) == key_paths(
        fixture("ws_connect.json"), skip=HEADER_MAPS
    )
    assert built["queryStringParameters"] == {"token": "abc.def.ghi"}
    assert built["multiValueQueryStringParameters"] == {"token": ["abc.def.ghi"]}
    assert built["headers"]["X-Forwarded-For"] == "127.0.0.1"
    ctx = built["requestContext"]
    assert (ctx["routeKey"], ctx["eventType"], ctx["stage"]) == ("$connect", "CONNECT", "local")
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", ctx["requestTime"])


def test_connect_event_without_query_string_leaves_the_maps_out() -> None:
    built = events.ws_connect_event(CONN, headers=[], query_string="")
    assert "queryStringParameters" not in built


def test_repeated_query_keys_keep_the_last_value_like_api_gateway() -> None:
    built = events.ws_connect_event(CONN, headers=[], query_string="a=1&a=2")
    assert built["queryStringParameters"] == {"a": "2"}
    assert built["multiValueQueryStringParameters"] == {"a": ["1", "2"]}


def test_message_event_has_the_fixture_keys_and_parses_in_chalice() -> None:
    built = events.ws_message_event(CONN, route_key="$default", body='{"action": "ping"}')
    assert key_paths(built) == key_paths(fixture("ws_message.json"))
    parsed = WebsocketEvent(built, None)
    assert parsed.connection_id == CONN.connection_id
    assert parsed.json_body == {"action": "ping"}


def test_binary_message_is_base64() -> None:
    built = events.ws_message_event(CONN, route_key="$default", body=b"\x00\xff")
    assert built["isBase64Encoded"] is True
    assert base64.b64decode(built["body"]) == b"\x00\xff"


def test_disconnect_event_has_the_fixture_keys() -> None:
    built = events.ws_disconnect_event(CONN, status_code=1001, reason="Going Away")
    assert key_paths(built, skip=HEADER_MAPS) == key_paths(
        fixture("ws_disconnect.json"), skip=HEADER_MAPS
    )
    assert built["requestContext"]["disconnectStatusCode"] == 1001


def test_connection_ids_look_like_api_gateways() -> None:
    ids = {events.new_connection_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9]{15}=", i) for i in ids)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"action": "chat.send"}', "chat.send"),
        ('{"action": "unknown"}', "$default"),
        ('{"action": "$connect"}', "$default"),
        ('{"no": "action"}', "$default"),
        ("not json", "$default"),
        (b"\x00", "$default"),
        ('["action"]', "$default"),
    ],
)
def test_route_selection_on_action(body: str | bytes, expected: str) -> None:
    routes = ["$connect", "$default", "chat.send"]
    assert events.select_route(body, routes) == expected


def test_route_selection_without_default_is_none() -> None:
    assert events.select_route('{"action": "x"}', ["$connect"]) is None


def test_sqs_record_matches_lambda_shape() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "MD5OfBody": "abc",
        "MD5OfMessageAttributes": "def",
        "Body": '{"media_id": "x"}',
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1707480000000",
            "SenderId": "AIDA",
            "ApproximateFirstReceiveTimestamp": "1707480000012",
        },
        "MessageAttributes": {"kind": {"StringValue": "media", "DataType": "String"}},
    }
    record = events.sqs_record(message, queue_arn="arn:aws:sqs:us-east-1:1:q", region="us-east-1")
    assert key_paths(record) == key_paths(fixture("sqs_message.json")["Records"][0])
    assert record["messageAttributes"]["kind"]["stringValue"] == "media"
    (parsed,) = list(SQSEvent({"Records": [record]}, None))
    assert (parsed.body, parsed.receipt_handle) == ('{"media_id": "x"}', "rh-1")


def test_sns_record_from_the_sqs_envelope() -> None:
    envelope = {
        "Type": "Notification",
        "MessageId": "id-1",
        "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Subject": "Maintenance",
        "Message": "hello",
        "Timestamp": "2024-02-09T12:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "sig",
        "SigningCertURL": "https://cert",
        "UnsubscribeURL": "https://unsub",
        "MessageAttributes": {"audience": {"Type": "String", "Value": "everyone"}},
    }
    record = events.sns_record_from_envelope(envelope, subscription_arn="arn:sub")
    assert key_paths(record) == key_paths(fixture("sns_notification.json")["Records"][0])
    parsed = SNSEvent({"Records": [record]}, None)
    assert (parsed.message, parsed.subject) == ("hello", "Maintenance")
    assert parsed.message_attributes == {"audience": {"Type": "String", "Value": "everyone"}}


def test_sns_record_without_subject_has_a_null_subject() -> None:
    envelope = {"MessageId": "i", "TopicArn": "t", "Message": "m", "Timestamp": "now"}
    assert events.sns_record_from_envelope(envelope, subscription_arn="s")["Sns"]["Subject"] is None


def test_s3_test_event_yields_no_records() -> None:
    assert events.s3_records_from_body('{"Service": "Amazon S3", "Event": "s3:TestEvent"}') == []
    assert events.s3_records_from_body('{"Records": [{"eventName": "ObjectCreated:Put"}]}') == [
        {"eventName": "ObjectCreated:Put"}
    ]


def test_scheduled_event_parses_in_chalice() -> None:
    from chalice.app import CloudWatchEvent

    event = events.scheduled_event(rule_arn="arn:rule", region="us-east-1", account="123")
    parsed = CloudWatchEvent(event, None)
    assert parsed.detail_type == "Scheduled Event"
    assert parsed.source == "aws.events"
    assert parsed.resources == ["arn:rule"]
