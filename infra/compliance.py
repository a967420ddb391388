"""Suppressing a policy check where it truly does not apply, next to the resource, with a
reason: ``checkov`` reads ``Metadata.checkov.skip`` and cfn-lint reads
``Metadata.cfn-lint.config.ignore_checks`` of each resource in the synthesized template."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct


def _cfn(target: IConstruct) -> CfnResource:
    if isinstance(target, CfnResource):
        return target
    child = target.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{target.node.path} has no CloudFormation resource to annotate")
    return child


def skip_checkov(target: IConstruct, **reasons: str) -> None:
    """``skip_checkov(bucket, CKV_AWS_18="this is the access-log bucket")``."""
    resource = _cfn(target)
    meta: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    known = {s["id"] for s in meta["skip"]}
    meta["skip"] += [
        {"id": check, "comment": reason} for check, reason in reasons.items() if check not in known
    ]
    resource.add_metadata("checkov", meta)


def ignore_cfn_lint(target: IConstruct, *rules: str) -> None:
    resource = _cfn(target)
    meta: dict[str, Any] = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    meta["config"]["ignore_checks"] = sorted({*meta["config"]["ignore_checks"], *rules})
    resource.add_metadata("cfn-lint", meta)


# Checks that do not apply to the small CDK-provided Lambda functions behind custom
# resources (they run once per deployment, invoked synchronously by CloudFormation).
CUSTOM_RESOURCE_LAMBDA = {
    "CKV_AWS_115": "custom-resource handler run by CloudFormation once per deployment",
    "CKV_AWS_116": "invoked synchronously by CloudFormation, which reports failures itself",
    "CKV_AWS_117": "calls only public AWS APIs; no VPC resources to reach",
    "CKV_AWS_173": "its environment holds no secrets",
}


def acknowledge_nag(target: IConstruct, **reasons: str) -> None:
    """Acknowledge cdk-nag AwsSolutions rules on ``target`` and everything under it, each with
    its reason: ``acknowledge_nag(role, IAM5="prefix-scoped object ARNs only")``. The rule ids
    are given without the ``AwsSolutions-`` prefix."""
    for rule, reason in reasons.items():
        Validations.of(target).acknowledge(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{rule}", reason=reason)
        )
