"""CloudFormation custom resource ``Custom::SnsPlatformApplication``: creates, updates and
deletes one SNS platform application whose credentials are read here, from Secrets Manager,
at deploy time.

CloudFormation does not resolve dynamic references (``{{resolve:secretsmanager:...}}``)
inside custom resource properties, so the properties carry only the secret's *name* and the
handler reads the value itself (``secretsmanager:GetSecretValue``). The secret is a JSON
object whose keys are SNS's platform attribute names (``PlatformCredential``, ...).

Properties: ``Name``, ``Platform`` (``APNS`` | ``APNS_SANDBOX`` | ``GCM``), ``SecretId``,
``AttributeKeys`` (the keys of the secret to pass) and ``SecretVersion`` (any string; change
it to push a rotated secret to SNS). The physical id is the platform application's ARN.

Standard library and boto3 only (both in the Lambda runtime). Nothing secret is logged.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3


def attributes(secret_string: str, keys: list[str]) -> dict[str, str]:
    """The SNS attributes from the secret's JSON (every requested key must be there)."""
    data = json.loads(secret_string)
    missing = [k for k in keys if not data.get(k)]
    if missing:
        raise ValueError(f"the push secret lacks {missing}")
    return {k: str(data[k]) for k in keys}


def apply(event: dict[str, Any], sns: Any, secrets: Any) -> str:
    """Do what the request asks; returns the physical resource id (the platform app ARN)."""
    props = event["ResourceProperties"]
    request = event["RequestType"]
    if request == "Delete":
        arn = event.get("PhysicalResourceId", "")
        if arn.startswith("arn:"):
            try:
                sns.delete_platform_application(PlatformApplicationArn=arn)
            except sns.exceptions.NotFoundException:
                pass
        return str(arn)
    secret = secrets.get_secret_value(SecretId=props["SecretId"])["SecretString"]
    attrs = attributes(secret, list(props["AttributeKeys"]))
    old = event.get("OldResourceProperties") or {}
    same_app = old.get("Name") == props["Name"] and old.get("Platform") == props["Platform"]
    if request == "Update" and same_app:
        arn = event["PhysicalResourceId"]
        sns.set_platform_application_attributes(PlatformApplicationArn=arn, Attributes=attrs)
        return str(arn)
    # Create, or an update that replaces (a new name or platform: CloudFormation then
    # deletes the old physical id).
    created = sns.create_platform_application(
        Name=props["Name"], Platform=props["Platform"], Attributes=attrs
    )
    return str(created["PlatformApplicationArn"])


def respond(event: dict[str, Any], status: str, physical_id: str, reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:400] or "see the handler's log",
            "PhysicalResourceId": physical_id or event["LogicalResourceId"],
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": True,
            "Data": {"Arn": physical_id},
        }
    ).encode()
    req = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(req, timeout=30):
        pass


def handler(event: dict[str, Any], context: Any) -> None:
    physical_id = event.get("PhysicalResourceId", "")
    try:
        physical_id = apply(event, boto3.client("sns"), boto3.client("secretsmanager"))
    except Exception as exc:  # noqa: BLE001 (every failure goes to CloudFormation)
        print(f"{event['RequestType']} failed: {type(exc).__name__}")
        respond(event, "FAILED", physical_id, f"{type(exc).__name__}: {exc}"[:200])
        return
    respond(event, "SUCCESS", physical_id)
