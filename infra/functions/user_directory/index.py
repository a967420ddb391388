"""Cognito triggers that give every user one id across the two regions' user pools
(docs/adr/0013-cognito-disaster-recovery.md).

The id is the user attribute ``custom:user_id`` (in the ID token as ``custom:user_id``; app
clients may read but not write it). The directory is a DynamoDB global table owned by infra
(``pk`` = ``email#<lower-cased e-mail>``, ``user_id``), so both regions' pools resolve the
same e-mail to the same id even while the other region is down.

* ``PostConfirmation_*``: a new or federated user of this pool gets the id the directory
  has for their verified e-mail, or, for a new e-mail, this pool's ``sub`` (recorded with a
  conditional put, so two regions racing agree on the first).
* ``UserMigration_ForgotPassword``: a user the directory knows but this pool does not (the
  standby after a failover) is created with their id, a verified e-mail and
  ``RESET_REQUIRED``: "forgot password" brings them in. ``UserMigration_Authentication``
  cannot check a password the other pool holds, so it refuses (the client then offers the
  reset).

Standard library and boto3 only (both in the Lambda runtime).
"""

from __future__ import annotations

import os
from typing import Any

import boto3

USER_ID_ATTRIBUTE = "custom:user_id"


def directory_key(email: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"email#{email.strip().lower()}"}}


def resolve(ddb: Any, table: str, email: str, candidate: str) -> str:
    """The directory's id for ``email``; records ``candidate`` when there is none."""
    key = directory_key(email)
    try:
        ddb.put_item(
            TableName=table,
            Item={**key, "user_id": {"S": candidate}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        return candidate
    except ddb.exceptions.ConditionalCheckFailedException:
        item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        return str(item["user_id"]["S"])


def lookup(ddb: Any, table: str, email: str) -> str | None:
    item = ddb.get_item(TableName=table, Key=directory_key(email), ConsistentRead=True)
    found = item.get("Item")
    return str(found["user_id"]["S"]) if found else None


def handle(event: dict[str, Any], ddb: Any, idp: Any, table: str) -> dict[str, Any]:
    source = event["triggerSource"]
    if source.startswith("PostConfirmation_"):
        attrs = event["request"]["userAttributes"]
        if attrs.get(USER_ID_ATTRIBUTE):
            return event
        user_id = resolve(ddb, table, attrs["email"], attrs["sub"])
        idp.admin_update_user_attributes(
            UserPoolId=event["userPoolId"],
            Username=event["userName"],
            UserAttributes=[{"Name": USER_ID_ATTRIBUTE, "Value": user_id}],
        )
        return event
    if source == "UserMigration_ForgotPassword":
        email = event["userName"]
        known = lookup(ddb, table, email)
        if known is None:
            raise ValueError("unknown user")
        user_id = known
        event["response"] = {
            "userAttributes": {
                "email": email,
                "email_verified": "true",
                USER_ID_ATTRIBUTE: user_id,
            },
            "finalUserStatus": "RESET_REQUIRED",
            "messageAction": "SUPPRESS",
        }
        return event
    if source == "UserMigration_Authentication":
        raise ValueError("reset your password to use this region")
    return event


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(
        event,
        boto3.client("dynamodb"),
        boto3.client("cognito-idp"),
        os.environ["DIRECTORY_TABLE"],
    )
