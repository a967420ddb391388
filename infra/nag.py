"""cdk-nag's AwsSolutions rule pack on the CDK app (``make check-templates`` runs it through
``infra/scripts/synth.py``; ``infra/scripts/check.py`` fails on any violation left).

Suppressions are acknowledgments on the construct, with the reason, written by the code
that creates it (:func:`infra.compliance.acknowledge_nag`). The IAM rules report one finding
per wildcard (``AwsSolutions-IAM5[Resource::<...>/uploads/*]``), whose ids embed logical ids
that the code cannot know; an acknowledgment of the rule itself (``AwsSolutions-IAM5``) on a
construct is expanded here to each of that construct's findings, with its reason. Findings
under constructs without such an acknowledgment stay violations.
"""

from __future__ import annotations

from collections.abc import Iterator

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def _acknowledged(construct: IConstruct) -> Iterator[tuple[str, str]]:
    """(rule id, reason) of the acknowledgments on ``construct`` and its ancestors."""
    node: IConstruct | None = construct
    while node is not None:
        for entry in node.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY and entry.data:
                for key, reason in dict(entry.data).items():
                    yield key.rsplit("::", 1)[-1], str(reason)
        node = node.node.scope


def expand_rule_acknowledgments(app: App) -> int:
    """Acknowledge each finding (``Rule[finding]``) under a construct that acknowledged the
    whole rule; returns how many findings were acknowledged so."""
    by_path = {c.node.path: c for c in app.node.find_all()}
    report = AwsSolutionsChecks(app).validate_scope(app)
    expanded = 0
    for violation in report.violations:
        rule, _, finding = violation.rule_name.partition("[")
        if not finding:
            continue
        for resource in violation.violating_resources:
            construct = by_path.get(resource.construct_path or "")
            if construct is None:
                continue
            reason = next((r for k, r in _acknowledged(construct) if k == rule), None)
            if reason is not None:
                Validations.of(construct).acknowledge(
                    Acknowledgment(id=f"{PACK}::{violation.rule_name}", reason=reason)
                )
                expanded += 1
    return expanded


def add_rule_pack(app: App) -> None:
    """Expand the rule-level acknowledgments, then check the app at synthesis."""
    expand_rule_acknowledgments(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
