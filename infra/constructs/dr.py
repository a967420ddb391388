"""Disaster recovery: Route 53 failover records with health checks, and AWS Backup.

Failover: each region's stack writes its half of every failover record set in the shared
hosted zone (``PRIMARY`` from the primary region, ``SECONDARY`` from the standby), both
aliased to that region's API Gateway custom domain and tied to that region's health check
(HTTPS ``GET /api/health`` on the region's own execute-api endpoint, which checks the app's
dependencies). When the primary's check fails, Route 53 answers with the standby.

Backup: a KMS-encrypted vault per region. Each region backs up its copy of the tables
daily (35 days; copied to the other region's vault from the primary) and monthly (a year,
cold storage after 30 days), plus the existing web tier's EBS volumes and RDS instances
selected by tag (``summon:backup=true`` unless configured).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from constructs import Construct

from infra.names import Names
from infra.settings import DomainSettings, Role

HEALTH_PATH = "/api/health"


@dataclass(frozen=True)
class FailoverTarget:
    label: str  # the host label: api, ws, www
    alias_dns_name: str
    alias_hosted_zone_id: str


class FailoverRecords(Construct):
    """This region's half of the failover record sets in ``zone``: an HTTPS health check
    (:attr:`health_check`, ``GET /api/health`` on ``health_check_fqdn``) and one alias ``A``
    record per target (:attr:`records`; ``PRIMARY`` or ``SECONDARY`` by ``role``)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        role: Role,
        domain: DomainSettings,
        zone: route53.IHostedZone,
        health_check_fqdn: str,
        targets: Sequence[FailoverTarget],
    ) -> None:
        super().__init__(scope, id_)
        region = Stack.of(self).region
        self.health_check = route53.CfnHealthCheck(
            self,
            "HealthCheck",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="HTTPS",
                fully_qualified_domain_name=health_check_fqdn,
                resource_path=HEALTH_PATH,
                port=443,
                enable_sni=True,
                request_interval=30,
                failure_threshold=3,
            ),
            health_check_tags=[
                route53.CfnHealthCheck.HealthCheckTagProperty(
                    key="Name", value=f"summon-{role.value}-{region}"
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
                health_check_id=self.health_check.attr_health_check_id,
                alias_target=route53.CfnRecordSet.AliasTargetProperty(
                    dns_name=t.alias_dns_name,
                    hosted_zone_id=t.alias_hosted_zone_id,
                    evaluate_target_health=True,
                ),
            )
            for t in targets
        ]


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
        self.plan = self._plan(names=names, role=role, other_region=other_region)
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
        self._tables(service_role=service_role, table_arns=table_arns)
        self._web_tier(service_role=service_role, backup_tag=backup_tag)

    def _plan(self, *, names: Names, role: Role, other_region: str) -> backup.BackupPlan:
        """Daily at 03:00 UTC (35 days; copied to the other region from the primary) and
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
            if role is Role.PRIMARY
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
