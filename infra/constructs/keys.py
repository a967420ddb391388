"""Customer-managed KMS keys, one per purpose, each with a deterministic alias so the
other region can name it (a DynamoDB replica and an S3 replication destination are given
the standby region's key by alias ARN)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.names import Names


class Keys(Construct):
    """``data`` (DynamoDB, backups), ``storage`` (S3, Firehose, Athena results) and
    ``ops`` (SQS, SNS, CloudWatch Logs, Lambda environment variables)."""

    def __init__(self, scope: Construct, id_: str, *, names: Names) -> None:
        super().__init__(scope, id_)
        self.data = self._key("Data", names.key_alias("data"), "DynamoDB tables and backups")
        self.storage = self._key("Storage", names.key_alias("storage"), "S3 buckets, analytics")
        self.ops = self._key("Ops", names.key_alias("ops"), "queues, topics, logs, Lambda env")
        region = Stack.of(self).region
        # CloudWatch Logs encrypts log groups with the ops key ...
        self.ops.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Stack.of(self).partition}:logs:{region}:"
                            f"{Stack.of(self).account}:log-group:*"
                        )
                    }
                },
            )
        )
        # ... and the services that publish to the encrypted queues and topics need it
        # (S3 event notifications -> SQS, CloudWatch alarms -> SNS, SNS -> SQS).
        self.ops.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AwsServicePublishers",
                principals=[
                    iam.ServicePrincipal("s3.amazonaws.com"),
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("sns.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                # Who may send to a queue or topic is limited by its own resource policy;
                # the key, to these services acting for this account's resources.
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )

    def _key(self, id_: str, alias: str, purpose: str) -> kms.Key:
        return kms.Key(
            self,
            id_,
            alias=alias,
            description=f"Summon: {purpose}",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
