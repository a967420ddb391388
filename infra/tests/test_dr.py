"""Route 53 failover with health checks, AWS Backup, schedules parked in the standby."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match, Matcher

from infra.settings import Role
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


@pytest.mark.parametrize(("role", "failover"), [("primary", "PRIMARY"), ("standby", "SECONDARY")])
def test_failover_records_follow_the_regions_health(full: Synth, role: str, failover: str) -> None:
    stack = full.primary if role == "primary" else full.standby
    template = full.primary_t if role == "primary" else full.standby_t
    region = stack.region
    template.has_resource_properties(
        "AWS::Route53::HealthCheck",
        {
            "HealthCheckConfig": Match.object_like(
                {
                    "Type": "HTTPS",
                    "ResourcePath": "/api/health",
                    "FullyQualifiedDomainName": {
                        "Fn::Join": [
                            "",
                            [{"Ref": "RestAPI"}, f".execute-api.{region}.amazonaws.com"],
                        ]
                    },
                    "FailureThreshold": 3,
                }
            )
        },
    )
    health_check = stack.resolve(stack.failover.health_check.attr_health_check_id)
    rest_domain = stack.api.rest_api_domain
    assert rest_domain is not None
    for label in ("api", "ws", "www"):
        template.has_resource_properties(
            "AWS::Route53::RecordSet",
            {
                "Name": f"{label}.summon.example.com.",
                "Type": "A",
                "Failover": failover,
                "SetIdentifier": f"{label}-{role}",
                "HealthCheckId": health_check,
                "HostedZoneId": "Z0123456789EXAMPLE",
                "AliasTarget": Match.object_like({"EvaluateTargetHealth": True}),
            },
        )
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "api.summon.example.com.",
            "AliasTarget": {
                "DNSName": stack.resolve(rest_domain.get_att("RegionalDomainName")),
                "HostedZoneId": stack.resolve(rest_domain.get_att("RegionalHostedZoneId")),
                "EvaluateTargetHealth": True,
            },
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
