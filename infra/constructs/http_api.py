"""The optional HTTP API front door (API Gateway v2, ``summon:apiType = "http"``): the same
Chalice API handler behind an HTTP API instead of the REST API, at $1.00 instead of $3.50 per
million requests.

* One route per route of the app (``METHOD /path/{param}``, read from the REST API definition
  Chalice packaged), so API Gateway hands the handler the route's path as
  ``requestContext.resourcePath`` and Chalice dispatches as it does behind the REST API. Routes
  that the REST API guards with the Cognito authorizer get a JWT authorizer on the same user
  pool (issuer = the pool, audience = the app client), the others none.
* Lambda proxy integration with payload format **1.0**: the REST API's event shape (the
  verified claims in ``requestContext.authorizer.claims``; ``chalicelib.auth.claims_of``).
* CORS for the web app's origin (preflights answered by API Gateway), the same headers the
  local stack's gateway allows (``chalicelib.config.CORS_*``).
* Stage ``api`` (the REST API's URL shape), auto-deployed, access-logged, throttled as the
  REST stage; with a domain, ``api.<domain>`` is a regional custom domain mapped to it.
* No WAF: API Gateway HTTP APIs cannot take a web ACL. The per-route throttle stays;
  docs/operations.md says how to keep a WAF in front (CloudFront with the CLOUDFRONT ACL).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from chalicelib import config as app_config
from infra.compliance import acknowledge_nag

PAYLOAD_FORMAT = "1.0"
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head")


@dataclass(frozen=True)
class AppRoute:
    method: str  # GET, POST, ...
    path: str  # /requests/{request_id}
    authorized: bool


def routes_of(definition: Mapping[str, Any]) -> list[AppRoute]:
    """The app's routes in the REST API definition (Swagger 2) Chalice packaged: every method
    but the CORS preflights, authorized where the definition names a security scheme."""
    out = []
    for path, methods in sorted(definition.get("paths", {}).items()):
        for method, operation in sorted(methods.items()):
            if method.lower() not in HTTP_METHODS:
                continue
            out.append(AppRoute(method.upper(), path, bool(operation.get("security"))))
    return out


class HttpApi(Construct):
    """An HTTP API in front of the ``handler`` (a function alias ARN) for ``routes``.

    Outputs: :attr:`api` (``ref`` is the API id), :attr:`stage`, :attr:`url` and, with a
    domain, :attr:`domain` (a ``AWS::ApiGatewayV2::DomainName``: ``RegionalDomainName`` /
    ``RegionalHostedZoneId`` for the failover records)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        stage_name: str,
        routes: Sequence[AppRoute],
        handler_alias_arn: str,
        user_pool_id: str,
        user_pool_client_id: str,
        web_origins: Sequence[str],
        throttle: Mapping[str, int],
        access_logs: logs.ILogGroup,
        domain_name: str | None = None,
        certificate: acm.ICertificate | None = None,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.api = apigwv2.CfnApi(
            self,
            "Api",
            name=name,
            protocol_type="HTTP",
            description="Summon's API (HTTP API front door)",
            cors_configuration=apigwv2.CfnApi.CorsProperty(
                allow_origins=list(web_origins),
                allow_methods=list(app_config.CORS_ALLOW_METHODS),
                allow_headers=list(app_config.CORS_ALLOW_HEADERS),
                expose_headers=list(app_config.CORS_EXPOSE_HEADERS),
                max_age=app_config.CORS_MAX_AGE_S,
            )
            if web_origins
            else None,
        )
        authorizer = apigwv2.CfnAuthorizer(
            self,
            "Cognito",
            api_id=self.api.ref,
            name="cognito",
            authorizer_type="JWT",
            identity_source=["$request.header.Authorization"],
            jwt_configuration=apigwv2.CfnAuthorizer.JWTConfigurationProperty(
                issuer=f"https://cognito-idp.{stack.region}.{Aws.URL_SUFFIX}/{user_pool_id}",
                audience=[user_pool_client_id],
            ),
        )
        integration = apigwv2.CfnIntegration(
            self,
            "Handler",
            api_id=self.api.ref,
            integration_type="AWS_PROXY",
            integration_uri=handler_alias_arn,
            payload_format_version=PAYLOAD_FORMAT,
            timeout_in_millis=30_000,
        )
        for i, route in enumerate(routes):
            apigwv2.CfnRoute(
                self,
                f"Route{i}",
                api_id=self.api.ref,
                route_key=f"{route.method} {route.path}",
                target=f"integrations/{integration.ref}",
                authorization_type="JWT" if route.authorized else "NONE",
                authorizer_id=authorizer.ref if route.authorized else None,
            )
        self.stage = apigwv2.CfnStage(
            self,
            "Stage",
            api_id=self.api.ref,
            stage_name=stage_name,
            auto_deploy=True,
            access_log_settings=apigwv2.CfnStage.AccessLogSettingsProperty(
                destination_arn=access_logs.log_group_arn,
                format=(
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"requestTime":"$context.requestTime","routeKey":"$context.routeKey",'
                    '"status":"$context.status","responseLength":"$context.responseLength",'
                    '"integrationError":"$context.integrationErrorMessage",'
                    '"authorizerError":"$context.authorizer.error"}'
                ),
            ),
            default_route_settings=apigwv2.CfnStage.RouteSettingsProperty(
                detailed_metrics_enabled=True,
                throttling_burst_limit=throttle["ThrottlingBurstLimit"],
                throttling_rate_limit=throttle["ThrottlingRateLimit"],
            ),
        )
        lambda_.CfnPermission(
            self,
            "Invoke",
            action="lambda:InvokeFunction",
            function_name=handler_alias_arn,
            principal="apigateway.amazonaws.com",
            source_arn=stack.format_arn(
                service="execute-api", resource=self.api.ref, resource_name="*"
            ),
        )
        self.url = (
            f"https://{self.api.ref}.execute-api.{stack.region}.{Aws.URL_SUFFIX}/{stage_name}"
        )
        self.domain: apigwv2.CfnDomainName | None = None
        if domain_name is not None and certificate is not None:
            self.domain = apigwv2.CfnDomainName(
                self,
                "Domain",
                domain_name=domain_name,
                domain_name_configurations=[
                    apigwv2.CfnDomainName.DomainNameConfigurationProperty(
                        certificate_arn=certificate.certificate_arn,
                        endpoint_type="REGIONAL",
                        security_policy="TLS_1_2",
                    )
                ],
            )
            mapping = apigwv2.CfnApiMapping(
                self,
                "DomainMapping",
                api_id=self.api.ref,
                domain_name=domain_name,
                stage=self.stage.ref,
            )
            mapping.add_dependency(self.domain)
        acknowledge_nag(
            self,
            APIG1="the stage's AccessLogSettings name the access log group (checkov verifies)",
            APIG4="routes that need a user have the JWT authorizer on the user pool; the "
            "public ones (health, auth config, docs) have none, as behind the REST API",
        )
