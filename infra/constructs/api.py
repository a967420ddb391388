"""The Chalice app itself (REST API, WebSocket API, event handlers) via ``chalice.cdk``,
wired to this region's resources.

* Resource names reach the app as stage ``environment_variables`` (the names of
  :mod:`chalicelib.config`); the Cognito authorizer's pool ARN is one of them, so the
  API's authorizer points at the pool this stack creates.
* ``autogen_policy`` is off and Chalice manages no role: every function gets its own role,
  chosen by what the function is (the REST handler, a WebSocket handler, an SQS, SNS or
  scheduled handler), with only the actions it needs on the resources it uses. The data
  policy has no ``dynamodb:Scan``: IAM enforces "no Scan on a request path".
* Each function logs to its own KMS-encrypted log group with a retention, encrypts its
  environment with the ``ops`` key, X-Ray tracing, reserved concurrency only when
  configured (the SQS consumer is limited by its event source's maximum concurrency), and (when
  invoked asynchronously) a dead-letter queue.
* The REST and WebSocket stages log access and errors and are throttled; the REST stage is
  behind the regional WAF ACL. With a domain, ``api.<domain>`` and ``ws.<domain>`` are
  regional custom domains with ACM certificates (Chalice generates them from the stage
  config; :mod:`infra.constructs.dr` points the failover records at them).
* A region not declared active (``summon:regionStates``) has its scheduled handlers and
  its media queue consumer deployed disabled (the global table would otherwise get every
  sweep twice, and replicated objects would race the primary's pipeline); failing over
  redeploys the standby as active, which enables them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    ArnFormat,
    Aws,
    CfnResource,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_wafv2 as waf
from constructs import Construct

from chalicelib import config as app_config
from infra.compliance import acknowledge_nag, skip_checkov
from infra.constructs.chalice_app import ChaliceApp
from infra.constructs.data import TableRef
from infra.constructs.firewall import Firewall
from infra.constructs.http_api import HttpApi, routes_of
from infra.constructs.messaging import EXPORT_TIMEOUT
from infra.constructs.storage import EXPORTS_PREFIX, THUMBNAILS_PREFIX, UPLOADS_PREFIX
from infra.names import Names
from infra.permissions import DATA_ACTIONS, IDEMPOTENCY_ACTIONS
from infra.settings import ApiType, DomainSettings, LambdaSettings, Role

API_STAGE = "api"
LAMBDA_ARCHITECTURE = "arm64"
WEBSOCKET_FUNCTIONS = ("WebsocketConnect", "WebsocketMessage", "WebsocketDisconnect")
EXPORT_FUNCTION = "ExportArchives"
"""The exports queue's consumer (``chalicelib/api/exports.py``): its own kind, ``export``,
the one function that writes archives and reads every upload."""
ASYNC_KINDS = ("sns", "schedule", "other")
_SAM_STAGE_REF = {"Ref": "RestAPI.Stage"}  # SAM resolves it to the stage it creates
_ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/replaced-by-a-role-per-function"
REST_THROTTLE = {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100}
WS_THROTTLE = {"ThrottlingBurstLimit": 500, "ThrottlingRateLimit": 1000}


@dataclass(frozen=True)
class AppFunction:
    """One Lambda function of the packaged app."""

    logical_id: str
    kind: str  # api | websocket | sqs | sns | schedule | other
    function_name: str  # a token (Ref)
    role: iam.Role
    log_group: logs.LogGroup


def function_kind(logical_id: str, props: Mapping[str, Any]) -> str:
    if logical_id == "APIHandler":
        return "api"
    if logical_id in WEBSOCKET_FUNCTIONS:
        return "websocket"
    if logical_id == EXPORT_FUNCTION:
        return "export"
    types = {e.get("Type") for e in props.get("Events", {}).values()}
    for event_type, kind in (("SQS", "sqs"), ("SNS", "sns"), ("Schedule", "schedule")):
        if event_type in types:
            return kind
    return "other"


def _events_of(props: Mapping[str, Any], event_type: str) -> list[str]:
    return [name for name, e in props.get("Events", {}).items() if e.get("Type") == event_type]


def _queue_names(props: Mapping[str, Any]) -> list[str]:
    out = []
    for event in props.get("Events", {}).values():
        if event.get("Type") != "SQS":
            continue
        queue = event["Properties"]["Queue"]
        arn = queue.get("Fn::Sub", "") if isinstance(queue, dict) else str(queue)
        out.append(arn.rsplit(":", 1)[-1])
    return out


class Api(Construct):
    """The packaged Chalice app (``App``) and what wires it to this region: a role, a log
    group and overrides per function, the asynchronous handlers' dead-letter queue, and the
    logging, throttling and firewall of the REST and WebSocket stages.

    Outputs: :attr:`functions` (each function's logical id, kind, name, role and log group),
    :attr:`async_dlq`, :attr:`has_rest_api` / :attr:`has_websocket_api`,
    :attr:`websocket_api_id`, :attr:`http_api` (``summon:apiType = "http"``), the regional
    custom domains :attr:`api_domain` (the REST or HTTP API's) /
    :attr:`websocket_domain` and their certificates (with ``domain`` and ``zone``).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        role: Role,
        run_schedules: bool,
        run_media_pipeline: bool = True,
        source_dir: Path,
        out_dir: Path,
        environment: Mapping[str, str],
        lambda_settings: LambdaSettings,
        log_retention: logs.RetentionDays,
        main_table: TableRef,
        idempotency_table: TableRef,
        data_key: kms.IKey,
        media_bucket: s3.IBucket,
        storage_key: kms.IKey,
        ops_key: kms.IKey,
        exports_queue: sqs.IQueue,
        push_application_arns: Mapping[str, str],
        push_regions: tuple[str, ...],
        signing_secret_name: str | None,
        domain: DomainSettings | None,
        zone: route53.IHostedZone | None,
        firewall: Firewall | None,
        api_type: ApiType = ApiType.REST,
        web_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id_)
        self._names = names
        self._log_retention = log_retention
        self._ops_key = ops_key

        self.api_certificate: acm.ICertificate | None = None
        self.ws_certificate: acm.ICertificate | None = None
        if domain is not None and zone is not None:
            self.api_certificate = self._certificate(
                "ApiCertificate", host=domain.host("api"), zone=zone
            )
            self.ws_certificate = self._certificate(
                "WebSocketCertificate", host=domain.host("ws"), zone=zone
            )
        self.app = ChaliceApp(
            self,
            "App",
            source_dir=source_dir,
            stage=names.stage,
            stage_config=_stage_config(
                names=names,
                role=role,
                environment=environment,
                lambda_settings=lambda_settings,
                domain=domain,
                # Behind an HTTP API, the api.<domain> domain is the HTTP API's (below).
                api_certificate=self.api_certificate if api_type is ApiType.REST else None,
                ws_certificate=self.ws_certificate,
            ),
            out_dir=out_dir,
        )
        resources: dict[str, Any] = self.app.sam["Resources"]
        self.has_rest_api = "RestAPI" in resources
        self.has_websocket_api = "WebsocketAPI" in resources
        self.api_domain: CfnResource | None = self._included("ApiGatewayCustomDomain", resources)
        self.websocket_domain = self._included("WebsocketApiCustomDomain", resources)
        self.websocket_api_id: str | None = None
        if self.has_websocket_api:
            self.websocket_api_id = self.app.get_resource("WebsocketAPI").ref

        by_queue = _statements_by_queue(
            stack=Stack.of(self),
            names=names,
            media_bucket=media_bucket,
            storage_key=storage_key,
            ops_key=ops_key,
        )
        by_kind = _statements_by_kind(
            stack=Stack.of(self),
            names=names,
            websocket_api_id=self.websocket_api_id,
            main_table=main_table,
            idempotency_table=idempotency_table,
            data_key=data_key,
            media_bucket=media_bucket,
            storage_key=storage_key,
            ops_key=ops_key,
            exports_queue=exports_queue,
            push_application_arns=push_application_arns,
            push_regions=push_regions,
            signing_secret_name=signing_secret_name,
            environment=environment,
            fanout_send=by_queue[names.fanout_queue],
        )
        self.async_dlq = self._async_dlq()
        self.functions = self._functions(
            resources,
            by_kind=by_kind,
            by_queue=by_queue,
            lambda_settings=lambda_settings,
            run_schedules=run_schedules,
            run_media_pipeline=run_media_pipeline,
        )
        self._gradual_deployment(resources)
        self.http_api: HttpApi | None = None
        if api_type is ApiType.HTTP and self.has_rest_api:
            self.http_api = self._http_front_door(
                resources, environment=environment, web_origins=web_origins, domain=domain
            )
        self._api_gateway_logging(firewall=firewall)
        acknowledge_nag(
            self,
            IAM5="each function role names its resources: table and index ARNs, object "
            "prefixes (uploads/*, thumbnails/*, exports/*), its own log group, this stage's "
            "@connections and push endpoints; X-Ray and SNS platform-endpoint actions have no "
            "resource-level permissions",
            IAM4="AmazonAPIGatewayPushToCloudWatchLogs is the documented role of API Gateway's "
            "account-level logging setting",
            APIG1="the WebSocket stage's AccessLogSettings are a property override (cdk-nag reads "
            "the L1 attribute); checkov CKV_AWS_76/95 verify them in the template",
            APIG4="WebSocket routes: $connect verifies the Cognito ID token in the handler "
            "(ADR 0007); message/disconnect only run on a connection that passed it",
            SQS3="AsyncFailures is the dead-letter queue of the asynchronous handlers (Lambda's "
            "DeadLetterConfig), not an SQS redrive source",
        )

    def _gradual_deployment(self, resources: Mapping[str, Any]) -> None:
        """Every function publishes a version and serves through the alias ``live``
        (SAM's ``AutoPublishAlias``: event sources and, rewritten here, the REST and
        WebSocket integrations and their invoke permissions call the alias). The functions
        that take traffic (API, WebSocket) move to a new version with CodeDeploy:
        :data:`CANARY` in prod (all at once elsewhere), rolled back when the new version's
        errors alarm fires."""
        deploy = CANARY if self._names.stage == "prod" else "AllAtOnce"
        for fn in self.functions:
            cfn = self.app.get_resource(fn.logical_id)
            cfn.add_property_override("AutoPublishAlias", ALIAS)
            # Named, so its alarm names it without a reference back to it (a cycle).
            name = f"{self._names.prefix}-{fn.logical_id}"
            cfn.add_property_override("FunctionName", name)
            if fn.kind not in ("api", "websocket"):
                continue
            alarm = cloudwatch.Alarm(
                self,
                f"{fn.logical_id}NewVersionErrors",
                alarm_description=f"{fn.logical_id}: errors of the version being deployed",
                metric=cloudwatch.Metric(
                    namespace="AWS/Lambda",
                    metric_name="Errors",
                    dimensions_map={"FunctionName": name, "Resource": f"{name}:{ALIAS}"},
                    statistic="Sum",
                    period=Duration.minutes(1),
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            cfn.add_property_override(
                "DeploymentPreference", {"Type": deploy, "Alarms": [alarm.alarm_name]}
            )
        for logical_id, res in resources.items():
            props = res.get("Properties", {})
            if res["Type"] == "AWS::Serverless::Api" and "DefinitionBody" in props:
                body = _to_alias(props["DefinitionBody"])
                self.app.get_resource(logical_id).add_property_override("DefinitionBody", body)
            elif res["Type"] == "AWS::ApiGatewayV2::Integration":
                uri = _to_alias(props["IntegrationUri"])
                self.app.get_resource(logical_id).add_property_override("IntegrationUri", uri)
            elif res["Type"] == "AWS::Lambda::Permission" and "Ref" in props.get(
                "FunctionName", {}
            ):
                alias = {"Ref": f"{props['FunctionName']['Ref']}.Alias"}
                self.app.get_resource(logical_id).add_property_override("FunctionName", alias)

    def _http_front_door(
        self,
        resources: Mapping[str, Any],
        *,
        environment: Mapping[str, str],
        web_origins: tuple[str, ...],
        domain: DomainSettings | None,
    ) -> HttpApi:
        """The HTTP API in place of the REST API Chalice packaged: the same routes to the
        API handler's alias. The REST API, its invoke permission and outputs are removed
        from the included template."""
        definition = resources["RestAPI"]["Properties"]["DefinitionBody"]
        include = self.app.sam_template
        for logical_id, res in resources.items():
            if logical_id == "RestAPI" or "RestAPI" in json.dumps(res):
                include.node.try_remove_child(logical_id)
        outputs = include.node.find_child("$Outputs")  # CfnInclude's scope of the outputs
        for logical_id, out in self.app.sam.get("Outputs", {}).items():
            if "RestAPI" in json.dumps(out):
                outputs.node.try_remove_child(logical_id)
        self.has_rest_api = False
        http = HttpApi(
            self,
            "HttpApi",
            name=f"{self._names.prefix}-api",
            stage_name=API_STAGE,
            routes=routes_of(definition),
            handler_alias_arn=Fn.ref("APIHandler.Alias"),
            user_pool_id=environment[app_config.USER_POOL_ID],
            user_pool_client_id=environment[app_config.USER_POOL_CLIENT_ID],
            web_origins=web_origins,
            throttle=REST_THROTTLE,
            access_logs=self._access_logs("HttpApiAccessLogs", "http-api"),
            domain_name=domain.host("api") if domain is not None else None,
            certificate=self.api_certificate,
        )
        for child in http.node.find_all():
            if isinstance(child, CfnResource):
                _ack_sam_ref(child)
        self.api_domain = http.domain
        return http

    def _certificate(self, id_: str, *, host: str, zone: route53.IHostedZone) -> acm.ICertificate:
        return acm.Certificate(
            self,
            id_,
            domain_name=host,
            validation=acm.CertificateValidation.from_dns(zone),
        )

    def _async_dlq(self) -> sqs.Queue:
        """Where Lambda puts the events an asynchronous handler failed on."""
        return sqs.Queue(
            self,
            "AsyncFailures",
            queue_name=f"{self._names.prefix}-lambda-async-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._ops_key,
            retention_period=Duration.days(14),
            enforce_ssl=True,
        )

    # -- functions -------------------------------------------------------------------------

    def _functions(
        self,
        resources: Mapping[str, Any],
        *,
        by_kind: Mapping[str, list[iam.PolicyStatement]],
        by_queue: Mapping[str, list[iam.PolicyStatement]],
        lambda_settings: LambdaSettings,
        run_schedules: bool,
        run_media_pipeline: bool,
    ) -> list[AppFunction]:
        """Every ``AWS::Serverless::Function`` of the package, wired (by logical id order)."""
        stack = Stack.of(self)
        ws_callback = (
            f"https://{self.websocket_api_id}.execute-api.{stack.region}.{Aws.URL_SUFFIX}/{API_STAGE}"
            if self.websocket_api_id
            else ""
        )
        functions = []
        for logical_id, res in sorted(resources.items()):
            if res["Type"] != "AWS::Serverless::Function":
                continue
            props = res["Properties"]
            kind = function_kind(logical_id, props)
            functions.append(
                self._wire_function(
                    logical_id,
                    kind,
                    self._function_statements(props, kind=kind, by_kind=by_kind, by_queue=by_queue),
                    lambda_settings,
                    ws_callback,
                    disable_schedules=not run_schedules and kind == "schedule",
                    disable_queues=not run_media_pipeline
                    and self._names.media_queue in _queue_names(props),
                    schedule_events=_events_of(props, "Schedule"),
                    sqs_events=_events_of(props, "SQS"),
                )
            )
        return functions

    def _function_statements(
        self,
        props: Mapping[str, Any],
        *,
        kind: str,
        by_kind: Mapping[str, list[iam.PolicyStatement]],
        by_queue: Mapping[str, list[iam.PolicyStatement]],
    ) -> list[iam.PolicyStatement]:
        """The kind's statements, plus consuming its queues (and what handling each queue's
        messages takes) and using the dead-letter queue."""
        stack = Stack.of(self)
        statements = list(by_kind[kind])
        queue_names = _queue_names(props)
        for queue in queue_names:
            statements += by_queue.get(queue, [])
        if queue_names:
            statements += [
                iam.PolicyStatement(
                    sid="QueueConsume",
                    actions=[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:ChangeMessageVisibility",
                    ],
                    resources=[stack.format_arn(service="sqs", resource=q) for q in queue_names],
                ),
                _via(self._ops_key, "sqs", ("kms:Decrypt",)),
            ]
        if kind in ASYNC_KINDS:
            statements += [
                iam.PolicyStatement(
                    sid="AsyncDeadLetters",
                    actions=["sqs:SendMessage"],
                    resources=[self.async_dlq.queue_arn],
                ),
                _via(self._ops_key, "sqs", ("kms:Decrypt", "kms:GenerateDataKey")),
            ]
        return statements

    def _wire_function(
        self,
        logical_id: str,
        kind: str,
        statements: list[iam.PolicyStatement],
        lambda_settings: LambdaSettings,
        ws_callback: str,
        *,
        disable_schedules: bool,
        disable_queues: bool,
        schedule_events: list[str],
        sqs_events: list[str],
    ) -> AppFunction:
        log_group = logs.LogGroup(
            self,
            f"{logical_id}Logs",
            log_group_name=f"{self._names.log_group_prefix}/lambda/{logical_id}",
            encryption_key=self._ops_key,
            retention=self._log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        statements = [
            iam.PolicyStatement(
                sid="OwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.log_group_arn}"],
            ),
            iam.PolicyStatement(
                # X-Ray has no resource-level permissions.
                sid="Tracing",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
            *statements,
        ]
        # Inline (part of the role resource) so the policy exists before the function and
        # its event source mappings are created.
        role = iam.Role(
            self,
            f"{logical_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Summon {self._names.stage} {logical_id} ({kind})",
            inline_policies={"summon": iam.PolicyDocument(statements=_merge_sids(statements))},
        )
        fn = self.app.get_resource(logical_id)
        fn.add_property_override("Role", role.role_arn)
        fn.add_property_override("KmsKeyArn", self._ops_key.key_arn)
        reserved = lambda_settings.reserved_concurrency.get(kind)
        if reserved is not None:  # opt-in (summon:lambda.reservedConcurrency)
            fn.add_property_override("ReservedConcurrentExecutions", reserved)
        else:
            skip_checkov(
                fn,
                CKV_AWS_115="no reservation by default: an account with a low concurrency "
                "quota refuses any, and a reservation throttles at its cap; the SQS consumer "
                "is limited by its event source's maximum concurrency instead "
                "(summon:lambda.reservedConcurrency opts in)",
            )
        for event in sqs_events:
            fn.add_property_override(
                f"Events.{event}.Properties.ScalingConfig",
                {"MaximumConcurrency": lambda_settings.sqs_max_concurrency},
            )
        fn.add_property_override(
            "LoggingConfig", {"LogGroup": log_group.log_group_name, "LogFormat": "Text"}
        )
        if kind == "export":  # gathers and zips a user's whole history
            fn.add_property_override("Timeout", int(EXPORT_TIMEOUT.to_seconds()))
        if ws_callback:
            fn.add_property_override(
                f"Environment.Variables.{app_config.WS_CALLBACK_URL}", ws_callback
            )
        if kind in ASYNC_KINDS:
            fn.add_property_override(
                "DeadLetterQueue", {"Type": "SQS", "TargetArn": self.async_dlq.queue_arn}
            )
        else:
            skip_checkov(
                fn,
                CKV_AWS_116=f"invoked synchronously ({kind}): failures return to the caller "
                "(API Gateway, or SQS redrive to the queue's own DLQ)",
            )
        skip_checkov(
            fn,
            CKV_AWS_117="reaches only public AWS endpoints (DynamoDB, S3, SNS, API Gateway, "
            "Cognito JWKS) over TLS with IAM; a VPC would add NAT cost and cold-start latency",
        )
        if disable_schedules:
            for event in schedule_events:
                fn.add_property_override(f"Events.{event}.Properties.State", "DISABLED")
        if disable_queues:
            for event in sqs_events:
                fn.add_property_override(f"Events.{event}.Properties.Enabled", False)
        return AppFunction(logical_id, kind, fn.ref, role, log_group)

    # -- API Gateway stages ----------------------------------------------------------------

    def _api_gateway_logging(self, *, firewall: Firewall | None) -> None:
        """Access/execution logging, metrics, tracing and throttling on both stages. API
        Gateway writes to CloudWatch Logs through the region's account-level role."""
        if not (self.has_rest_api or self.has_websocket_api):
            return
        cw_role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(
                    "service-role/AmazonAPIGatewayPushToCloudWatchLogs"
                )
            ],
        )
        account = apigateway.CfnAccount(
            self, "ApiGatewayAccount", cloud_watch_role_arn=cw_role.role_arn
        )
        if self.has_rest_api:
            self._rest_stage(account=account, firewall=firewall)
        if self.has_websocket_api:
            self._websocket_stage(account=account)

    def _rest_stage(self, *, account: apigateway.CfnAccount, firewall: Firewall | None) -> None:
        """The REST stage's access log, method settings, tracing, name and firewall."""
        rest_logs = self._access_logs("RestApiAccessLogs", "rest-api")
        rest = self.app.get_resource("RestAPI")
        rest.add_property_override("Name", f"{self._names.prefix}-api")
        rest.add_property_override("TracingEnabled", True)
        rest.add_property_override(
            "AccessLogSetting",
            {
                "DestinationArn": rest_logs.log_group_arn,
                "Format": apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ).to_string(),
            },
        )
        rest.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "LoggingLevel": "ERROR",
                    "MetricsEnabled": True,
                    "DataTraceEnabled": False,
                    **REST_THROTTLE,
                }
            ],
        )
        rest.node.add_dependency(account)
        skip_checkov(
            rest,
            CKV_AWS_120="responses are per user and authorized; a stage cache would serve "
            "one user's data to another",
        )
        if self.api_domain is not None:
            # Chalice names the stage as a string, so CloudFormation may map the domain
            # before SAM's stage exists: refer to the stage (SAM's "RestAPI.Stage").
            mapping = self.app.get_resource("ApiGatewayCustomDomainMapping")
            mapping.add_property_override("Stage", _SAM_STAGE_REF)
            _ack_sam_ref(mapping)
        if firewall is not None:
            self._rest_firewall(rest, firewall=firewall)

    def _rest_firewall(self, rest: CfnResource, *, firewall: Firewall) -> None:
        """The regional WAF ACL on the REST stage SAM creates."""
        stack = Stack.of(self)
        assoc = waf.CfnWebACLAssociation(
            self,
            "RestApiFirewall",
            resource_arn="",
            web_acl_arn=firewall.arn,
        )
        assoc.add_property_override(
            "ResourceArn",
            {
                "Fn::Join": [
                    "",
                    [
                        f"arn:{stack.partition}:apigateway:{stack.region}::/restapis/",
                        rest.ref,
                        "/stages/",
                        _SAM_STAGE_REF,
                    ],
                ]
            },
        )
        _ack_sam_ref(assoc)

    def _websocket_stage(self, *, account: apigateway.CfnAccount) -> None:
        """The WebSocket stage's access log and default route settings."""
        ws_logs = self._access_logs("WebSocketAccessLogs", "websocket-api")
        ws_stage = self.app.get_resource("WebsocketAPIStage")
        ws_stage.add_property_override(
            "AccessLogSettings",
            {
                "DestinationArn": ws_logs.log_group_arn,
                "Format": (
                    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                    '"requestTime":"$context.requestTime","routeKey":"$context.routeKey",'
                    '"eventType":"$context.eventType","status":"$context.status",'
                    '"connectionId":"$context.connectionId",'
                    '"integrationError":"$context.integrationErrorMessage"}'
                ),
            },
        )
        ws_stage.add_property_override(
            "DefaultRouteSettings",
            {
                "DataTraceEnabled": False,
                "DetailedMetricsEnabled": True,
                "LoggingLevel": "ERROR",
                **WS_THROTTLE,
            },
        )
        ws_stage.node.add_dependency(account)

    def _access_logs(self, id_: str, name: str) -> logs.LogGroup:
        return logs.LogGroup(
            self,
            id_,
            log_group_name=f"{self._names.log_group_prefix}/{name}/access",
            encryption_key=self._ops_key,
            retention=self._log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _included(self, logical_id: str, resources: Mapping[str, Any]) -> CfnResource | None:
        return self.app.get_resource(logical_id) if logical_id in resources else None


def _stage_config(
    *,
    names: Names,
    role: Role,
    environment: Mapping[str, str],
    lambda_settings: LambdaSettings,
    domain: DomainSettings | None,
    api_certificate: acm.ICertificate | None,
    ws_certificate: acm.ICertificate | None,
) -> dict[str, Any]:
    """The Chalice stage configuration (``.chalice/config.json``'s structure): no role or
    policy managed by Chalice, the names as environment variables, and the custom domains
    when there are certificates."""
    stage_config: dict[str, Any] = {
        "api_gateway_stage": API_STAGE,
        "api_gateway_endpoint_type": "REGIONAL",
        "autogen_policy": False,
        "manage_iam_role": False,
        "iam_role_arn": _ROLE_PLACEHOLDER,
        "environment_variables": dict(environment),
        "lambda_timeout": lambda_settings.timeout_seconds,
        "lambda_memory_size": lambda_settings.memory_size,
        "xray": True,
        # Graviton: 20 % cheaper per GB-second. Chalice builds the dependency layer from
        # manylinux aarch64 wheels for it (its cache key says so) and writes
        # Architectures: [arm64] on every function and the layer.
        "lambda_architecture": LAMBDA_ARCHITECTURE,
        # Dependencies in a managed layer cached by requirements.txt alone: a code
        # change re-zips the app only, instead of re-downloading every wheel.
        "automatic_layer": True,
        "tags": {"project": "summon", "stage": names.stage, "dr-role": role.value},
    }
    if domain is not None and api_certificate is not None:
        stage_config["api_gateway_custom_domain"] = {
            "domain_name": domain.host("api"),
            "certificate_arn": api_certificate.certificate_arn,
            "tls_version": "TLS_1_2",
        }
    if domain is not None and ws_certificate is not None:
        stage_config["websocket_api_custom_domain"] = {
            "domain_name": domain.host("ws"),
            "certificate_arn": ws_certificate.certificate_arn,
        }
    return stage_config


ALIAS = "live"
"""The alias every function serves through (SAM ``AutoPublishAlias``)."""
CANARY = "Canary10Percent5Minutes"
"""How a new version of an API or WebSocket function takes prod traffic (CodeDeploy)."""


def _to_alias(value: Any) -> Any:
    """``value`` with every API integration of a function's latest version (``${X.Arn}``
    in a Sub, or ``{"Ref": X}`` as a Sub variable) turned to its alias: a Sub variable
    ``{"Ref": "X.Alias"}``, which SAM resolves to the alias's ARN."""
    if isinstance(value, list):
        return [_to_alias(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"} and value["Ref"][:1].isupper() and "." not in value["Ref"]:
            return value  # plain Refs stay (only Sub variables are rewritten, below)
        out = {k: _to_alias(v) for k, v in value.items()}
        sub = out.get("Fn::Sub")
        if isinstance(sub, str) and "lambda:path" in sub:  # "...${X.Arn}...": X's alias ARN
            names = dict.fromkeys(re.findall(r"\$\{(\w+)\.Arn\}", sub))
            template = re.sub(r"\$\{(\w+)\.Arn\}", r"${\1Alias}", sub)
            out["Fn::Sub"] = [template, {f"{n}Alias": {"Ref": f"{n}.Alias"} for n in names}]
            return out
        if "Fn::Sub" in out and isinstance(out["Fn::Sub"], list) and len(out["Fn::Sub"]) == 2:
            template, names = out["Fn::Sub"]
            if "lambda:path" in str(template):
                refs = {k for k, v in names.items() if isinstance(v, dict) and "Ref" in v}
                for k in refs:  # a function's name in an ARN becomes its alias's whole ARN
                    names[k] = {"Ref": f"{names[k]['Ref']}.Alias"}
                    template = re.sub(
                        r"arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:"
                        r"\$\{AWS::AccountId\}:function:\$\{" + k + r"\}",
                        "${" + k + "}",
                        template,
                    )
                out["Fn::Sub"] = [template, names]
        return out
    return value


def _statements_by_kind(
    *,
    stack: Stack,
    names: Names,
    websocket_api_id: str | None,
    main_table: TableRef,
    idempotency_table: TableRef,
    data_key: kms.IKey,
    media_bucket: s3.IBucket,
    storage_key: kms.IKey,
    ops_key: kms.IKey,
    exports_queue: sqs.IQueue,
    push_application_arns: Mapping[str, str],
    push_regions: tuple[str, ...],
    signing_secret_name: str | None,
    environment: Mapping[str, str],
    fanout_send: list[iam.PolicyStatement],
) -> dict[str, list[iam.PolicyStatement]]:
    """The statements of each kind of function, composed of capabilities (an SQS consumer
    adds its queue's, :func:`_statements_by_queue`)."""
    data = _data_statements(
        main_table=main_table, idempotency_table=idempotency_table, data_key=data_key
    )
    ws_send = _websocket_send_statements(stack=stack, websocket_api_id=websocket_api_id)
    push_send = _push_send_statements(stack=stack, names=names, regions=push_regions)
    push_manage = _push_register_statements(push_application_arns=push_application_arns)
    presign = _presign_statements(
        stack=stack,
        media_bucket=media_bucket,
        storage_key=storage_key,
        signing_secret_name=signing_secret_name,
    )
    accounts = _accounts_statements(environment)
    start_exports = _start_exports_statements(
        media_bucket=media_bucket, exports_queue=exports_queue, ops_key=ops_key
    )
    build_exports = _build_exports_statements(media_bucket=media_bucket, storage_key=storage_key)
    erasure = _erasure_statements(environment, media_bucket=media_bucket)
    return {
        "api": [*data, *presign, *push_manage, *push_send, *ws_send, *accounts, *start_exports],
        "export": [*data, *build_exports, *push_send, *ws_send],
        "websocket": [*data, *push_send, *ws_send],
        "sqs": [*data, *push_send, *ws_send],
        "sns": [*fanout_send],  # the announcements topic: queues its fan-out, nothing else
        "schedule": [*data, *push_send, *ws_send, *erasure],
        "other": [*data],
    }


def _statements_by_queue(
    *,
    stack: Stack,
    names: Names,
    media_bucket: s3.IBucket,
    storage_key: kms.IKey,
    ops_key: kms.IKey,
) -> dict[str, list[iam.PolicyStatement]]:
    """What handling each queue's messages takes besides receiving them: processing
    uploads (the media queue), enqueuing a shard's next page (the fan-out queue)."""
    return {
        names.media_queue: _process_media_statements(
            media_bucket=media_bucket, storage_key=storage_key
        ),
        names.fanout_queue: _fanout_send_statements(stack=stack, names=names, ops_key=ops_key),
    }


def _fanout_send_statements(
    *, stack: Stack, names: Names, ops_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """Sending announcement pages to the fan-out queue (the topic's handler, and the
    queue's consumer for a shard's next page)."""
    return [
        iam.PolicyStatement(
            sid="FanoutSend",
            actions=["sqs:SendMessage", "sqs:GetQueueUrl"],
            resources=[stack.format_arn(service="sqs", resource=names.fanout_queue)],
        ),
        _via(ops_key, "sqs", ("kms:Decrypt", "kms:GenerateDataKey")),
    ]


ACCOUNT_ACTIONS = (
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:ListUsers",
)
"""What the API function does to the user pool (roles, operators' suspensions and search)."""


def _accounts_statements(environment: Mapping[str, str]) -> list[iam.PolicyStatement]:
    """Administering this stage's user pool, and publishing operators' announcements."""
    out = []
    pool = environment.get(app_config.USER_POOL_ARN)
    if pool:
        out.append(
            iam.PolicyStatement(sid="Accounts", actions=list(ACCOUNT_ACTIONS), resources=[pool])
        )
    topic = environment.get(app_config.ANNOUNCEMENTS_TOPIC_ARN)
    if topic:
        out.append(iam.PolicyStatement(sid="Announce", actions=["sns:Publish"], resources=[topic]))
    return out


ERASURE_ACTIONS = (
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:AdminDeleteUser",
)
"""What the scheduled function does to the user pool while it deletes an account
(``services/erasure.py``): sign-in disabled again if the route could not, then the
account deleted."""


def _erasure_statements(
    environment: Mapping[str, str], *, media_bucket: s3.IBucket
) -> list[iam.PolicyStatement]:
    """Deleting accounts (the scheduled run): the user pool's account, and every object
    under the user's upload, thumbnail and export prefixes (listed, then deleted)."""
    out = []
    pool = environment.get(app_config.USER_POOL_ARN)
    if pool:
        out.append(
            iam.PolicyStatement(sid="Erasure", actions=list(ERASURE_ACTIONS), resources=[pool])
        )
    prefixes = [f"{UPLOADS_PREFIX}*", f"{THUMBNAILS_PREFIX}*", f"{EXPORTS_PREFIX}*"]
    out += [
        iam.PolicyStatement(
            sid="ErasureMediaList",
            actions=["s3:ListBucket"],
            resources=[media_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": prefixes}},
        ),
        iam.PolicyStatement(
            sid="ErasureMediaDelete",
            actions=["s3:DeleteObject"],
            resources=[media_bucket.arn_for_objects(p) for p in prefixes],
        ),
    ]
    return out


def _data_statements(
    *, main_table: TableRef, idempotency_table: TableRef, data_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """The tables' item actions (no ``dynamodb:Scan``) and their key through DynamoDB."""
    return [
        iam.PolicyStatement(
            sid="Data",
            actions=list(DATA_ACTIONS),
            resources=[main_table.arn, main_table.index_arn],
        ),
        iam.PolicyStatement(
            sid="Idempotency",
            actions=list(IDEMPOTENCY_ACTIONS),
            resources=[idempotency_table.arn],
        ),
        _via(data_key, "dynamodb", ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")),
    ]


def _websocket_send_statements(
    *, stack: Stack, websocket_api_id: str | None
) -> list[iam.PolicyStatement]:
    """Posting to this stage's WebSocket connections (none without a WebSocket API)."""
    if not websocket_api_id:
        return []
    return [
        iam.PolicyStatement(
            sid="WebSocketSend",
            actions=["execute-api:ManageConnections"],
            resources=[
                stack.format_arn(
                    service="execute-api",
                    resource=websocket_api_id,
                    resource_name=f"{API_STAGE}/*/@connections/*",
                )
            ],
        )
    ]


def _push_send_statements(
    *, stack: Stack, names: Names, regions: tuple[str, ...]
) -> list[iam.PolicyStatement]:
    """Publishing to this stage's push endpoints in either region of the pair (an endpoint
    lives in the region its device registered in; after a failover the other region's
    functions still publish to it while it is reachable) and deleting the dead ones."""
    return [
        iam.PolicyStatement(
            sid="PushSend",
            actions=["sns:Publish"],
            resources=[
                stack.format_arn(
                    service="sns",
                    region=region,
                    resource="endpoint",
                    resource_name=f"*/{names.prefix}-*/*",
                )
                for region in regions
            ],
        ),
        iam.PolicyStatement(
            # Platform endpoints have no resource-level permissions in IAM.
            sid="PushEndpointCleanup",
            actions=["sns:GetEndpointAttributes", "sns:DeleteEndpoint"],
            resources=["*"],
        ),
    ]


def _push_register_statements(
    *, push_application_arns: Mapping[str, str]
) -> list[iam.PolicyStatement]:
    """Registering devices (none without a platform application)."""
    if not push_application_arns:
        return []
    return [
        iam.PolicyStatement(
            sid="PushRegister",
            actions=["sns:CreatePlatformEndpoint", "sns:SetEndpointAttributes"],
            resources=["*"],
        )
    ]


def _presign_statements(
    *,
    stack: Stack,
    media_bucket: s3.IBucket,
    storage_key: kms.IKey,
    signing_secret_name: str | None,
) -> list[iam.PolicyStatement]:
    """Presigning uploads and thumbnail reads, and reading the CloudFront signing key."""
    statements = [
        iam.PolicyStatement(
            sid="MediaPresign",
            actions=["s3:PutObject", "s3:GetObject"],
            resources=[media_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
        ),
        iam.PolicyStatement(
            sid="MediaThumbnailsRead",
            actions=["s3:GetObject"],
            resources=[media_bucket.arn_for_objects(f"{THUMBNAILS_PREFIX}*")],
        ),
        _via(storage_key, "s3", ("kms:Decrypt", "kms:GenerateDataKey")),
    ]
    if signing_secret_name:
        statements.append(
            iam.PolicyStatement(
                sid="MediaSigningKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    stack.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{signing_secret_name}-??????",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
    return statements


def _process_media_statements(
    *, media_bucket: s3.IBucket, storage_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """Reading and deleting uploads, writing and deleting thumbnails."""
    return [
        iam.PolicyStatement(
            sid="MediaProcess",
            actions=["s3:GetObject", "s3:DeleteObject"],
            resources=[media_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
        ),
        iam.PolicyStatement(
            sid="MediaThumbnailsWrite",
            actions=["s3:PutObject", "s3:DeleteObject"],
            resources=[media_bucket.arn_for_objects(f"{THUMBNAILS_PREFIX}*")],
        ),
        _via(storage_key, "s3", ("kms:Decrypt", "kms:GenerateDataKey")),
    ]


def _start_exports_statements(
    *, media_bucket: s3.IBucket, exports_queue: sqs.IQueue, ops_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """Queueing an export's build and presigning its archive's download."""
    return [
        iam.PolicyStatement(
            sid="ExportsQueue",
            actions=["sqs:SendMessage", "sqs:GetQueueUrl"],
            resources=[exports_queue.queue_arn],
        ),
        _via(ops_key, "sqs", ("kms:Decrypt", "kms:GenerateDataKey")),
        iam.PolicyStatement(
            sid="ExportsDownload",
            actions=["s3:GetObject"],
            resources=[media_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")],
        ),
    ]


def _build_exports_statements(
    *, media_bucket: s3.IBucket, storage_key: kms.IKey
) -> list[iam.PolicyStatement]:
    """Reading the user's originals and writing their archive (never deleting: the
    bucket's lifecycle rule does)."""
    return [
        iam.PolicyStatement(
            sid="ExportsOriginals",
            actions=["s3:GetObject"],
            resources=[media_bucket.arn_for_objects(f"{UPLOADS_PREFIX}*")],
        ),
        iam.PolicyStatement(
            sid="ExportsWrite",
            actions=["s3:PutObject"],
            resources=[media_bucket.arn_for_objects(f"{EXPORTS_PREFIX}*")],
        ),
        _via(storage_key, "s3", ("kms:Decrypt", "kms:GenerateDataKey")),
    ]


def _ack_sam_ref(resource: CfnResource) -> None:
    """CDK validates the template before SAM's transform, which resolves the reference."""
    Validations.of(resource).acknowledge(
        Acknowledgment(
            id="CloudFormation-Validate::F1020",
            reason="Ref RestAPI.Stage is resolved by the SAM transform (cfn-lint checks after it)",
        )
    )


def _via(key: kms.IKey, service: str, actions: tuple[str, ...]) -> iam.PolicyStatement:
    """Use of a KMS key only through one AWS service of this region."""
    return iam.PolicyStatement(
        actions=list(actions),
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )


def _merge_sids(statements: list[iam.PolicyStatement]) -> list[iam.PolicyStatement]:
    """Drop exact duplicates (the same capability reached through two kinds)."""
    seen: set[str] = set()
    out = []
    for st in statements:
        key = repr(st.to_statement_json())
        if key not in seen:
            seen.add(key)
            out.append(st)
    return out
