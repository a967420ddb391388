"""SNS mobile push: platform endpoints and messages in each platform's own format.

Platforms (what ``POST /devices`` accepts) map to the SNS platform applications whose
ARNs the stage sets in ``SUMMON_PUSH_APNS_ARN``, ``SUMMON_PUSH_APNS_SANDBOX_ARN`` and
``SUMMON_PUSH_FCM_ARN``. Messages are published with ``MessageStructure=json``:

* APNs / APNs sandbox: ``{"aps": {"alert": {"title", "body"}, "sound", "badge"?,
  "thread-id"?}, ...custom keys}``; the collapse key travels as the
  ``AWS.SNS.MOBILE.APNS.COLLAPSE_ID`` attribute (the ``apns-collapse-id`` header), with
  ``AWS.SNS.MOBILE.APNS.PUSH_TYPE=alert`` and priority 10.
* FCM (SNS's ``GCM`` key) in the HTTP v1 shape: ``{"fcmV1Message": {"message":
  {"notification": {"title", "body"}, "data": {str: str}, "android": {"collapse_key",
  "priority": "high", "notification": {"sound", "tag"}}}}}``.

When running locally (stage ``local``) every push is also logged on ``summon.push`` with
its text, so a developer sees what a phone would have shown; in the cloud only ids are
logged (push texts can hold personal data).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.adapters import aws_client

log = logging.getLogger("summon.push")

PLATFORMS = ("apns", "apns_sandbox", "fcm")
SNS_KEYS = {"apns": "APNS", "apns_sandbox": "APNS_SANDBOX", "fcm": "GCM"}
MAX_BODY_CHARS = 180
_GONE_CODES = {"EndpointDisabled", "NotFound", "NotFoundException"}
_EXISTING = re.compile(r"Endpoint (arn:[^ ]+) already exists")


class EndpointGone(Exception):
    """SNS says the endpoint is disabled (the app was uninstalled, the token expired) or
    deleted: the device should be forgotten."""


class PushUnavailable(Exception):
    """Push is not configured for this platform on this stage."""


@dataclass(frozen=True)
class Notification:
    """What a phone shows, plus the data the app reads when it is tapped."""

    title: str
    body: str
    type: str
    data: dict[str, str] = field(default_factory=dict)
    collapse_key: str | None = None
    badge: int | None = None
    sound: str = "default"


def _clip(text: str, limit: int = MAX_BODY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def apns_payload(n: Notification) -> dict[str, Any]:
    aps: dict[str, Any] = {
        "alert": {"title": _clip(n.title, 80), "body": _clip(n.body)},
        "sound": n.sound,
    }
    if n.badge is not None:
        aps["badge"] = n.badge
    if n.collapse_key:
        aps["thread-id"] = n.collapse_key
    return {"aps": aps, "type": n.type, **n.data}


def fcm_payload(n: Notification) -> dict[str, Any]:
    android: dict[str, Any] = {
        "priority": "high",
        "notification": {"sound": n.sound},
    }
    if n.collapse_key:
        android["collapse_key"] = n.collapse_key
        android["notification"]["tag"] = n.collapse_key
    if n.badge is not None:
        android["notification"]["notification_count"] = n.badge
    return {
        "fcmV1Message": {
            "message": {
                "notification": {"title": _clip(n.title, 80), "body": _clip(n.body)},
                "data": {"type": n.type, **{k: str(v) for k, v in n.data.items()}},
                "android": android,
            }
        }
    }


def message_for(platform: str, n: Notification) -> tuple[str, dict[str, dict[str, str]]]:
    """The SNS ``Message`` (MessageStructure=json) and ``MessageAttributes`` for one
    platform. Pure."""
    key = SNS_KEYS[platform]
    payload = fcm_payload(n) if platform == "fcm" else apns_payload(n)
    message = json.dumps(
        {"default": f"{_clip(n.title, 80)}: {_clip(n.body)}", key: json.dumps(payload)},
        ensure_ascii=False,
    )
    attributes: dict[str, dict[str, str]] = {}
    if platform != "fcm":
        attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"] = {"DataType": "String", "StringValue": "alert"}
        attributes["AWS.SNS.MOBILE.APNS.PRIORITY"] = {"DataType": "String", "StringValue": "10"}
        if n.collapse_key:
            attributes["AWS.SNS.MOBILE.APNS.COLLAPSE_ID"] = {
                "DataType": "String",
                "StringValue": n.collapse_key[:64],
            }
    return message, attributes


# --- I/O ------------------------------------------------------------------------------


def client() -> Any:
    return aws_client("sns")


def application_arn(platform: str) -> str:
    s = runtime.settings()
    arn = {
        "apns": s.push_apns_arn,
        "apns_sandbox": s.push_apns_sandbox_arn,
        "fcm": s.push_fcm_arn,
    }.get(platform, "")
    if not arn:
        raise PushUnavailable(f"Push for {platform} is not configured on this stage.")
    return arn


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def create_endpoint(platform: str, token: str) -> str:
    """The platform endpoint of ``token`` (created, or the existing one re-enabled with
    this token, as AWS's registration guidance says). 2-3 SNS calls."""
    sns = client()
    app_arn = application_arn(platform)
    try:
        arn = str(
            sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=token)["EndpointArn"]
        )
    except ClientError as exc:
        found = _EXISTING.search(str(exc.response.get("Error", {}).get("Message", "")))
        if _code(exc) != "InvalidParameter" or not found:
            raise
        arn = found.group(1)
    try:
        attrs = sns.get_endpoint_attributes(EndpointArn=arn).get("Attributes", {})
    except ClientError as exc:
        if _code(exc) not in _GONE_CODES:
            raise
        arn = str(
            sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=token)["EndpointArn"]
        )
        attrs = {"Token": token, "Enabled": "true"}
    if attrs.get("Token") != token or str(attrs.get("Enabled", "true")).lower() != "true":
        sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Token": token, "Enabled": "true"})
    return arn


def delete_endpoint(endpoint_arn: str) -> None:
    """Idempotent. 1 SNS call."""
    try:
        client().delete_endpoint(EndpointArn=endpoint_arn)
    except ClientError as exc:
        if _code(exc) not in _GONE_CODES:
            raise


def send(endpoint_arn: str, platform: str, n: Notification) -> str:
    """Publish one notification to one endpoint; the SNS message id. Raises
    :class:`EndpointGone` when SNS reports the endpoint disabled or deleted. 1 SNS call."""
    message, attributes = message_for(platform, n)
    if runtime.settings().stage == "local":
        log.info(
            "push %s to %s [%s] %s: %s",
            n.type,
            endpoint_arn.rsplit(":", 1)[-1],
            platform,
            n.title,
            n.body,
        )
    try:
        result = client().publish(
            TargetArn=endpoint_arn,
            Message=message,
            MessageStructure="json",
            MessageAttributes=attributes,
        )
    except ClientError as exc:
        if _code(exc) in _GONE_CODES:
            raise EndpointGone(f"{endpoint_arn}: {_code(exc)}") from exc
        raise
    log.debug("push %s sent to %s as %s", n.type, endpoint_arn, result.get("MessageId"))
    return str(result.get("MessageId", ""))
