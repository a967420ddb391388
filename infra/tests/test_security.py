"""Security, cost and operations findings of issue 16: WAF body size and log filter, the
ops key's service statement, and what the stacks add for a startup's baseline."""

from __future__ import annotations

from typing import Any

import pytest

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def _templates(full: Synth) -> list[dict[str, Any]]:
    return [dict(full.primary_t.to_json()), dict(full.standby_t.to_json())]


def _of_type(template: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == type_]


def test_waf_counts_instead_of_blocking_bodies_over_8_kb(full: Synth) -> None:
    for template in _templates(full):
        acls = _of_type(template, "AWS::WAFv2::WebACL")
        assert acls
        for acl in acls:
            (common,) = [
                r["Statement"]["ManagedRuleGroupStatement"]
                for r in acl["Properties"]["Rules"]
                if r["Name"] == "AWSManagedRulesCommonRuleSet"
            ]
            assert common["RuleActionOverrides"] == [
                {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
            ]


def test_waf_logs_only_blocked_and_counted_requests(full: Synth) -> None:
    for template in _templates(full):
        configs = _of_type(template, "AWS::WAFv2::LoggingConfiguration")
        assert configs
        for config in configs:
            f = config["Properties"]["LoggingFilter"]
            assert f["DefaultBehavior"] == "DROP"
            actions = {c["ActionCondition"]["Action"] for c in f["Filters"][0]["Conditions"]}
            assert f["Filters"][0]["Behavior"] == "KEEP" and actions == {"BLOCK", "COUNT"}


def test_aws_services_use_the_ops_key_only_for_this_account(full: Synth) -> None:
    for template in _templates(full):
        for key in _of_type(template, "AWS::KMS::Key"):
            for st in key["Properties"]["KeyPolicy"]["Statement"]:
                service = st.get("Principal", {}).get("Service")
                if st.get("Sid") == "AwsServicePublishers":
                    assert st["Condition"]["StringEquals"]["aws:SourceAccount"] == "111111111111"
                elif service and st["Effect"] == "Allow":
                    assert st.get("Condition"), (st.get("Sid"), service)


def test_cloudtrail_guardduty_and_a_budget(full: Synth) -> None:
    primary, standby = full.primary_t, full.standby_t
    primary.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "IsMultiRegionTrail": True,
            "EnableLogFileValidation": True,
            "KMSKeyId": full.primary.resolve(full.primary.keys.ops.key_arn),
        },
    )
    standby.resource_count_is("AWS::CloudTrail::Trail", 0)  # one multi-region trail
    for t in (primary, standby):
        t.resource_count_is("AWS::GuardDuty::Detector", 1)
    (budget,) = primary.find_resources("AWS::Budgets::Budget").values()
    topic = full.primary.resolve(full.primary.monitoring.topic.topic_arn)
    subscribers = [
        s for n in budget["Properties"]["NotificationsWithSubscribers"] for s in n["Subscribers"]
    ]
    assert subscribers and all(s["Address"] == topic for s in subscribers)
    standby.resource_count_is("AWS::Budgets::Budget", 0)
