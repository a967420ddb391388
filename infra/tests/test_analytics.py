"""Analytics: stream export partitioned by entity and date, Glue tables, Athena, QuickSight."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra import schema
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk

PREFIX = "data/entity=!{partitionKeyFromQuery:entity}/dt=!{timestamp:yyyy-MM-dd}/"
QUERY = f"{{entity:.{schema.DISCRIMINATOR}}}"


def test_a_glue_table_per_entity_with_partition_projection(full: Synth) -> None:
    stack = full.primary
    bucket = stack.resolve(stack.storage.analytics.bucket_name)
    entities = schema.entity_columns()
    assert {"user", "provider", "settings", "catalog"} <= set(entities)
    full.primary_t.has_resource_properties(
        "AWS::Glue::Database",
        {"DatabaseInput": {"Name": "summon_prod_analytics", "Description": Match.any_value()}},
    )
    for kind, columns in entities.items():
        full.primary_t.has_resource_properties(
            "AWS::Glue::Table",
            {
                "DatabaseName": "summon_prod_analytics",
                "TableInput": Match.object_like(
                    {
                        "Name": kind,
                        "PartitionKeys": [{"Name": "dt", "Type": "string"}],
                        "Parameters": Match.object_like(
                            {
                                "projection.enabled": "true",
                                "projection.dt.type": "date",
                                "storage.location.template": {
                                    "Fn::Join": [
                                        "",
                                        ["s3://", bucket, f"/data/entity={kind}/dt=${{dt}}/"],
                                    ]
                                },
                            }
                        ),
                        "StorageDescriptor": Match.object_like(
                            {
                                "Columns": Match.array_with(
                                    [{"Name": c.name, "Type": c.type} for c in columns]
                                    + [{"Name": "change_type", "Type": "string"}]
                                ),
                                "SerdeInfo": Match.object_like(
                                    {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}
                                ),
                            }
                        ),
                    }
                ),
            },
        )
    full.primary_t.has_resource_properties(
        "AWS::Glue::Table",
        {
            "TableInput": Match.object_like(
                {
                    "Name": "changes",
                    "PartitionKeys": [
                        {"Name": "entity", "Type": "string"},
                        {"Name": "dt", "Type": "string"},
                    ],
                }
            )
        },
    )


def test_firehose_partitions_by_entity_and_date(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamEncryptionConfigurationInput": {
                "KeyType": "CUSTOMER_MANAGED_CMK",
                "KeyARN": stack.resolve(stack.keys.storage.key_arn),
            },
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "BucketARN": stack.resolve(stack.storage.analytics.bucket_arn),
                    "Prefix": PREFIX,
                    "DynamicPartitioningConfiguration": Match.object_like({"Enabled": True}),
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            Match.object_like(
                                {
                                    "Type": "MetadataExtraction",
                                    "Parameters": Match.array_with(
                                        [
                                            {
                                                "ParameterName": "MetadataExtractionQuery",
                                                "ParameterValue": QUERY,
                                            }
                                        ]
                                    ),
                                }
                            )
                        ],
                    },
                }
            ),
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": stack.resolve(stack.data.main.stream_arn),
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )


def test_athena_workgroup_and_quicksight(full: Synth, minimal: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": "summon-prod-analytics",
            "WorkGroupConfiguration": Match.object_like(
                {
                    "EnforceWorkGroupConfiguration": True,
                    "ResultConfiguration": Match.object_like(
                        {
                            "EncryptionConfiguration": Match.object_like(
                                {"EncryptionOption": "SSE_KMS"}
                            )
                        }
                    ),
                }
            ),
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::QuickSight::DataSource",
        {
            "Type": "ATHENA",
            "DataSourceParameters": {"AthenaParameters": {"WorkGroup": "summon-prod-analytics"}},
        },
    )
    minimal.primary_t.resource_count_is("AWS::QuickSight::DataSource", 0)


def test_quicksight_is_primary_only_and_its_role_may_read_the_data(full: Synth) -> None:
    """QuickSight is account-wide (one data source id): created in the primary only, and
    its service role gets the workgroup, the bucket and the storage key."""
    full.standby_t.resource_count_is("AWS::QuickSight::DataSource", 0)
    stack = full.primary
    policies = [
        r["Properties"]
        for r in full.primary_t.to_json()["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and r["Properties"].get("Roles") == ["aws-quicksight-service-role-v0"]
    ]
    assert len(policies) == 1
    by_sid = {s["Sid"]: s for s in policies[0]["PolicyDocument"]["Statement"]}
    assert "athena:StartQueryExecution" in by_sid["Workgroup"]["Action"]
    assert by_sid["AnalyticsData"]["Action"] == "s3:GetObject"
    assert "data/*" in str(by_sid["AnalyticsData"]["Resource"])
    assert "s3:PutObject" in by_sid["AthenaResults"]["Action"]
    assert by_sid["StorageKeyThroughS3"]["Resource"] == stack.resolve(stack.keys.storage.key_arn)
    assert "kms:Decrypt" in by_sid["StorageKeyThroughS3"]["Action"]


def test_standby_catalogs_its_replica_but_exports_nothing(full: Synth) -> None:
    full.standby_t.resource_count_is("AWS::KinesisFirehose::DeliveryStream", 0)
    full.standby_t.resource_count_is("AWS::Lambda::EventSourceMapping", 0)
    full.standby_t.has_resource_properties(
        "AWS::Glue::Table", {"TableInput": Match.object_like({"Name": "changes"})}
    )
