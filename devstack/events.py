"""Builders for the event documents AWS hands to Lambda, as the local stack emulates them.

Pure functions, no I/O: the WebSocket gateway (:mod:`devstack.ws_gateway`) and the event
pump (:mod:`devstack.pump`) build every event they deliver here, and the unit tests compare
the output with the hand-built fixtures under ``tests/events/``.

Shapes follow what API Gateway, SQS, SNS, S3 and EventBridge really send (see the AWS
Lambda developer guide, "Using Lambda with ..."), not Chalice's test generators, which leave
fields out:

* API Gateway WebSocket ``$connect`` / message / ``$disconnect`` proxy events
  (``requestContext`` with ``routeKey``, ``eventType``, ``connectionId``, ``domainName``,
  ``stage``, ``apiId``, ``requestId``, ``connectedAt`` ...).
* SQS records (``messageId``, ``receiptHandle``, ``body``, ``attributes``,
  ``messageAttributes`` in Lambda's camelCase form, ``md5OfBody``, ``eventSource``
  ``aws:sqs``, ``eventSourceARN``, ``awsRegion``).
* SNS records, translated from the JSON envelope SNS writes to a subscribed SQS queue
  (note Lambda spells ``SigningCertUrl``/``UnsubscribeUrl`` where the envelope spells
  ``...URL``).
* S3 notification records (S3 writes the very same ``{"Records": [...]}`` document to SQS
  that it passes to Lambda, so those are passed through, minus ``s3:TestEvent``).
* EventBridge (CloudWatch Events) "Scheduled Event" documents.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

_ID_ALPHABET = string.ascii_letters + string.digits

#: Route selection expression Chalice configures on every WebSocket API it deploys.
ROUTE_SELECTION_EXPRESSION = "$request.body.action"


def _aws_id(length: int = 15) -> str:
    """An id that looks like API Gateway's (base64 of random bytes): ``Y6kOicH1IAMCEMQ=``.

    Built from letters and digits only, so it never needs more URL-escaping than ``=``.
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length)) + "="


def new_connection_id() -> str:
    """A fresh, unique WebSocket connection id in API Gateway's style."""
    return _aws_id()


def new_request_id() -> str:
    """A fresh ``extendedRequestId``/``messageId``-style id."""
    return _aws_id()


def now_ms() -> int:
    """Milliseconds since the epoch, as in ``connectedAt`` / ``requestTimeEpoch``."""
    return int(datetime.now(UTC).timestamp() * 1000)


def _request_time(epoch_ms: int) -> str:
    """API Gateway's ``requestTime`` format: ``09/Feb/2024:12:00:00 +0000``."""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def iso8601(epoch_ms: int) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as SNS/S3/Management API timestamps."""
    dt = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class WsConnection:
    """What API Gateway knows about one WebSocket connection, repeated in every event."""

    connection_id: str
    domain_name: str
    stage: str
    api_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str | None = None


def ws_request_context(
    conn: WsConnection,
    *,
    route_key: str,
    event_type: str,
    request_time_ms: int | None = None,
    message_id: str | None = None,
    disconnect_status_code: int | None = None,
    disconnect_reason: str | None = None,
) -> dict[str, Any]:
    """The ``requestContext`` API Gateway puts in every WebSocket proxy event."""
    epoch = now_ms() if request_time_ms is None else request_time_ms
    request_id = new_request_id()
    identity: dict[str, Any] = {"sourceIp": conn.source_ip}
    if event_type != "MESSAGE":
        identity["userAgent"] = conn.user_agent
    ctx: dict[str, Any] = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(epoch),
        "messageDirection": "IN",
        "stage": conn.stage,
        "connectedAt": conn.connected_at_ms,
        "requestTimeEpoch": epoch,
        "identity": identity,
        "requestId": request_id,
        "domainName": conn.domain_name,
        "connectionId": conn.connection_id,
        "apiId": conn.api_id,
    }
    if message_id is not None:
        ctx["messageId"] = message_id
    if disconnect_status_code is not None:
        ctx["disconnectStatusCode"] = disconnect_status_code
        ctx["disconnectReason"] = disconnect_reason or ""
    return ctx


def _header_maps(
    headers: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value  # API Gateway keeps the last value in ``headers``
        multi.setdefault(name, []).append(value)
    return single, multi


def ws_connect_event(
    conn: WsConnection,
    *,
    headers: Iterable[tuple[str, str]],
    query_string: str = "",
) -> dict[str, Any]:
    """A ``$connect`` event: the upgrade request's headers and query string.

    Like API Gateway, ``queryStringParameters`` keeps the last value of a repeated key,
    ``multiValueQueryStringParameters`` all of them; both are left out when the URL has
    no query string.
    """
    forwarded = [
        ("X-Forwarded-For", conn.source_ip),
        ("X-Forwarded-Proto", "http"),
    ]
    single, multi = _header_maps([*headers, *forwarded])
    event: dict[str, Any] = {
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": ws_request_context(conn, route_key="$connect", event_type="CONNECT"),
        "isBase64Encoded": False,
    }
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if pairs:
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for key, value in pairs:
            query[key] = value
            multi_query.setdefault(key, []).append(value)
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_query
    return event


def ws_message_event(conn: WsConnection, *, route_key: str, body: str | bytes) -> dict[str, Any]:
    """A message event for ``route_key``. Text frames pass as is; binary frames arrive
    base64-encoded (Chalice deploys its integrations with ``CONVERT_TO_TEXT``)."""
    if isinstance(body, bytes):
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    else:
        text, is_b64 = body, False
    return {
        "requestContext": ws_request_context(
            conn, route_key=route_key, event_type="MESSAGE", message_id=new_request_id()
        ),
        "body": text,
        "isBase64Encoded": is_b64,
    }


def ws_disconnect_event(conn: WsConnection, *, status_code: int, reason: str) -> dict[str, Any]:
    """A ``$disconnect`` event, with API Gateway's ``disconnectStatusCode``/``Reason``."""
    headers = [
        ("Host", conn.domain_name),
        ("x-api-key", ""),
        ("X-Forwarded-For", ""),
        ("x-restapi", ""),
    ]
    single, multi = _header_maps(headers)
    return {
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": ws_request_context(
            conn,
            route_key="$disconnect",
            event_type="DISCONNECT",
            disconnect_status_code=status_code,
            disconnect_reason=reason,
        ),
        "isBase64Encoded": False,
    }


