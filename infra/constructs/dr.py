"""Disaster recovery: operator-driven failover with explicit region states, and AWS Backup.

Failover (docs/adr/0013, infra/README.md's runbook): nothing fails over on its own. Each
region's stack writes its half of every failover record set in the shared hosted zone
(``PRIMARY`` from the primary region, ``SECONDARY`` from the standby), aliased to that
region's API Gateway custom domain. The ``PRIMARY`` records are tied to one Route 53
health check of type ``CLOUDWATCH_METRIC`` on the alarm :data:`FENCED_ALARM` that lives in
the **standby** region: the standby's stack publishes the primary's declared state every
minute (:class:`RegionStateBeacon`, an EventBridge Scheduler call of
``cloudwatch:PutMetricData``; ``1`` when the primary is not active). Failing over is one
deployment of the standby's stack, in the region that is up, with
``summon:regionStates={"primary":"fenced","standby":"active"}``: the alarm fires, Route 53
answers with the standby, and the standby's schedules and media pipeline start. Nothing
probes the app or Cognito: a Cognito-only fault does not move users to a pool where their
tokens are invalid, and the primary's return does not move them back by itself.

Backup: a KMS-encrypted vault per region. The *active* region backs up the tables daily
(35 days, copied to the other region's vault) and monthly (a year, cold storage after 30
days); the parked region's replica is the same data (and has PITR), so it is not backed up
again. Each region backs up its own web tier's EBS volumes and RDS instances selected by
tag (``summon:backup=true`` unless configured).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.compliance import acknowledge_nag
from infra.names import Names
from infra.settings import DomainSettings, RegionState, Role

REGION_STATE_NAMESPACE = "Summon/RegionState"
FENCED_METRIC = "PrimaryNotActive"


def fenced_alarm_name(names: Names) -> str:
    """The alarm (in the standby region) whose data decides whether the primary serves."""
    return f"{names.prefix}-primary-not-active"


@dataclass(frozen=True)
class FailoverTarget:
    label: str  # the host label: api, ws, www
    alias_dns_name: str
    alias_hosted_zone_id: str


class FailoverRecords(Construct):
    """This region's half of the failover record sets in ``zone``: one alias ``A`` record per
    target (:attr:`records`; ``PRIMARY`` or ``SECONDARY`` by ``role``). The primary's
    records carry :attr:`health_check`, the ``CLOUDWATCH_METRIC`` check on the standby
    region's :func:`fenced_alarm_name` alarm (``None`` in the standby: the secondary answers
    whenever the primary is not healthy)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        role: Role,
        standby_region: str,
        domain: DomainSettings,
        zone: route53.IHostedZone,
        targets: Sequence[FailoverTarget],
    ) -> None:
        super().__init__(scope, id_)
        self.health_check: route53.CfnHealthCheck | None = None
        if role is Role.PRIMARY:
            self.health_check = route53.CfnHealthCheck(
                self,
                "PrimaryDeclaredActive",
                health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                    type="CLOUDWATCH_METRIC",
                    alarm_identifier=route53.CfnHealthCheck.AlarmIdentifierProperty(
                        name=fenced_alarm_name(names), region=standby_region
                    ),
                    # If the beacon stops (the standby region is down), keep the last state.
                    insufficient_data_health_status="LastKnownStatus",
                ),
                health_check_tags=[
                    route53.CfnHealthCheck.HealthCheckTagProperty(
                        key="Name", value=f"{names.prefix}-primary-declared-active"
                    )
                ],
            )
        failover = "PRIMARY" if role is Role.PRIMARY else "SECONDARY"
        self.records = [
            route53.CfnRecordSet(
                self,
                f"{t.label.title()}Failover",
                hosted_zone_id=zone.hosted_zone_id,
                name=f"{domain.host(t.label)}.",
                type="A",
                set_identifier=f"{t.label}-{role.value}",
                failover=failover,
                health_check_id=(
                    self.health_check.attr_health_check_id if self.health_check else None
                ),
                alias_target=route53.CfnRecordSet.AliasTargetProperty(
                    dns_name=t.alias_dns_name,
                    hosted_zone_id=t.alias_hosted_zone_id,
                    # Operator-driven: the target's own health does not move traffic.
                    evaluate_target_health=False,
                ),
            )
            for t in targets
        ]


