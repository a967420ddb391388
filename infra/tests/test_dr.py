"""Route 53 failover with health checks, AWS Backup, schedules parked in the standby."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Matcher

from infra.settings import Role
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def test_failover_is_operator_driven_not_a_health_probe(full: Synth) -> None:
    """Nothing probes the app (or Cognito's JWKS): the primary's records are healthy while
    the standby region's alarm says the primary is declared active; the standby's records
    answer otherwise."""
    for t in (full.primary_t, full.standby_t):
        for hc in t.find_resources("AWS::Route53::HealthCheck").values():
            assert hc["Properties"]["HealthCheckConfig"]["Type"] == "CLOUDWATCH_METRIC"
    full.standby_t.resource_count_is("AWS::Route53::HealthCheck", 0)
    full.primary_t.has_resource_properties(
        "AWS::Route53::HealthCheck",
        {
            "HealthCheckConfig": {
                "Type": "CLOUDWATCH_METRIC",
                "AlarmIdentifier": {
                    "Name": "summon-prod-primary-not-active",
                    "Region": "us-west-2",
                },
                "InsufficientDataHealthStatus": "LastKnownStatus",
            }
        },
    )
    stack = full.primary
    assert stack.failover is not None and stack.failover.health_check is not None
    health_check = stack.resolve(stack.failover.health_check.attr_health_check_id)
    for role, template, failover in (
        ("primary", full.primary_t, "PRIMARY"),
        ("standby", full.standby_t, "SECONDARY"),
    ):
        for label in ("api", "ws", "www"):
            template.has_resource_properties(
                "AWS::Route53::RecordSet",
                {
                    "Name": f"{label}.summon.example.com.",
                    "Type": "A",
                    "Failover": failover,
                    "SetIdentifier": f"{label}-{role}",
                    "HealthCheckId": health_check if role == "primary" else Match.absent(),
                    "HostedZoneId": "Z0123456789EXAMPLE",
                    "AliasTarget": Match.object_like({"EvaluateTargetHealth": False}),
                },
            )
    rest_domain = stack.api.api_domain
    assert rest_domain is not None
    full.primary_t.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "api.summon.example.com.",
            "AliasTarget": {
                "DNSName": stack.resolve(rest_domain.get_att("RegionalDomainName")),
                "HostedZoneId": stack.resolve(rest_domain.get_att("RegionalHostedZoneId")),
                "EvaluateTargetHealth": False,
            },
        },
    )


def _beacon_value(template: Any) -> int:
    (schedule,) = template.find_resources("AWS::Scheduler::Schedule").values()
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == "arn:aws:scheduler:::aws-sdk:cloudwatch:putMetricData"
    (datum,) = json.loads(target["Input"])["MetricData"]
    return int(datum["Value"])


def test_the_standby_publishes_the_primarys_declared_state(
    full: Synth, standby_in_failover: Synth
) -> None:
    full.primary_t.resource_count_is("AWS::Scheduler::Schedule", 0)
    assert _beacon_value(full.standby_t) == 0  # primary active
    assert _beacon_value(standby_in_failover.standby_t) == 1  # primary fenced
    full.standby_t.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "summon-prod-primary-not-active",
            "Namespace": "Summon/RegionState",
            "MetricName": "PrimaryNotActive",
            "Threshold": 1,
        },
    )


def test_api_custom_domains_use_the_stacks_certificates(full: Synth) -> None:
    stack = full.primary
    assert stack.api.api_certificate is not None and stack.api.ws_certificate is not None
    full.primary_t.has_resource_properties(
        "AWS::ApiGateway::DomainName",
        {
            "DomainName": "api.summon.example.com",
            "RegionalCertificateArn": stack.resolve(stack.api.api_certificate.certificate_arn),
            "EndpointConfiguration": {"Types": ["REGIONAL"]},
            "SecurityPolicy": "TLS_1_2",
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::ApiGatewayV2::DomainName",
        {
            "DomainName": "ws.summon.example.com",
            "DomainNameConfigurations": [
                Match.object_like(
                    {"CertificateArn": stack.resolve(stack.api.ws_certificate.certificate_arn)}
                )
            ],
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": "api.summon.example.com", "ValidationMethod": "DNS"},
    )


def test_backup_plan_copies_to_the_standby_vault(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::Backup::BackupPlan",
        {
            "BackupPlan": {
                "BackupPlanName": "summon-prod-primary",
                "BackupPlanRule": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "RuleName": "daily",
                                "Lifecycle": {"DeleteAfterDays": 35},
                                "CopyActions": [
                                    Match.object_like(
                                        {
                                            "DestinationBackupVaultArn": Match.object_like(
                                                {
                                                    "Fn::Join": [
                                                        "",
                                                        Match.array_with(
                                                            [
                                                                Match.string_like_regexp(
                                                                    ":backup:us-west-2:.*"
                                                                    "backup-vault:summon-prod-vault"
                                                                )
                                                            ]
                                                        ),
                                                    ]
                                                }
                                            )
                                        }
                                    )
                                ],
                            }
                        ),
                        Match.object_like(
                            {
                                "RuleName": "monthly",
                                "Lifecycle": {
                                    "DeleteAfterDays": 365,
                                    "MoveToColdStorageAfterDays": 30,
                                },
                            }
                        ),
                    ]
                ),
            }
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::Backup::BackupVault",
        {
            "BackupVaultName": "summon-prod-vault",
            "EncryptionKeyArn": stack.resolve(stack.keys.data.key_arn),
        },
    )


def _arn(suffix: str) -> Matcher:
    return Match.object_like({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, suffix]]})


def test_backup_selects_the_tables_and_tagged_web_tier(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::Backup::BackupSelection",
        {
            "BackupSelection": Match.object_like(
                {
                    "Resources": [
                        stack.resolve(stack.data.main.arn),
                        stack.resolve(stack.data.idempotency.arn),
                        stack.resolve(stack.data.directory.arn),
                    ]
                }
            )
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::Backup::BackupSelection",
        {
            "BackupSelection": Match.object_like(
                {
                    "Resources": Match.array_with(
                        [
                            _arn(":ec2:us-east-1:111111111111:volume/*"),
                            _arn(":rds:us-east-1:111111111111:db:*"),
                        ]
                    ),
                    "Conditions": {
                        "StringEquals": [
                            {
                                "ConditionKey": "aws:ResourceTag/summon:backup",
                                "ConditionValue": "true",
                            }
                        ]
                    },
                }
            )
        },
    )
    full.standby_t.resource_count_is("AWS::Backup::BackupVault", 1)


def test_schedules_are_parked_in_the_standby_until_failover(
    full: Synth, standby_in_failover: Synth
) -> None:
    def schedules(template: Mapping[str, Any]) -> list[dict[str, Any]]:
        out = []
        for r in template["Resources"].values():
            if r["Type"] == "AWS::Serverless::Function":
                for e in r["Properties"].get("Events", {}).values():
                    if e["Type"] == "Schedule":
                        out.append(e["Properties"])
        return out

    primary, standby = schedules(full.primary_t.to_json()), schedules(full.standby_t.to_json())
    assert primary and standby
    assert all("State" not in p for p in primary)
    assert all(p["State"] == "DISABLED" for p in standby)
    assert list(standby_in_failover.stacks) == [Role.STANDBY]
    serving = schedules(standby_in_failover.standby_t.to_json())
    assert serving and all("State" not in p for p in serving)


def _sqs_events(template: Mapping[str, Any], queue: str = "media-events") -> list[dict[str, Any]]:
    """The SQS event sources of the functions that consume the queue named ``...-<queue>``."""
    return [
        e["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in r["Properties"].get("Events", {}).values()
        if e["Type"] == "SQS" and json.dumps(e["Properties"]["Queue"]).endswith(f'-{queue}"}}')
    ]


def _media_notifications(stack: Any, template: Mapping[str, Any]) -> Any:
    bucket = stack.resolve(stack.storage.media.node.default_child.logical_id)
    return template["Resources"][bucket]["Properties"].get("NotificationConfiguration")


def test_the_standbys_media_pipeline_is_parked_until_it_is_active(
    full: Synth, standby_in_failover: Synth
) -> None:
    """Replicated objects must not run the standby's pipeline while the primary runs its
    own on the same objects: no S3 events and a disabled consumer until failover."""
    primary, standby = full.primary_t.to_json(), full.standby_t.to_json()
    assert all(e.get("Enabled", True) is True for e in _sqs_events(primary))
    assert _media_notifications(full.primary, primary)
    parked = _sqs_events(standby)
    assert parked and all(e["Enabled"] is False for e in parked)
    assert _media_notifications(full.standby, standby) is None
    serving_t = standby_in_failover.standby_t.to_json()
    serving = _sqs_events(serving_t)
    assert serving and all(e.get("Enabled", True) is True for e in serving)
    assert _media_notifications(standby_in_failover.standby, serving_t)
    # announcements published in the standby still fan out (its own topic and queue)
    fanout = _sqs_events(standby, "fanout")
    assert fanout and all(e.get("Enabled", True) is True for e in fanout)


def _table_selections(template: Any) -> list[Any]:
    return [
        s
        for s in template.find_resources("AWS::Backup::BackupSelection").values()
        if s["Properties"]["BackupSelection"]["SelectionName"] == "summon-tables"
    ]


def test_the_tables_are_backed_up_once_by_the_active_region(
    full: Synth, standby_in_failover: Synth
) -> None:
    """PITR on both replicas, plus one AWS Backup of the global table (copied to the other
    region) — not one per replica plus a copy."""
    assert len(_table_selections(full.primary_t)) == 1
    assert _table_selections(full.standby_t) == []
    assert len(_table_selections(standby_in_failover.standby_t)) == 1
    (plan,) = full.standby_t.find_resources("AWS::Backup::BackupPlan").values()
    assert not any(r.get("CopyActions") for r in plan["Properties"]["BackupPlan"]["BackupPlanRule"])