def select_route(body: str | bytes, routes: Iterable[str]) -> str | None:
    """Evaluate ``$request.body.action`` like API Gateway.

    A JSON object body whose ``action`` names a registered route goes to that route;
    everything else (no ``action``, unknown action, not JSON, binary) goes to
    ``$default``. ``None`` when neither exists: API Gateway then answers the client
    with a ``Forbidden`` error frame.
    """
    available = set(routes)
    if isinstance(body, str):
        try:
            doc = json.loads(body)
        except (ValueError, RecursionError):  # API Gateway too routes these to $default
            doc = None
        if isinstance(doc, dict):
            action = doc.get("action")
            if isinstance(action, str) and action in available and not action.startswith("$"):
                return action
    return "$default" if "$default" in available else None


def ws_error_frame(message: str, *, connection_id: str, request_id: str) -> str:
    """The frame API Gateway sends the client when a route fails or doesn't exist."""
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


# --------------------------------------------------------------------------------------
# SQS / SNS / S3 / EventBridge


def _sqs_message_attributes(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """SQS API form (``StringValue``, ``DataType``) → Lambda form (``stringValue``...)."""
    out: dict[str, Any] = {}
    for name, value in attrs.items():
        item: dict[str, Any] = {
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [
                base64.b64encode(v).decode("ascii") for v in value.get("BinaryListValues", [])
            ],
            "dataType": value.get("DataType", "String"),
        }
        if "StringValue" in value:
            item["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        out[name] = item
    return out


def sqs_record(message: Mapping[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One Lambda SQS record from one ``ReceiveMessage`` message (received with
    ``AttributeNames=["All"]`` and ``MessageAttributeNames=["All"]``)."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": _sqs_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sns_record_from_envelope(
    envelope: Mapping[str, Any], *, subscription_arn: str
) -> dict[str, Any]:
    """The Lambda SNS record for one notification, from the JSON envelope SNS delivers to
    an SQS subscription without raw message delivery."""
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope.get("Type", "Notification"),
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject"),
            "Message": envelope["Message"],
            "Timestamp": envelope["Timestamp"],
            "SignatureVersion": envelope.get("SignatureVersion", "1"),
            "Signature": envelope.get("Signature", "EXAMPLE"),
            "SigningCertUrl": envelope.get("SigningCertURL", ""),
            "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
            "MessageAttributes": {
                name: {"Type": attr.get("Type", "String"), "Value": attr.get("Value")}
                for name, attr in envelope.get("MessageAttributes", {}).items()
            },
        },
    }


def s3_records_from_body(body: str) -> list[dict[str, Any]]:
    """The records of an S3 notification message as S3 writes it to SQS (the same
    document S3 would pass to Lambda). The ``s3:TestEvent`` S3 sends when a
    configuration is saved yields no records."""
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("Event") == "s3:TestEvent":
        return []
    records = doc.get("Records", [])
    return [r for r in records if isinstance(r, dict)]


def scheduled_event(
    *, rule_arn: str, region: str, account: str, when: datetime | None = None
) -> dict[str, Any]:
    """The EventBridge document a ``@app.schedule`` rule passes to its function."""
    when = when or datetime.now(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
