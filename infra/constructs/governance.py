"""The account baseline a startup expects next to its app (``summon:governance``):

* **CloudTrail**: one multi-region trail (created by the primary), log file validation,
  SSE-KMS with the ``ops`` key, into a versioned, TLS-only bucket of its own;
* **GuardDuty**: a detector in each region (turn off with ``"guardDuty": false`` where an
  organization's delegated administrator already manages it: a second detector is refused);
* **a monthly cost budget** (primary; AWS Budgets is global): actual spend over 80 % and
  forecast over 100 % notify the alarm topic.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_guardduty as guardduty
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.names import Names
from infra.settings import GovernanceSettings


class Governance(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        settings: GovernanceSettings,
        primary: bool,
        key: kms.IKey,
        log_bucket: s3.IBucket,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id_)
        self.trail: cloudtrail.Trail | None = None
        self.detector: guardduty.CfnDetector | None = None
        self.budget: budgets.CfnBudget | None = None
        if settings.cloud_trail and primary:
            self.trail = self._trail(names, key, log_bucket)
        if settings.guard_duty:
            self.detector = guardduty.CfnDetector(
                self,
                "GuardDuty",
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
            )
        if settings.monthly_budget_usd and primary:
            self.budget = self._budget(names, settings.monthly_budget_usd, alarm_topic)

    def _trail(self, names: Names, key: kms.IKey, log_bucket: s3.IBucket) -> cloudtrail.Trail:
        stack = Stack.of(self)
        trail_name = f"{names.prefix}-trail"
        trail_arn = (
            f"arn:{stack.partition}:cloudtrail:{stack.region}:{stack.account}:trail/{trail_name}"
        )
        bucket = s3.Bucket(
            self,
            "TrailBucket",
            bucket_name=names.bucket("trail"),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="s3/trail/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="trail-to-glacier",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(90),
                        )
                    ],
                    expiration=Duration.days(730),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudTrailEncrypt",
                principals=[iam.ServicePrincipal("cloudtrail.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": (
                            f"arn:{stack.partition}:cloudtrail:*:{stack.account}:trail/*"
                        )
                    },
                },
            )
        )
        return cloudtrail.Trail(
            self,
            "Trail",
            trail_name=trail_name,
            bucket=bucket,
            encryption_key=key,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.ALL,
        )

    def _budget(self, names: Names, amount: int, topic: sns.ITopic) -> budgets.CfnBudget:
        stack = Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BudgetNotifications",
                principals=[iam.ServicePrincipal("budgets.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{stack.partition}:budgets::{stack.account}:*"
                    },
                },
            )
        )
        subscriber = budgets.CfnBudget.SubscriberProperty(
            subscription_type="SNS", address=topic.topic_arn
        )
        return budgets.CfnBudget(
            self,
            "MonthlyBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{names.prefix}-monthly",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=amount, unit="USD"),
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=[subscriber],
                )
                for kind, threshold in (("ACTUAL", 80), ("FORECASTED", 100))
            ],
        )
