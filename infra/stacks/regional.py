"""One region of Summon: every construct wired together. The same class makes the primary
and the standby stack; ``role`` decides the differences (who owns the global tables and
the replication, where CloudFront and the analytics export live, primary vs secondary
failover records, schedules disabled in the standby).

Deploy order: the standby first (its keys, buckets and backup vault are the replication and
copy destinations the primary names), then the primary (which creates the global tables
with their standby replicas).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aspects, Aws, CfnOutput, CfnResource, Environment, Stack, Tags
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from chalicelib import config as app_config
from infra.compliance import acknowledge_nag
from infra.compute import Arm64Functions
from infra.constructs.analytics import Analytics
from infra.constructs.api import API_STAGE, Api
from infra.constructs.data import Data
from infra.constructs.dr import Backups, FailoverRecords, FailoverTarget, RegionStateBeacon
from infra.constructs.edge import Edge
from infra.constructs.firewall import Firewall
from infra.constructs.frontdoor import FrontDoor
from infra.constructs.governance import Governance
from infra.constructs.identity import Identity
from infra.constructs.keys import Keys
from infra.constructs.messaging import Messaging
from infra.constructs.monitoring import METRICS_NAMESPACE, SERVICE_NAME, Monitoring
from infra.constructs.storage import Storage
from infra.constructs.website import Website
from infra.names import Names
from infra.settings import DomainSettings, Role, Settings


class RegionalStack(Stack):
    """One region's stack (``role`` picks primary or standby): keys, queues and topics,
    buckets, tables, identity, firewalls, CloudFront (primary), the app, the optional ALB
    front door, failover records (with a domain), backups, analytics and monitoring.

    Outputs (``CfnOutput``): the user pool and its client, the identity pool, the media
    bucket, the alarm topic and, in the primary, the CloudFront domains.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        settings: Settings,
        role: Role,
        chalice_out_dir: Path,
        **kwargs: Any,
    ) -> None:
        region = settings.region_of(role)
        super().__init__(
            scope,
            id_,
            env=Environment(account=settings.account, region=region),
            description=f"Summon {settings.stage} ({role.value}, {region})",
            termination_protection=True,
            **kwargs,
        )
        Tags.of(self).add("project", "summon")
        Tags.of(self).add("stage", settings.stage)
        Tags.of(self).add("dr-role", role.value)
        Aspects.of(self).add(Arm64Functions())
        self.role = role
        self._settings = settings
        names = Names(stage=settings.stage, region=region, account=settings.account)
        retention = _retention(settings.log_retention_days)
        zone = self._zone(settings.domain)

        self._foundations(settings=settings, names=names, role=role, retention=retention)
        # CloudFront is global: the primary owns it (origin groups fail over to the
        # standby's buckets).
        self.edge: Edge | None = None
        if role is Role.PRIMARY:
            self.edge = self._edge(settings=settings, names=names, zone=zone, retention=retention)
        self.api = self._api(
            settings=settings,
            names=names,
            role=role,
            zone=zone,
            retention=retention,
            chalice_out_dir=chalice_out_dir,
        )
        self.website: Website | None = None
        if self.edge is not None:
            self.website = self._website(settings=settings)
        for origin in self._web_origins(settings):  # presigned uploads from the web app
            self.storage.media.add_cors_rule(
                allowed_origins=[origin],
                allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.POST],
                allowed_headers=["*"],
                max_age=3600,
            )
        self.front_door = self._front_door(settings=settings, names=names, role=role, zone=zone)
        self.failover: FailoverRecords | None = None
        self.beacon: RegionStateBeacon | None = None
        if settings.domain is not None and zone is not None and self.api.api_domain is not None:
            self.failover = self._failover(
                settings=settings,
                names=names,
                role=role,
                domain=settings.domain,
                zone=zone,
                rest_api=self.api.api_domain,
            )
            if role is Role.STANDBY:
                self.beacon = RegionStateBeacon(
                    self,
                    "RegionState",
                    names=names,
                    primary_state=settings.state_of(Role.PRIMARY),
                )
        self.backups = Backups(
            self,
            "Backups",
            names=names,
            role=role,
            active=settings.is_active(role),
            other_region=(
                settings.standby_region if role is Role.PRIMARY else settings.primary_region
            ),
            key=self.keys.data,
            table_arns=[self.data.main.arn, self.data.idempotency.arn, self.data.directory.arn],
            backup_tag=settings.backup_tag,
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            names=names,
            bucket=self.storage.analytics,
            storage_key=self.keys.storage,
            ops_key=self.keys.ops,
            log_retention=retention,
            table_stream_arn=self.data.main.stream_arn,
            # QuickSight is account-wide and needs a subscription: opt-in, primary only.
            quicksight_principal_arn=(
                settings.quicksight_principal_arn if role is Role.PRIMARY else None
            ),
            quicksight_role_name=settings.quicksight_role_name,
            reserved_concurrency=settings.lambda_settings.reserved_concurrency.get("other"),
        )
        self.monitoring = self._monitoring(settings=settings, names=names, role=role)
        self.governance = Governance(
            self,
            "Governance",
            names=names,
            settings=settings.governance,
            primary=role is Role.PRIMARY,
            key=self.keys.ops,
            log_bucket=self.storage.logs,
            alarm_topic=self.monitoring.topic,
        )
        self._outputs()

    def _zone(self, domain: DomainSettings | None) -> route53.IHostedZone | None:
        if domain is None:
            return None
        return route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=domain.hosted_zone_id, zone_name=domain.name
        )

    def _foundations(
        self, *, settings: Settings, names: Names, role: Role, retention: logs.RetentionDays
    ) -> None:
        """What the app and the other parts build on: :attr:`keys`, :attr:`messaging`,
        :attr:`storage`, :attr:`data`, :attr:`identity` and the regional :attr:`firewall`."""
        self.keys = Keys(self, "Keys", names=names)
        self.messaging = Messaging(
            self,
            "Messaging",
            names=names,
            key=self.keys.ops,
            push_secrets=settings.push_secrets,
            push_secret_version=settings.push_secret_version,
            log_retention=retention,
        )
        self.storage = Storage(
            self,
            "Storage",
            names=names,
            role=role,
            standby_region=settings.standby_region,
            key=self.keys.storage,
            media_queue=self.messaging.media_queue,
            media_queue_policy=self.messaging.media_queue_policy,
            # The standby's bucket receives the primary's replicas: no media events for them
            # unless the standby serves (the primary's own uploads always queue).
            notify_uploads=role is Role.PRIMARY or settings.is_active(role),
        )
        self.data = Data(
            self,
            "Data",
            names=names,
            role=role,
            standby_region=settings.standby_region,
            key=self.keys.data,
        )
        self.identity = Identity(
            self,
            "Identity",
            names=names,
            providers=settings.identity_providers,
            media_bucket=self.storage.media,
            storage_key=self.keys.storage,
            directory=self.data.directory,
            data_key=self.keys.data,
            ops_key=self.keys.ops,
            log_retention=retention,
            ses=settings.cognito_email,
        )
        self.firewall = Firewall(
            self,
            "Firewall",
            names=names,
            waf_scope="REGIONAL",
            log_key=self.keys.ops,
            log_retention=retention,
        )

    def _edge(
        self,
        *,
        settings: Settings,
        names: Names,
        zone: route53.IHostedZone | None,
        retention: logs.RetentionDays,
    ) -> Edge:
        """CloudFront for the static and media buckets, behind a CLOUDFRONT-scope WAF ACL when
        this region is us-east-1 (where such an ACL must be)."""
        cf_firewall = (
            Firewall(
                self,
                "EdgeFirewall",
                names=names,
                waf_scope="CLOUDFRONT",
                log_key=self.keys.ops,
                log_retention=retention,
            )
            if self.region == "us-east-1"
            else None
        )
        return Edge(
            self,
            "Edge",
            names=names,
            standby_region=settings.standby_region,
            static_bucket=self.storage.static,
            media_bucket=self.storage.media,
            log_bucket=self.storage.logs,
            domain=settings.domain,
            zone=zone,
            signing_key=settings.signing_key,
            web_acl_arn=cf_firewall.arn if cf_firewall else None,
            api_origins=_api_origins(settings, self.region),
        )

    def _website(self, *, settings: Settings) -> Website:
        """The web app on the static distribution, with a ``/config.json`` naming this
        stack's API and WebSocket (their custom domains when there is a domain)."""
        assert self.edge is not None
        return Website(
            self,
            "Website",
            dist=settings.web_dist,
            bucket=self.storage.static,
            distribution=self.edge.static,
            config={"apiUrl": self._api_url(settings), "wsUrl": self._websocket_url(settings)},
        )

    def _api_url(self, settings: Settings) -> str:
        if settings.domain is not None:
            return f"https://{settings.domain.host('api')}"
        if self.api.http_api is not None:
            return self.api.http_api.url
        rest = self.api.app.get_resource("RestAPI").ref
        return f"https://{rest}.execute-api.{self.region}.{Aws.URL_SUFFIX}/{API_STAGE}"

    def _websocket_url(self, settings: Settings) -> str:
        if settings.domain is not None:
            return f"wss://{settings.domain.host('ws')}"
        return f"wss://{self.api.websocket_api_id}.execute-api.{self.region}.{Aws.URL_SUFFIX}/{API_STAGE}"

    def _cursor_key(self, names: Names) -> str:
        """The secret list cursors are signed with: generated once per stage and region,
        kept in Secrets Manager, handed to the functions as a dynamic reference (resolved
        by CloudFormation, never in the template)."""
        secret = secretsmanager.Secret(
            self,
            "CursorKey",
            secret_name=f"summon/{names.stage}/cursor-key",
            description="Signs the API's list cursors (SUMMON_CURSOR_KEY)",
            encryption_key=self.keys.ops,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        acknowledge_nag(
            secret,
            SMG4="rotating it would only make outstanding list cursors answer 400 once; "
            "nothing else depends on it",
        )
        return secret.secret_value.unsafe_unwrap()

    def _web_origins(self, settings: Settings) -> tuple[str, ...]:
        """Where the web app is served from (the static distribution): ``static.<domain>``,
        or, without a domain, the distribution's own name (known in the primary only)."""
        if settings.domain is not None:
            return (f"https://{settings.domain.host('static')}",)
        if self.edge is not None:
            return (f"https://{self.edge.static.distribution_domain_name}",)
        return ()

    def _app_environment(self, *, settings: Settings, names: Names) -> dict[str, str]:
        """The app's environment variables (:mod:`chalicelib.config`'s names)."""
        media_domain = self.edge.media_domain if self.edge is not None else ""
        return {
            app_config.STAGE: settings.stage,
            app_config.TABLE: self.data.main.name,
            app_config.IDEMPOTENCY_TABLE: self.data.idempotency.name,
            app_config.USER_POOL_ID: self.identity.user_pool.user_pool_id,
            app_config.USER_POOL_ARN: self.identity.user_pool_arn,
            app_config.USER_POOL_CLIENT_ID: self.identity.client.user_pool_client_id,
            app_config.MEDIA_BUCKET: self.storage.media.bucket_name,
            app_config.STATIC_BUCKET: self.storage.static.bucket_name,
            app_config.ANALYTICS_BUCKET: self.storage.analytics.bucket_name,
            app_config.MEDIA_QUEUE: names.media_queue,
            app_config.EXPORTS_QUEUE: names.exports_queue,
            app_config.FANOUT_QUEUE: names.fanout_queue,
            app_config.ANNOUNCEMENTS_TOPIC: names.announcements_topic,
            app_config.ANNOUNCEMENTS_TOPIC_ARN: self.messaging.announcements.topic_arn,
            app_config.PROVIDER_APPROVAL: "required" if settings.stage == "prod" else "off",
            app_config.CURSOR_KEY: self._cursor_key(names),
            **self.messaging.push_env,
            app_config.MEDIA_CDN_DOMAIN: media_domain,
            app_config.CLOUDFRONT_KEY_ID: (
                self.edge.public_key.public_key_id
                if self.edge is not None and self.edge.public_key is not None
                else ""
            ),
            app_config.CLOUDFRONT_KEY_SECRET_NAME: _signing_secret_name(settings, self.edge) or "",
            app_config.WEB_ORIGIN: next(iter(self._web_origins(settings)), ""),
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        }

    def _api(
        self,
        *,
        settings: Settings,
        names: Names,
        role: Role,
        zone: route53.IHostedZone | None,
        retention: logs.RetentionDays,
        chalice_out_dir: Path,
    ) -> Api:
        """The Chalice app, wired to this region's resources (schedules off in a standby
        that is not serving)."""
        return Api(
            self,
            "Api",
            names=names,
            role=role,
            # Parked unless this region is declared active (summon:regionStates).
            run_schedules=settings.is_active(role),
            run_media_pipeline=settings.is_active(role),
            source_dir=settings.chalice_source_dir,
            out_dir=chalice_out_dir,
            environment=self._app_environment(settings=settings, names=names),
            lambda_settings=settings.lambda_settings,
            log_retention=retention,
            main_table=self.data.main,
            idempotency_table=self.data.idempotency,
            data_key=self.keys.data,
            media_bucket=self.storage.media,
            storage_key=self.keys.storage,
            ops_key=self.keys.ops,
            exports_queue=self.messaging.exports_queue,
            push_application_arns=self.messaging.platform_application_arns,
            push_regions=(settings.primary_region, settings.standby_region),
            signing_secret_name=_signing_secret_name(settings, self.edge),
            domain=settings.domain,
            zone=zone,
            firewall=self.firewall,
            api_type=settings.api_type,
            web_origins=self._web_origins(settings),
        )

    def _front_door(
        self, *, settings: Settings, names: Names, role: Role, zone: route53.IHostedZone | None
    ) -> FrontDoor | None:
        """The optional ALB front door (``summon:frontDoor.<role>``, this region's VPC and
        subnets; needs ``summon:domain``)."""
        front = (settings.front_door or {}).get(role)
        if front is None:
            return None
        if settings.domain is None or zone is None:
            raise ValueError("summon:frontDoor needs summon:domain (its certificate)")
        return FrontDoor(
            self,
            "FrontDoor",
            names=names,
            settings=front,
            domain=settings.domain,
            zone=zone,
            log_bucket=self.storage.logs,
            firewall=self.firewall,
        )

    def _failover(
        self,
        *,
        settings: Settings,
        names: Names,
        role: Role,
        domain: DomainSettings,
        zone: route53.IHostedZone,
        rest_api: CfnResource,
    ) -> FailoverRecords:
        """Failover records for ``api``, ``ws`` (with a WebSocket domain) and ``www`` (with a
        front door), health-checked on the REST API's regional endpoint."""
        targets = [_failover_target("api", rest_api)]
        if self.api.websocket_domain is not None:
            targets.append(_failover_target("ws", self.api.websocket_domain))
        if self.front_door is not None:
            lb = self.front_door.load_balancer
            targets.append(
                FailoverTarget(
                    "www",
                    f"dualstack.{lb.load_balancer_dns_name}",
                    lb.load_balancer_canonical_hosted_zone_id,
                )
            )
        return FailoverRecords(
            self,
            "Failover",
            names=names,
            role=role,
            standby_region=settings.standby_region,
            domain=domain,
            zone=zone,
            targets=targets,
        )

    def _monitoring(self, *, settings: Settings, names: Names, role: Role) -> Monitoring:
        """Alarms and the dashboard over the app's functions, APIs, table and queues."""
        dlqs = [
            self.messaging.media_dlq,
            self.messaging.exports_dlq,
            self.messaging.fanout_dlq,
            self.api.async_dlq,
        ]
        if self.analytics.exporter is not None:
            dlqs.append(self.analytics.export_failures)
        return Monitoring(
            self,
            "Monitoring",
            names=names,
            key=self.keys.ops,
            alarm_emails=settings.alarm_emails,
            functions=self.api.functions,
            rest_api_name=f"{names.prefix}-api" if self.api.has_rest_api else None,
            http_api_id=self.api.http_api.api.ref if self.api.http_api is not None else None,
            websocket_api_id=self.api.websocket_api_id,
            table_name=self.data.main.name,
            replica_region=settings.standby_region if role is Role.PRIMARY else None,
            media_queue=self.messaging.media_queue,
            dead_letter_queues=dlqs,
            replication_rules=self.storage.replication_rules,
            backup_vault_name=names.backup_vault,
            push_applications=self.messaging.platform_applications,
            health_check_id=(
                self.failover.health_check.attr_health_check_id
                if self.failover is not None and self.failover.health_check is not None
                else None
            ),
            notify=[self.beacon.alarm] if self.beacon is not None else [],
        )

    def _outputs(self) -> None:
        CfnOutput(self, "UserPoolId", value=self.identity.user_pool.user_pool_id)
        CfnOutput(self, "UserPoolClientId", value=self.identity.client.user_pool_client_id)
        CfnOutput(self, "IdentityPoolId", value=self.identity.identity_pool.ref)
        CfnOutput(self, "MediaBucket", value=self.storage.media.bucket_name)
        CfnOutput(self, "AlarmTopic", value=self.monitoring.topic.topic_arn)
        if self.website is not None:
            CfnOutput(self, "ApiUrl", value=self._api_url(self._settings))
            CfnOutput(self, "WebSocketUrl", value=self._websocket_url(self._settings))
        if self.edge is not None:
            CfnOutput(self, "StaticDistribution", value=self.edge.static.distribution_domain_name)
            if self.edge.media is not None:
                CfnOutput(self, "MediaDistribution", value=self.edge.media.distribution_domain_name)


def _api_origins(settings: Settings, region: str) -> tuple[str, ...]:
    """What the web app connects to besides its own origin: the API and the WebSocket, by
    their custom domains, or else any execute-api endpoint of the region (their ids cannot
    be named here: the API's CORS names the distribution, which names this policy)."""
    if settings.domain is not None:
        return (f"https://{settings.domain.host('api')}", f"wss://{settings.domain.host('ws')}")
    return (
        f"https://*.execute-api.{region}.amazonaws.com",
        f"wss://*.execute-api.{region}.amazonaws.com",
    )


def _signing_secret_name(settings: Settings, edge: Edge | None) -> str | None:
    """The CloudFront signing key's secret, when the app signs media URLs (a key and a media
    distribution)."""
    signing = settings.signing_key
    if signing and edge is not None and edge.media_domain:
        return signing.private_key_secret_name
    return None


def _failover_target(name: str, domain: CfnResource) -> FailoverTarget:
    """A regional custom domain of the app as a failover record's target."""
    return FailoverTarget(
        name,
        domain.get_att("RegionalDomainName").to_string(),
        domain.get_att("RegionalHostedZoneId").to_string(),
    )


_RETENTIONS = (
    (30, logs.RetentionDays.ONE_MONTH),
    (90, logs.RetentionDays.THREE_MONTHS),
    (180, logs.RetentionDays.SIX_MONTHS),
    (365, logs.RetentionDays.ONE_YEAR),
    (400, logs.RetentionDays.THIRTEEN_MONTHS),
    (545, logs.RetentionDays.EIGHTEEN_MONTHS),
    (731, logs.RetentionDays.TWO_YEARS),
    (1827, logs.RetentionDays.FIVE_YEARS),
    (3653, logs.RetentionDays.TEN_YEARS),
)


def _retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch Logs retention of at least ``days`` (capped at ten years)."""
    return next((r for d, r in _RETENTIONS if d >= days), _RETENTIONS[-1][1])
