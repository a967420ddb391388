"""Provisioning the local stack's tables: created from the models, and an emulator left
running by an older version is refused with a message that says what to do."""

from __future__ import annotations

import pytest
from moto import mock_aws

from chalicelib.store.models import Entity, table_spec
from devstack import provision

pytestmark = pytest.mark.integration

REGION = "us-east-1"


def test_tables_are_created_from_the_models_with_every_index() -> None:
    with mock_aws():
        provision.tables(None, REGION)
        provision.tables(None, REGION)  # a second run changes nothing
        import boto3

        table = boto3.client("dynamodb", region_name=REGION).describe_table(
            TableName=Entity.Meta.table_name
        )["Table"]
        found = {ix["IndexName"] for ix in table["GlobalSecondaryIndexes"]}
        assert found == {ix["index_name"] for ix in table_spec(Entity)["global_secondary_indexes"]}
        assert [ix["IndexName"] for ix in table["LocalSecondaryIndexes"]] == ["lsi1"]


def test_a_table_from_an_older_version_is_refused_with_what_to_do() -> None:
    with mock_aws():
        import boto3

        spec = table_spec(Entity)
        older = [ix for ix in spec["global_secondary_indexes"] if ix["index_name"] != "gsi3"]
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=Entity.Meta.table_name,
            KeySchema=spec["key_schema"],
            AttributeDefinitions=[
                a
                for a in spec["attribute_definitions"]
                if a["AttributeName"] not in ("gsi3pk", "gsi3sk", "lsi1sk")  # before gsi3, lsi1
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": ix["index_name"],
                    "KeySchema": ix["key_schema"],
                    "Projection": ix["projection"],
                }
                for ix in older
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        with pytest.raises(SystemExit, match=r"lacks the indexes \['gsi3', 'lsi1'\].*again"):
            provision.tables(None, REGION)
