"""The plain-Chalice policy generator: same actions as the CDK roles, no wildcards."""

from __future__ import annotations

import pytest

from infra import permissions
from infra.scripts import chalice_policy

pytestmark = pytest.mark.cdk


def test_the_tables_get_exactly_the_shared_action_lists() -> None:
    doc = chalice_policy.policy("prod")
    by_resource = {str(s["Resource"]): s["Action"] for s in doc["Statement"]}
    main = [a for r, a in by_resource.items() if "table/summon-prod-main" in r]
    idem = [a for r, a in by_resource.items() if "table/summon-prod-idempotency" in r]
    assert main == [list(permissions.DATA_ACTIONS)]
    assert idem == [list(permissions.IDEMPOTENCY_ACTIONS)]


def test_policy_names_the_stage_and_has_no_wildcard_actions() -> None:
    doc = chalice_policy.policy("prod")
    actions = [a for s in doc["Statement"] for a in s["Action"]]
    assert "dynamodb:Scan" not in actions
    assert all(a != "*" and not a.endswith(":*") for a in actions)
    resources = str([s["Resource"] for s in doc["Statement"]])
    assert "table/summon-prod-main" in resources and "summon-prod-media-events" in resources
    assert "sqs:*:*:summon-prod-fanout" in resources


def test_logs_cover_the_api_handler_and_the_other_functions() -> None:
    """Chalice names the API handler ``summon-prod`` (no suffix) and the others
    ``summon-prod-<handler>``: both log groups must be writable."""
    import fnmatch

    doc = chalice_policy.policy("prod")
    (logs,) = [s for s in doc["Statement"] if s["Sid"] == "Logs"]
    resources = logs["Resource"] if isinstance(logs["Resource"], list) else [logs["Resource"]]
    for group in ("/aws/lambda/summon-prod", "/aws/lambda/summon-prod-media_events"):
        arn = f"arn:aws:logs:us-east-1:1:log-group:{group}:log-stream:2024/x"
        assert any(fnmatch.fnmatchcase(arn, r) for r in resources), group
