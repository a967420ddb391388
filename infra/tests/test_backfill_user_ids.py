"""The one-off backfill of ADR 0013 gives existing users their sub as stable id, once."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from infra.scripts.backfill_user_ids import backfill

pytestmark = pytest.mark.cdk


def test_existing_users_get_their_sub_as_stable_id_and_the_directory_learns_it() -> None:
    with mock_aws():
        idp = boto3.client("cognito-idp", "us-east-1")
        ddb = boto3.client("dynamodb", "us-east-1")
        ddb.create_table(
            TableName="dir",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        pool = idp.create_user_pool(
            PoolName="p",
            UsernameAttributes=["email"],
            Schema=[{"Name": "user_id", "AttributeDataType": "String", "Mutable": True}],
        )["UserPool"]["Id"]
        subs = {}
        for email in ("a@x.com", "b@x.com"):
            made = idp.admin_create_user(
                UserPoolId=pool,
                Username=email,
                UserAttributes=[{"Name": "email", "Value": email}],
                MessageAction="SUPPRESS",
            )["User"]
            subs[email] = next(a["Value"] for a in made["Attributes"] if a["Name"] == "sub")
        assert backfill(idp, ddb, pool, "dir", dry_run=True) == {"seen": 2, "set": 2, "skipped": 0}
        assert backfill(idp, ddb, pool, "dir") == {"seen": 2, "set": 2, "skipped": 0}
        for email, sub in subs.items():
            attrs = idp.admin_get_user(UserPoolId=pool, Username=email)["UserAttributes"]
            assert {"Name": "custom:user_id", "Value": sub} in attrs
            row = ddb.get_item(TableName="dir", Key={"pk": {"S": f"email#{email}"}})["Item"]
            assert row["user_id"]["S"] == sub
        assert backfill(idp, ddb, pool, "dir") == {"seen": 2, "set": 0, "skipped": 0}
