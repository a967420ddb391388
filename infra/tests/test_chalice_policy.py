"""The plain-Chalice policy generator: same actions as the CDK roles, no wildcards."""

from __future__ import annotations

import pytest

from infra.constructs import api
from infra.scripts import chalice_policy

pytestmark = pytest.mark.cdk


def test_action_lists_match_the_cdk_roles() -> None:
    assert chalice_policy.DATA_ACTIONS == api.DATA_ACTIONS
    assert chalice_policy.IDEMPOTENCY_ACTIONS == api.IDEMPOTENCY_ACTIONS


def test_policy_names_the_stage_and_has_no_wildcard_actions() -> None:
    doc = chalice_policy.policy("prod")
    actions = [a for s in doc["Statement"] for a in s["Action"]]
    assert "dynamodb:Scan" not in actions
    assert all(a != "*" and not a.endswith(":*") for a in actions)
    resources = str([s["Resource"] for s in doc["Statement"]])
    assert "table/summon-prod-main" in resources and "summon-prod-media-events" in resources
