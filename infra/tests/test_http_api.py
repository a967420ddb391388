"""The API's front door, a per-stage choice (``summon:apiType``): the REST API (default) or an
HTTP API in front of the same handler; CORS for the web app's origin either way."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match

from chalicelib import config
from infra.settings import ApiType, Settings
from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk

WEB_ORIGIN = "https://static.summon.example.com"


def _of_type(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def test_rest_is_the_default_and_anything_else_is_refused() -> None:
    assert Settings.from_mapping({}).api_type is ApiType.REST
    assert Settings.from_mapping({"apiType": "http"}).api_type is ApiType.HTTP
    with pytest.raises(ValueError, match="apiType"):
        Settings.from_mapping({"apiType": "graphql"})


def test_the_rest_front_door_answers_cors_for_the_web_origin(full: Synth) -> None:
    template = full.primary_t.to_json()
    assert not [
        r
        for r in _of_type(template, "AWS::ApiGatewayV2::Api").values()
        if r["Properties"]["ProtocolType"] == "HTTP"
    ]
    (rest,) = _of_type(template, "AWS::Serverless::Api").values()
    paths = rest["Properties"]["DefinitionBody"]["paths"]
    preflight = paths["/me"]["options"]["x-amazon-apigateway-integration"]
    headers = preflight["responses"]["default"]["responseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{WEB_ORIGIN}'"
    assert "security" not in paths["/me"]["options"]  # preflights carry no token
    for fn in _of_type(template, "AWS::Serverless::Function").values():
        # the handler adds the same origin to its responses (app.py reads it)
        assert fn["Properties"]["Environment"]["Variables"][config.WEB_ORIGIN] == WEB_ORIGIN


def test_the_http_front_door_replaces_the_rest_api(http_front_door: Synth) -> None:
    for template in (http_front_door.primary_t.to_json(), http_front_door.standby_t.to_json()):
        assert not _of_type(template, "AWS::Serverless::Api")
        assert not _of_type(template, "AWS::ApiGateway::DomainName")
        assert "RestAPI" not in json.dumps(template)  # no permission or output left behind
        (api,) = [
            r
            for r in _of_type(template, "AWS::ApiGatewayV2::Api").values()
            if r["Properties"]["ProtocolType"] == "HTTP"
        ]
        cors = api["Properties"]["CorsConfiguration"]
        assert cors["AllowOrigins"] == [WEB_ORIGIN]
        assert set(cors["AllowHeaders"]) == set(config.CORS_ALLOW_HEADERS)
        assert cors["ExposeHeaders"] == ["ETag"]


def test_the_http_api_has_a_jwt_authorizer_on_the_same_user_pool(
    http_front_door: Synth,
) -> None:
    for stack, template in (
        (http_front_door.primary, http_front_door.primary_t),
        (http_front_door.standby, http_front_door.standby_t),
    ):
        pool_id = stack.resolve(stack.identity.user_pool.user_pool_id)
        client_id = stack.resolve(stack.identity.client.user_pool_client_id)
        template.has_resource_properties(
            "AWS::ApiGatewayV2::Authorizer",
            {
                "AuthorizerType": "JWT",
                "IdentitySource": ["$request.header.Authorization"],
                "JwtConfiguration": {
                    "Audience": [client_id],
                    "Issuer": {
                        "Fn::Join": [
                            "",
                            [
                                f"https://cognito-idp.{stack.region}.",
                                Match.any_value(),
                                "/",
                                pool_id,
                            ],
                        ]
                    },
                },
            },
        )


def test_every_route_proxies_to_the_api_handler_alias_with_payload_format_1_0(
    http_front_door: Synth,
) -> None:
    template = http_front_door.primary_t.to_json()
    (integration,) = [
        r
        for r in _of_type(template, "AWS::ApiGatewayV2::Integration").values()
        if r["Properties"].get("PayloadFormatVersion")
    ]
    assert integration["Properties"]["IntegrationType"] == "AWS_PROXY"
    assert integration["Properties"]["PayloadFormatVersion"] == "1.0"
    assert integration["Properties"]["IntegrationUri"] == {"Ref": "APIHandler.Alias"}
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in _of_type(template, "AWS::ApiGatewayV2::Route").values()
        if not r["Properties"]["RouteKey"].startswith("$")  # the WebSocket API's
    }
    # the fixture app's REST routes, each as itself (Chalice dispatches on the route path)
    assert set(routes) == {"GET /health", "GET /me"}
    assert routes["GET /me"]["AuthorizationType"] == "JWT"
    assert "AuthorizerId" in routes["GET /me"]
    assert routes["GET /health"]["AuthorizationType"] == "NONE"
    permissions = [
        p["Properties"]
        for p in _of_type(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "APIHandler.Alias"}
    ]
    assert len(permissions) == 1 and permissions[0]["Principal"] == "apigateway.amazonaws.com"


def test_the_http_stage_logs_throttles_and_serves_the_api_domain(http_front_door: Synth) -> None:
    template = http_front_door.primary_t
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "api",
            "AutoDeploy": True,
            "AccessLogSettings": Match.object_like({"DestinationArn": Match.any_value()}),
            "DefaultRouteSettings": Match.object_like(
                {"DetailedMetricsEnabled": True, "ThrottlingRateLimit": 100}
            ),
        },
    )
    domains = _of_type(template.to_json(), "AWS::ApiGatewayV2::DomainName")
    (api_domain,) = [
        k for k, d in domains.items() if d["Properties"]["DomainName"].startswith("api.")
    ]
    # the api.<domain> failover record targets the HTTP API's domain
    template.has_resource_properties(
        "AWS::Route53::RecordSet",
        {
            "Name": "api.summon.example.com.",
            "AliasTarget": Match.object_like(
                {"DNSName": {"Fn::GetAtt": [api_domain, "RegionalDomainName"]}}
            ),
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "5xx",
            "Dimensions": Match.array_with([Match.object_like({"Name": "ApiId"})]),
        },
    )
