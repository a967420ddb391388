"""The Chalice app in CDK: the authorizer's pool, names as env vars, least-privilege roles."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from chalicelib import config
from infra.tests.conftest import Synth, _context, synth

pytestmark = pytest.mark.cdk


def _resources(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def test_the_authorizer_uses_the_pool_this_stack_creates(full: Synth) -> None:
    for stack, template in ((full.primary, full.primary_t), (full.standby, full.standby_t)):
        pool_arn = stack.resolve(stack.identity.user_pool.user_pool_arn)
        template.has_resource_properties(
            "AWS::Serverless::Api",
            {
                "DefinitionBody": Match.object_like(
                    {
                        "securityDefinitions": {
                            "cognito": Match.object_like(
                                {
                                    "x-amazon-apigateway-authorizer": {
                                        "type": "cognito_user_pools",
                                        "providerARNs": [pool_arn],
                                    }
                                }
                            )
                        }
                    }
                )
            },
        )


def test_resource_names_reach_every_function(full: Synth) -> None:
    stack = full.primary
    functions = _resources(full.primary_t.to_json(), "AWS::Serverless::Function")
    assert len(functions) == 9
    expected = {
        config.STAGE: "prod",
        config.TABLE: stack.resolve(stack.data.main.name),
        config.IDEMPOTENCY_TABLE: stack.resolve(stack.data.idempotency.name),
        config.MEDIA_QUEUE: "summon-prod-media-events",
        config.EXPORTS_QUEUE: "summon-prod-exports",
        config.FANOUT_QUEUE: "summon-prod-fanout",
        config.ANNOUNCEMENTS_TOPIC: "summon-prod-announcements",
        config.USER_POOL_ID: stack.resolve(stack.identity.user_pool.user_pool_id),
        config.USER_POOL_CLIENT_ID: stack.resolve(stack.identity.client.user_pool_client_id),
        config.MEDIA_BUCKET: stack.resolve(stack.storage.media.bucket_name),
        config.MEDIA_CDN_DOMAIN: "media.summon.example.com",
    }
    for fn in functions.values():
        env = fn["Properties"]["Environment"]["Variables"]
        for name, value in expected.items():
            got = env[name]
            assert got == value or stack.resolve(got) == value, name
        for name in (
            config.PUSH_APNS_ARN,
            config.PUSH_APNS_SANDBOX_ARN,
            config.PUSH_FCM_ARN,
            config.WS_CALLBACK_URL,
            config.CLOUDFRONT_KEY_ID,
        ):
            assert env[name], name


def test_each_function_has_its_own_role_log_group_and_limits(full: Synth) -> None:
    stack = full.primary
    ops_key = stack.resolve(stack.keys.ops.key_arn)
    functions = _resources(full.primary_t.to_json(), "AWS::Serverless::Function")
    roles = [fn["Properties"]["Role"]["Fn::GetAtt"][0] for fn in functions.values()]
    assert len(set(roles)) == len(functions)
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Tracing"] == "Active", name
        assert "ReservedConcurrentExecutions" not in props, name  # opt-in
        assert props["KmsKeyArn"] == ops_key, name
        assert "LogGroup" in props["LoggingConfig"], name
    async_kinds = [
        f
        for f in functions.values()
        if f["Properties"].get("Events")
        and any(e["Type"] in ("SNS", "Schedule") for e in f["Properties"]["Events"].values())
    ]
    assert async_kinds and all("DeadLetterQueue" in f["Properties"] for f in async_kinds)


def _statements(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for r in template["Resources"].values():
        if r["Type"] == "AWS::IAM::Role":
            for p in r["Properties"].get("Policies", []):
                out += p["PolicyDocument"]["Statement"]
        elif r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            out += r["Properties"]["PolicyDocument"]["Statement"]
    return out


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


@pytest.mark.parametrize("role", ["primary", "standby"])
def test_no_wildcard_actions_and_no_scans(full: Synth, role: str) -> None:
    template = (full.primary_t if role == "primary" else full.standby_t).to_json()
    for st in _statements(template):
        if st.get("Effect") == "Deny":
            continue
        for action in _actions(st):
            assert action != "*" and not action.endswith(":*"), st
            assert action != "dynamodb:Scan", st


def test_function_roles_by_kind(full: Synth) -> None:
    stack = full.primary
    by_kind = {fn.kind: fn for fn in stack.api.functions}
    assert set(by_kind) == {"api", "websocket", "sqs", "sns", "schedule", "export"}
    template = full.primary_t.to_json()

    def actions_of(kind: str) -> set[str]:
        role_id = stack.resolve(by_kind[kind].role.role_arn)["Fn::GetAtt"][0]
        role = template["Resources"][role_id]
        return {
            a
            for p in role["Properties"]["Policies"]
            for st in p["PolicyDocument"]["Statement"]
            for a in _actions(st)
        }

    assert "sqs:ReceiveMessage" in actions_of("sqs")
    assert "sqs:ReceiveMessage" not in actions_of("api")
    assert "s3:PutObject" in actions_of("api")  # presigned POST
    assert "s3:PutObject" not in actions_of("websocket")
    assert "sns:CreatePlatformEndpoint" in actions_of("api")
    assert "execute-api:ManageConnections" in actions_of("websocket")
    assert "dynamodb:Query" in actions_of("schedule")
    # the API function administers the user pool (roles, operators' suspensions, sign-in
    # disabled by DELETE /me); the scheduled one deletes accounts; no other touches it
    assert "cognito-idp:AdminAddUserToGroup" in actions_of("api")
    assert "cognito-idp:AdminDisableUser" in actions_of("api")
    assert "cognito-idp:AdminDeleteUser" not in actions_of("api")
    assert {a for a in actions_of("schedule") if a.startswith("cognito-idp:")} == {
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:AdminDeleteUser",
    }
    assert {"s3:ListBucket", "s3:DeleteObject"} <= actions_of("schedule")
    assert "s3:PutObject" not in actions_of("schedule")
    for kind in ("websocket", "sqs", "sns", "export"):
        assert not {a for a in actions_of(kind) if a.startswith("cognito-idp:")}, kind


def test_only_the_export_builder_writes_archives_and_only_the_api_queues_them(
    full: Synth,
) -> None:
    stack = full.primary
    template = full.primary_t.to_json()
    media = stack.resolve(stack.storage.media.bucket_arn)

    def grants(fn: Any) -> list[tuple[str, str]]:
        role_id = stack.resolve(fn.role.role_arn)["Fn::GetAtt"][0]
        out = []
        for policy in template["Resources"][role_id]["Properties"]["Policies"]:
            for st in policy["PolicyDocument"]["Statement"]:
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                out += [(a, json.dumps(r)) for a in _actions(st) for r in resources]
        return out

    def on_exports(fn: Any, action: str) -> bool:
        return any(
            a == action and "/exports/*" in r and json.dumps(media)[1:-1] in r
            for a, r in grants(fn)
        )

    by_kind: dict[str, list[Any]] = {}
    for fn in stack.api.functions:
        by_kind.setdefault(fn.kind, []).append(fn)
    (builder,) = by_kind["export"]
    (api,) = by_kind["api"]
    assert on_exports(builder, "s3:PutObject")
    assert not any(a == "s3:DeleteObject" for a, _ in grants(builder))
    assert any(a == "s3:GetObject" and "/uploads/*" in r for a, r in grants(builder))
    assert on_exports(api, "s3:GetObject") and not on_exports(api, "s3:PutObject")
    for fn in stack.api.functions:
        if fn.kind == "schedule":  # account deletion removes the user's archives, nothing more
            assert {a for a, r in grants(fn) if "/exports/*" in r} == {"s3:DeleteObject"}
        elif fn.kind not in ("export", "api"):
            assert not any("/exports/*" in r for _, r in grants(fn)), fn.logical_id
    queue = json.dumps(stack.resolve(stack.messaging.exports_queue.queue_arn))
    senders = [f.kind for f in stack.api.functions if ("sqs:SendMessage", queue) in grants(f)]
    assert senders == ["api"]
    fn = template["Resources"][builder.logical_id]["Properties"]
    assert fn["Timeout"] == 300
    assert [
        e["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[-1] for e in fn["Events"].values()
    ] == ["summon-prod-exports"]


def test_api_stages_log_trace_and_throttle(full: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::Serverless::Api",
        {
            "Name": "summon-prod-api",
            "TracingEnabled": True,
            "EndpointConfiguration": "REGIONAL",
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": [
                Match.object_like({"LoggingLevel": "ERROR", "MetricsEnabled": True})
            ],
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()}),
            "DefaultRouteSettings": Match.object_like({"DetailedMetricsEnabled": True}),
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::WAFv2::WebACLAssociation",
        {"ResourceArn": Match.object_like({"Fn::Join": Match.any_value()})},
    )


def test_packaging_leaves_the_process_as_it_found_it(full: Synth) -> None:
    assert full.primary is not None
    assert not any("${Token[" in v for v in os.environ.values())
    assert (
        os.environ.get(config.USER_POOL_ARN) is None
        or "Token" not in os.environ[config.USER_POOL_ARN]
    )
    loaded = sys.modules.get("app")
    assert loaded is None or "fixture_app" not in str(getattr(loaded, "__file__", ""))


def test_reserved_concurrency_is_opt_in_and_the_sqs_consumer_is_capped_by_its_mapping(
    full: Synth, tmp_path: Path
) -> None:
    """A new account's quota of 10 refuses any reservation, so none by default; the media
    consumer is limited by the event source mapping's maximum concurrency instead."""
    for template in (full.primary_t.to_json(), full.standby_t.to_json()):
        for r in template["Resources"].values():
            if r["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
                assert "ReservedConcurrentExecutions" not in r["Properties"]
    sqs_events = [
        e["Properties"]
        for fn in _resources(full.primary_t.to_json(), "AWS::Serverless::Function").values()
        for e in fn["Properties"].get("Events", {}).values()
        if e["Type"] == "SQS"
    ]
    assert sqs_events and all(e["ScalingConfig"] == {"MaximumConcurrency": 5} for e in sqs_events)

    opted = synth(
        tmp_path,
        _context(
            example=False,
            **{"summon:role": "primary", "summon:lambda": {"reservedConcurrency": {"api": 40}}},
        ),
    )
    functions = _resources(opted.primary_t.to_json(), "AWS::Serverless::Function")
    assert functions["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] == 40
    others = [f for n, f in functions.items() if n != "APIHandler"]
    assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in others)


@pytest.mark.parametrize("role", ["primary", "standby"])
def test_push_publish_reaches_endpoints_in_both_regions(full: Synth, role: str) -> None:
    """Push endpoints are regional: each region's functions may publish to the endpoints of
    both regions of the pair (devices registered before a failover)."""
    template = (full.primary_t if role == "primary" else full.standby_t).to_json()
    sends = [s for s in _statements(template) if s.get("Sid") == "PushSend"]
    assert sends
    for statement in sends:
        text = json.dumps(statement["Resource"])
        assert ":sns:us-east-1:" in text and ":sns:us-west-2:" in text
