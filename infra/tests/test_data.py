"""DynamoDB: global tables from the app's models, PITR, KMS, the standby replica."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from pynamodb.models import Model

from chalicelib.store import models
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def _key_schema(model: type[Model]) -> list[dict[str, str]]:
    spec = models.table_spec(model)
    return [
        {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in spec["key_schema"]
    ]


def test_main_table_is_derived_from_the_models(full: Synth) -> None:
    spec = models.table_spec(models.Entity)
    full.primary_t.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": "summon-prod-main",
            "KeySchema": Match.array_equals(_key_schema(models.Entity)),
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    Match.object_like(
                        {
                            "IndexName": gsi["index_name"],
                            "KeySchema": gsi["key_schema"],
                            "Projection": gsi["projection"],
                        }
                    )
                    for gsi in spec["global_secondary_indexes"]
                ]
            ),
            "LocalSecondaryIndexes": [
                {
                    "IndexName": lsi["index_name"],
                    "KeySchema": sorted(lsi["key_schema"], key=lambda k: k["KeyType"]),
                    "Projection": lsi["projection"],
                }
                for lsi in spec["local_secondary_indexes"]
            ],
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "BillingMode": "PAY_PER_REQUEST",
        },
    )


def test_idempotency_table_has_powertools_schema(full: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TableName": "summon-prod-idempotency",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    )


def test_pitr_kms_and_standby_replica(full: Synth) -> None:
    stack = full.primary
    key_arn = stack.resolve(stack.keys.data.key_arn)
    standby_alias = Match.object_like(
        {
            "Fn::Join": [
                "",
                Match.array_with(
                    [Match.string_like_regexp(":kms:us-west-2:.*:alias/summon-prod-data")]
                ),
            ]
        }
    )
    for name in ("summon-prod-main", "summon-prod-idempotency"):
        full.primary_t.has_resource_properties(
            "AWS::DynamoDB::GlobalTable",
            {
                "TableName": name,
                "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                "Replicas": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Region": "us-west-2",
                                "PointInTimeRecoverySpecification": {
                                    "PointInTimeRecoveryEnabled": True,
                                    "RecoveryPeriodInDays": 35,
                                },
                                "SSESpecification": {"KMSMasterKeyId": standby_alias},
                            }
                        ),
                        Match.object_like(
                            {
                                "Region": "us-east-1",
                                "PointInTimeRecoverySpecification": {
                                    "PointInTimeRecoveryEnabled": True,
                                    "RecoveryPeriodInDays": 35,
                                },
                                "SSESpecification": {"KMSMasterKeyId": key_arn},
                                "DeletionProtectionEnabled": True,
                            }
                        ),
                    ]
                ),
            },
        )


def test_standby_owns_no_table_but_the_keys_its_replica_uses(full: Synth) -> None:
    full.standby_t.resource_count_is("AWS::DynamoDB::GlobalTable", 0)
    full.standby_t.has_resource_properties(
        "AWS::KMS::Alias", {"AliasName": "alias/summon-prod-data"}
    )
    full.standby_t.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
