"""Cheaper compute: every Lambda function of every synthesized template on arm64."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from infra.compute import Arm64Functions
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk

FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")


def _functions(template: Template) -> dict[str, dict[str, Any]]:
    resources = template.to_json()["Resources"]
    return {k: r for k, r in resources.items() if r["Type"] in FUNCTION_TYPES}


@pytest.mark.parametrize(
    "synth_name", ["full", "minimal", "standby_in_failover", "http_front_door"]
)
def test_every_function_of_every_template_runs_on_arm64(
    synth_name: str, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(synth_name)
    for role, template in synth.templates.items():
        functions = _functions(template)
        kinds = {r["Type"] for r in functions.values()}
        assert kinds == set(FUNCTION_TYPES), (role, kinds)  # the app's and the CDK's own
        for name, fn in functions.items():
            assert fn["Properties"].get("Architectures") == ["arm64"], (role, name)


def _stack_with(**function_props: Any) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "S")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.NODEJS_22_X,
        handler="index.handler",
        code=lambda_.Code.from_inline("exports.handler = async () => {}"),
        **function_props,
    )
    cdk.Aspects.of(stack).add(Arm64Functions())
    return stack


def test_a_function_without_an_architecture_is_put_on_arm64() -> None:
    """What the aspect does for the functions CDK writes for its own constructs."""
    template = Template.from_stack(_stack_with())
    template.has_resource_properties("AWS::Lambda::Function", {"Architectures": ["arm64"]})


def test_a_function_that_names_x86_is_refused() -> None:
    stack = _stack_with(architecture=lambda_.Architecture.X86_64)
    with pytest.raises(Exception, match="every function runs on arm64"):
        Template.from_stack(stack)