class RegionStateBeacon(Construct):
    """In the standby region: publishes, every minute, ``1`` when the primary is declared
    not active (``0`` otherwise) to ``Summon/RegionState PrimaryNotActive``, and the alarm
    (:attr:`alarm`) the primary's Route 53 health check reads. EventBridge Scheduler calls
    CloudWatch directly (no function). Cost: one alarm and ~44k scheduler calls a month."""

    def __init__(
        self, scope: Construct, id_: str, *, names: Names, primary_state: RegionState
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        value = 0 if primary_state is RegionState.ACTIVE else 1
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="Summon: publish the primary region's declared state",
            inline_policies={
                "publish": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=["cloudwatch:PutMetricData"],
                            resources=["*"],  # PutMetricData has no resource-level permissions
                            conditions={
                                "StringEquals": {"cloudwatch:namespace": REGION_STATE_NAMESPACE}
                            },
                        )
                    ]
                )
            },
        )
        acknowledge_nag(
            role,
            IAM5="cloudwatch:PutMetricData has no resource-level permissions; the "
            "cloudwatch:namespace condition limits it to Summon/RegionState",
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"{names.prefix}-primary-state",
            description=f"primary declared {primary_state.value}",
            schedule_expression="rate(1 minute)",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn="arn:aws:scheduler:::aws-sdk:cloudwatch:putMetricData",
                role_arn=role.role_arn,
                input=json.dumps(
                    {
                        "Namespace": REGION_STATE_NAMESPACE,
                        "MetricData": [
                            {"MetricName": FENCED_METRIC, "Value": value, "Unit": "Count"}
                        ],
                    }
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=3, maximum_event_age_in_seconds=60
                ),
            ),
        )
        self.alarm = cw.Alarm(
            self,
            "PrimaryNotActive",
            alarm_name=fenced_alarm_name(names),
            alarm_description=(
                "The primary region is declared not active (summon:regionStates): Route 53 "
                "answers with the standby while this alarm is in ALARM"
            ),
            metric=cw.Metric(
                namespace=REGION_STATE_NAMESPACE,
                metric_name=FENCED_METRIC,
                statistic="Maximum",
                period=Duration.minutes(1),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.MISSING,
        )


class Backups(Construct):
    """A KMS-encrypted, retained vault (:attr:`vault`), the daily and monthly plan
    (:attr:`plan`; the primary copies daily backups to ``other_region``'s vault), and the
    selections: the tables in ``table_arns`` and the EBS volumes and RDS instances and
    clusters tagged ``backup_tag``. Cost: AWS Backup storage of what the plan retains, and the
    cross-region copy transfer."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        role: Role,
        active: bool,
        other_region: str,
        key: kms.IKey,
        table_arns: Sequence[str],
        backup_tag: tuple[str, str],
    ) -> None:
        super().__init__(scope, id_)
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=names.backup_vault,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.plan = self._plan(names=names, role=role, active=active, other_region=other_region)
        service_role = iam.Role(
            self,
            "ServiceRole",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSBackupServiceRolePolicyForBackup"
                ),
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AWSBackupServiceRolePolicyForRestores"
                ),
            ],
        )
        if active:  # one backup of the (global) tables, in the serving region
            self._tables(service_role=service_role, table_arns=table_arns)
        acknowledge_nag(
            service_role,
            IAM4="AWSBackupServiceRolePolicyForBackup/-Restores are AWS Backup's documented "
            "service-role policies",
        )
        self._web_tier(service_role=service_role, backup_tag=backup_tag)

    def _plan(
        self, *, names: Names, role: Role, active: bool, other_region: str
    ) -> backup.BackupPlan:
        """Daily at 03:00 UTC (35 days; copied to the other region from the active one) and
        monthly on the 1st at 04:00 UTC (a year, cold storage after 30 days)."""
        copy = (
            [
                backup.BackupPlanCopyActionProps(
                    destination_backup_vault=backup.BackupVault.from_backup_vault_arn(
                        self, "OtherRegionVault", names.backup_vault_arn(other_region)
                    ),
                    delete_after=Duration.days(35),
                )
            ]
            if active
            else []
        )
        return backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=f"{names.prefix}-{role.value}",
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="daily",
                    backup_vault=self.vault,
                    schedule_expression=events.Schedule.cron(minute="0", hour="3"),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(4),
                    delete_after=Duration.days(35),
                    copy_actions=copy,
                ),
                backup.BackupPlanRule(
                    rule_name="monthly",
                    backup_vault=self.vault,
                    schedule_expression=events.Schedule.cron(minute="0", hour="4", day="1"),
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(8),
                    move_to_cold_storage_after=Duration.days(30),
                    delete_after=Duration.days(365),
                ),
            ],
        )

    def _tables(self, *, service_role: iam.IRole, table_arns: Sequence[str]) -> None:
        backup.CfnBackupSelection(
            self,
            "Tables",
            backup_plan_id=self.plan.backup_plan_id,
            backup_selection=backup.CfnBackupSelection.BackupSelectionResourceTypeProperty(
                selection_name="summon-tables",
                iam_role_arn=service_role.role_arn,
                resources=list(table_arns),
            ),
        )

    def _web_tier(self, *, service_role: iam.IRole, backup_tag: tuple[str, str]) -> None:
        """The existing web tier: EBS volumes and RDS instances carrying the backup tag
        (Resources and Conditions are ANDed: only those types, only when tagged)."""
        stack = Stack.of(self)
        tag_key, tag_value = backup_tag
        backup.CfnBackupSelection(
            self,
            "WebTier",
            backup_plan_id=self.plan.backup_plan_id,
            backup_selection=backup.CfnBackupSelection.BackupSelectionResourceTypeProperty(
                selection_name="web-tier-ebs-rds",
                iam_role_arn=service_role.role_arn,
                resources=[
                    f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:volume/*",
                    f"arn:{stack.partition}:rds:{stack.region}:{stack.account}:db:*",
                    f"arn:{stack.partition}:rds:{stack.region}:{stack.account}:cluster:*",
                ],
                conditions={
                    "StringEquals": [
                        {"ConditionKey": f"aws:ResourceTag/{tag_key}", "ConditionValue": tag_value}
                    ]
                },
            ),
        )
