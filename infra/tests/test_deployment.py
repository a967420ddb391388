"""Gradual deployment: every function serves through its alias ``live``; the API and
WebSocket functions move to a new version with CodeDeploy (canary in prod), rolled back by
the new version's errors alarm; nothing calls a function's latest version directly."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from infra.constructs.api import ALIAS, CANARY
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def _of_type(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def test_every_function_serves_through_its_alias_and_traffic_moves_by_canary(full: Synth) -> None:
    template = full.primary_t.to_json()
    functions = _of_type(template, "AWS::Serverless::Function")
    assert functions
    for logical_id, fn in functions.items():
        props = fn["Properties"]
        assert props["AutoPublishAlias"] == ALIAS, logical_id
        preference = props.get("DeploymentPreference")
        if logical_id == "APIHandler" or logical_id.startswith("Websocket"):
            assert preference is not None and preference["Type"] == CANARY, logical_id
            (alarm,) = preference["Alarms"]
            watched = template["Resources"][alarm["Ref"]]["Properties"]
            assert watched["MetricName"] == "Errors" and watched["Threshold"] == 1
        else:
            assert preference is None, logical_id  # event handlers: the alias, all at once


def test_no_integration_or_permission_calls_a_functions_latest_version(full: Synth) -> None:
    template = full.primary_t.to_json()
    for logical_id, api in _of_type(template, "AWS::Serverless::Api").items():
        body = json.dumps(api["Properties"]["DefinitionBody"])
        assert ".Arn}" not in body, logical_id
        assert "Alias" in body, logical_id
    integrations = _of_type(template, "AWS::ApiGatewayV2::Integration")
    assert integrations
    for logical_id, integration in integrations.items():
        _, names = integration["Properties"]["IntegrationUri"]["Fn::Sub"]
        assert all(v["Ref"].endswith(".Alias") for v in names.values()), logical_id
    for logical_id, permission in _of_type(template, "AWS::Lambda::Permission").items():
        target = permission["Properties"]["FunctionName"]
        if permission["Properties"]["Principal"] == "apigateway.amazonaws.com":
            assert target["Ref"].endswith(".Alias"), logical_id


def test_list_cursors_are_signed_with_a_generated_secret_not_a_literal(full: Synth) -> None:
    from chalicelib import config

    template = full.primary_t.to_json()
    secrets = _of_type(template, "AWS::SecretsManager::Secret")
    (cursor_id,) = [k for k, s in secrets.items() if "cursor" in s["Properties"]["Name"]]
    assert "GenerateSecretString" in secrets[cursor_id]["Properties"]
    api = template["Resources"]["APIHandler"]["Properties"]
    value = json.dumps(api["Environment"]["Variables"][config.CURSOR_KEY])
    assert "resolve:secretsmanager" in value and cursor_id in value
