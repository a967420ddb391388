"""The Cognito directory trigger: one user id across both regions' pools (ADR 0013)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.functions.user_directory import index

pytestmark = pytest.mark.cdk


class Conditional(Exception):
    pass


class FakeDdb:
    class exceptions:
        ConditionalCheckFailedException = Conditional

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put_item(self, TableName: str, Item: dict[str, Any], ConditionExpression: str) -> None:
        pk = Item["pk"]["S"]
        if pk in self.items:
            raise Conditional
        self.items[pk] = Item

    def get_item(self, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get(Key["pk"]["S"])
        return {"Item": item} if item else {}


class FakeIdp:
    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []

    def admin_update_user_attributes(self, **kw: Any) -> None:
        self.updates.append(kw)


def _confirm(sub: str, email: str) -> dict[str, Any]:
    return {
        "triggerSource": "PostConfirmation_ConfirmSignUp",
        "userPoolId": "us-west-2_pool",
        "userName": sub,
        "request": {"userAttributes": {"sub": sub, "email": email}},
        "response": {},
    }


def test_a_new_user_gets_their_sub_and_the_other_pool_reuses_it() -> None:
    ddb, idp = FakeDdb(), FakeIdp()
    index.handle(_confirm("sub-primary", "Ana@Example.com"), ddb, idp, "dir")
    index.handle(_confirm("sub-standby", "ana@example.com"), ddb, idp, "dir")
    ids = [u["UserAttributes"][0]["Value"] for u in idp.updates]
    assert ids == ["sub-primary", "sub-primary"]


def test_forgot_password_brings_a_known_user_into_the_standby_pool() -> None:
    ddb = FakeDdb()
    index.handle(_confirm("sub-primary", "ana@example.com"), ddb, FakeIdp(), "dir")
    event = {
        "triggerSource": "UserMigration_ForgotPassword",
        "userName": "ana@example.com",
        "request": {},
        "response": {},
    }
    out = index.handle(event, ddb, FakeIdp(), "dir")
    assert out["response"]["userAttributes"]["custom:user_id"] == "sub-primary"
    assert out["response"]["finalUserStatus"] == "RESET_REQUIRED"
    with pytest.raises(ValueError):
        index.handle({**event, "userName": "nobody@example.com"}, ddb, FakeIdp(), "dir")
    with pytest.raises(ValueError):
        index.handle(
            {**event, "triggerSource": "UserMigration_Authentication"}, ddb, FakeIdp(), "dir"
        )
