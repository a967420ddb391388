"""Deployment settings, read once from CDK context (``cdk.json``, ``-c key=value`` or a
context file given to ``infra/scripts/synth.py``) into frozen dataclasses.

Every key lives under the ``summon:`` prefix. Optional features are off unless their key is
present: the custom domain (certificates, API domains, Route 53 failover, CloudFront
aliases), push platform applications, social/OIDC/SAML identity providers, the CloudFront
key group (signed media URLs), the QuickSight data source and the ALB front door.
``infra/config/example.json`` turns every one of them on with example values; the CI synth
uses it so that every resource the code can create is linted and policy-checked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from constructs import Node

from chalicelib import config as app_config

REPO_ROOT = Path(__file__).resolve().parent.parent
PREFIX = "summon:"


class Role(StrEnum):
    """Which half of the disaster-recovery pair a regional stack is."""

    PRIMARY = "primary"
    STANDBY = "standby"


class RegionState(StrEnum):
    """What an operator has declared a region to be (``summon:regionStates``).

    * ``active``: serves: DNS points at it (the primary's record is healthy only then), its
      scheduled handlers and media pipeline run, it backs up the tables;
    * ``standby``: deployed and warm, but parked: no schedules, no media consumer, and (the
      standby) no media events for the objects replicated into it;
    * ``fenced``: like standby, and declared not to be trusted (the failed primary while
      the standby serves, until the operator fails back).

    Exactly one region is active. Nothing changes state on its own: failover and failback
    are deployments (infra/README.md, docs/operations.md).
    """

    ACTIVE = "active"
    STANDBY = "standby"
    FENCED = "fenced"


class ApiType(StrEnum):
    """The app's HTTP front door (``summon:apiType``): the REST API (default: Cognito
    authorizer, regional WAF) or an HTTP API (JWT authorizer, $1.00 instead of $3.50 per
    million requests, no WAF of its own; ``infra/constructs/http_api.py``)."""

    REST = "rest"
    HTTP = "http"


@dataclass(frozen=True)
class DomainSettings:
    name: str
    hosted_zone_id: str
    # CloudFront only takes us-east-1 certificates: created in-stack when the primary
    # region is us-east-1, otherwise give the ARN of one you made there.
    cloudfront_certificate_arn: str | None = None

    def host(self, label: str) -> str:
        return f"{label}.{self.name}"


@dataclass(frozen=True)
class OidcProviderSettings:
    name: str
    issuer_url: str
    client_id: str
    client_secret_name: str


@dataclass(frozen=True)
class SamlProviderSettings:
    name: str
    metadata_url: str


@dataclass(frozen=True)
class IdentityProviderSettings:
    """Federation for the user pool; every provider is off unless configured. Client
    secrets are read from Secrets Manager (the secret names are given here, never values)."""

    domain_prefix: str | None = None
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    google: dict[str, str] | None = None  # clientId, clientSecretName
    facebook: dict[str, str] | None = None  # clientId, clientSecretName
    apple: dict[str, str] | None = None  # servicesId, teamId, keyId, privateKeySecretName
    oidc: tuple[OidcProviderSettings, ...] = ()
    saml: tuple[SamlProviderSettings, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.google or self.facebook or self.apple or self.oidc or self.saml)


@dataclass(frozen=True)
class SigningKeySettings:
    """The CloudFront public key of the signed-URL key group; its private half is a
    Secrets Manager secret the app reads (``SUMMON_CLOUDFRONT_KEY_SECRET_NAME``)."""

    public_key_pem: str
    private_key_secret_name: str


@dataclass(frozen=True)
class FrontDoorSettings:
    """The optional ALB in front of the existing web tier (off by default)."""

    vpc_id: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    public_subnet_ids: tuple[str, ...]
    target_ips: tuple[str, ...] = ()
    target_port: int = 443
    health_check_path: str = "/health"


@dataclass(frozen=True)
class SesSettings:
    """Cognito's e-mail through SES (``summon:cognitoEmail``): a verified identity in
    ``region`` (default: the stack's), out of the SES sandbox."""

    from_email: str
    from_name: str | None = None
    verified_domain: str | None = None
    configuration_set: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class GovernanceSettings:
    """``summon:governance``: the account baseline (on by default)."""

    cloud_trail: bool = True
    guard_duty: bool = True
    monthly_budget_usd: int = 300  # 0: no budget


@dataclass(frozen=True)
class LambdaSettings:
    memory_size: int = 512
    timeout_seconds: int = 30
    # Reserved concurrency by handler kind (api, websocket, sqs, sns, schedule, other), opt-in:
    # new accounts often have a concurrency quota of 10, where any reservation is refused,
    # and a reservation is also a hard cap (throttles). Unset kinds share the account pool.
    reserved_concurrency: dict[str, int] = field(default_factory=dict)
    # The SQS event source mappings' maximum concurrency (2..1000): limits each consumer
    # (media events, announcement pages) without reserving (messages wait in the queue
    # instead of being throttled into the dead-letter queue).
    sqs_max_concurrency: int = 5


@dataclass(frozen=True)
class Settings:
    stage: str = "prod"
    roles: tuple[Role, ...] = (Role.STANDBY, Role.PRIMARY)
    primary_region: str = "us-east-1"
    standby_region: str = "us-west-2"
    account: str | None = None
    chalice_source_dir: Path = REPO_ROOT
    domain: DomainSettings | None = None
    alarm_emails: tuple[str, ...] = ()
    push_secrets: dict[str, str] = field(default_factory=dict)  # platform -> secret name
    # Any string: change it after rotating a push secret to have SNS take the new value.
    push_secret_version: str = "1"
    identity_providers: IdentityProviderSettings = field(default_factory=IdentityProviderSettings)
    signing_key: SigningKeySettings | None = None
    cognito_email: SesSettings | None = None
    governance: GovernanceSettings = field(default_factory=GovernanceSettings)
    # Opt-in: needs the account's QuickSight subscription and this user or group to exist.
    quicksight_principal_arn: str | None = None
    quicksight_role_name: str = "service-role/aws-quicksight-service-role-v0"
    # Per region: a VPC and its subnets exist in one region only.
    front_door: dict[Role, FrontDoorSettings] | None = None
    backup_tag: tuple[str, str] = ("summon:backup", "true")
    log_retention_days: int = 365
    # Operator-declared region states (exactly one active); the default is normal operation.
    region_states: dict[Role, RegionState] = field(
        default_factory=lambda: {
            Role.PRIMARY: RegionState.ACTIVE,
            Role.STANDBY: RegionState.STANDBY,
        }
    )
    lambda_settings: LambdaSettings = field(default_factory=LambdaSettings)
    api_type: ApiType = ApiType.REST
    # The built web app deployed to the static bucket (make web builds it).
    web_dist: Path = REPO_ROOT / "web" / "dist"

    @property
    def prefix(self) -> str:
        """``summon-<stage>``: the prefix of every resource name (shared with the app)."""
        return app_config.prefix(self.stage)

    def state_of(self, role: Role) -> RegionState:
        return self.region_states[role]

    def is_active(self, role: Role) -> bool:
        return self.region_states[role] is RegionState.ACTIVE

    def region_of(self, role: Role) -> str:
        return self.primary_region if role is Role.PRIMARY else self.standby_region

    def stack_name(self, role: Role) -> str:
        return f"Summon-{self.stage}-{role.value}"

    @classmethod
    def from_node(cls, node: Node) -> Settings:
        """Read every ``summon:*`` context value of the app (the CDK CLI's ``-c``,
        ``cdk.json`` and ``cdk.context.json`` all end up there)."""

        def get(key: str) -> Any:
            return node.try_get_context(PREFIX + key)

        return cls.from_mapping({k: v for k in _KEYS if (v := get(k)) is not None})

    @classmethod
    def from_mapping(cls, ctx: dict[str, Any]) -> Settings:
        """Build settings from context values without the ``summon:`` prefix (JSON
        strings are accepted wherever an object or list is expected, as ``-c`` gives)."""
        ctx = {k: _json(v) for k, v in ctx.items()}
        unknown = set(ctx) - set(_KEYS)
        if unknown:
            raise ValueError(f"unknown summon:* context keys: {sorted(unknown)}")
        role = str(ctx.get("role", "all"))
        if role not in {"all", "primary", "standby"}:
            raise ValueError("summon:role must be one of all, primary, standby")
        roles = (Role.STANDBY, Role.PRIMARY) if role == "all" else (Role(role),)
        primary = str(ctx.get("primaryRegion", "us-east-1"))
        standby = str(ctx.get("standbyRegion", "us-west-2"))
        if primary == standby:
            raise ValueError("the primary and standby regions must differ")
        domain = None
        if d := ctx.get("domain"):
            domain = DomainSettings(
                name=d["name"],
                hosted_zone_id=d["hostedZoneId"],
                cloudfront_certificate_arn=d.get("cloudFrontCertificateArn"),
            )
            if primary != "us-east-1" and not domain.cloudfront_certificate_arn:
                raise ValueError(
                    "summon:domain.cloudFrontCertificateArn is required when the primary "
                    "region is not us-east-1 (CloudFront only uses us-east-1 certificates)"
                )
        idp = ctx.get("identityProviders") or {}
        signing = ctx.get("cloudFrontSigningKey")
        front = ctx.get("frontDoor")
        lam = ctx.get("lambda") or {}
        gov = ctx.get("governance") or {}
        defaults = LambdaSettings()
        account = ctx.get("account") or os.environ.get("CDK_DEFAULT_ACCOUNT")
        return cls(
            stage=str(ctx.get("stage", "prod")),
            roles=roles,
            primary_region=primary,
            standby_region=standby,
            account=str(account) if account else None,
            chalice_source_dir=Path(ctx.get("chaliceSourceDir", REPO_ROOT)).resolve(),
            domain=domain,
            alarm_emails=tuple(ctx.get("alarmEmails", ())),
            push_secrets=dict(ctx.get("pushSecrets", {})),
            push_secret_version=str(ctx.get("pushSecretVersion", "1")),
            identity_providers=IdentityProviderSettings(
                domain_prefix=idp.get("domainPrefix"),
                callback_urls=tuple(idp.get("callbackUrls", ())),
                logout_urls=tuple(idp.get("logoutUrls", ())),
                google=idp.get("google"),
                facebook=idp.get("facebook"),
                apple=idp.get("apple"),
                oidc=tuple(
                    OidcProviderSettings(
                        name=o["name"],
                        issuer_url=o["issuerUrl"],
                        client_id=o["clientId"],
                        client_secret_name=o["clientSecretName"],
                    )
                    for o in idp.get("oidc", ())
                ),
                saml=tuple(
                    SamlProviderSettings(name=s["name"], metadata_url=s["metadataUrl"])
                    for s in idp.get("saml", ())
                ),
            ),
            signing_key=SigningKeySettings(
                public_key_pem=signing["publicKeyPem"],
                private_key_secret_name=signing["privateKeySecretName"],
            )
            if signing
            else None,
            quicksight_principal_arn=ctx.get("quickSightPrincipalArn"),
            cognito_email=SesSettings(
                from_email=ses["fromEmail"],
                from_name=ses.get("fromName"),
                verified_domain=ses.get("verifiedDomain"),
                configuration_set=ses.get("configurationSet"),
                region=ses.get("region"),
            )
            if (ses := ctx.get("cognitoEmail"))
            else None,
            quicksight_role_name=str(
                ctx.get("quickSightServiceRole", "service-role/aws-quicksight-service-role-v0")
            ),
            front_door=_front_door(front, primary=primary, standby=standby) if front else None,
            backup_tag=tuple(ctx.get("backupTag", ("summon:backup", "true"))),
            log_retention_days=int(ctx.get("logRetentionDays", 365)),
            region_states=_region_states(ctx),
            api_type=_api_type(ctx.get("apiType", ApiType.REST.value)),
            web_dist=Path(ctx.get("webDist", REPO_ROOT / "web" / "dist")).resolve(),
            governance=GovernanceSettings(
                cloud_trail=bool(gov.get("cloudTrail", True)),
                guard_duty=bool(gov.get("guardDuty", True)),
                monthly_budget_usd=int(gov.get("monthlyBudgetUsd", 300)),
            ),
            lambda_settings=LambdaSettings(
                memory_size=int(lam.get("memorySize", defaults.memory_size)),
                timeout_seconds=int(lam.get("timeoutSeconds", defaults.timeout_seconds)),
                reserved_concurrency={
                    str(k): int(v) for k, v in lam.get("reservedConcurrency", {}).items()
                },
                sqs_max_concurrency=int(lam.get("sqsMaxConcurrency", defaults.sqs_max_concurrency)),
            ),
        )


_KEYS = (
    "stage",
    "role",
    "primaryRegion",
    "standbyRegion",
    "account",
    "chaliceSourceDir",
    "domain",
    "alarmEmails",
    "pushSecrets",
    "pushSecretVersion",
    "identityProviders",
    "cloudFrontSigningKey",
    "quickSightPrincipalArn",
    "cognitoEmail",
    "quickSightServiceRole",
    "frontDoor",
    "backupTag",
    "logRetentionDays",
    "lambda",
    "failover",
    "regionStates",
    "governance",
    "apiType",
    "webDist",
)


def _api_type(value: Any) -> ApiType:
    try:
        return ApiType(str(value))
    except ValueError:
        raise ValueError(
            f"summon:apiType must be one of {[a.value for a in ApiType]}, not {value!r}"
        ) from None


def _region_states(ctx: dict[str, Any]) -> dict[Role, RegionState]:
    """``summon:regionStates`` (``{"primary": "fenced", "standby": "active"}``), or the
    shorthand ``summon:failover=true`` for exactly that; exactly one region active."""
    failover = str(ctx.get("failover", "false")).lower() == "true"
    given = ctx.get("regionStates")
    if failover and given:
        raise ValueError("give summon:regionStates or summon:failover, not both")
    states = {Role.PRIMARY: RegionState.ACTIVE, Role.STANDBY: RegionState.STANDBY}
    if failover:
        states = {Role.PRIMARY: RegionState.FENCED, Role.STANDBY: RegionState.ACTIVE}
    for role_name, state in (given or {}).items():
        states[Role(role_name)] = RegionState(state)
    if sum(st is RegionState.ACTIVE for st in states.values()) != 1:
        raise ValueError(f"summon:regionStates needs exactly one active region, not {states}")
    return states


def _front_door(
    front: dict[str, Any], *, primary: str, standby: str
) -> dict[Role, FrontDoorSettings]:
    """``summon:frontDoor`` is ``{"primary": {...}, "standby": {...}}`` (either may be left
    out): each region's own VPC, subnets and targets, checked against its region."""
    unknown = set(front) - {r.value for r in Role}
    if unknown or not front:
        raise ValueError(
            "summon:frontDoor takes one object per region: "
            '{"primary": {"vpcId", ...}, "standby": {"vpcId", ...}}'
        )
    out: dict[Role, FrontDoorSettings] = {}
    for role_name, f in front.items():
        role = Role(role_name)
        region = primary if role is Role.PRIMARY else standby
        azs = tuple(f["availabilityZones"])
        if not azs or any(not az.startswith(region) for az in azs):
            raise ValueError(f"summon:frontDoor.{role_name}: availability zones not in {region}")
        out[role] = FrontDoorSettings(
            vpc_id=f["vpcId"],
            vpc_cidr=f["vpcCidr"],
            availability_zones=azs,
            public_subnet_ids=tuple(f["publicSubnetIds"]),
            target_ips=tuple(f.get("targetIps", ())),
            target_port=int(f.get("targetPort", 443)),
            health_check_path=f.get("healthCheckPath", "/health"),
        )
    return out


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        return json.loads(value)
    return value


def load_context_file(path: Path) -> dict[str, Any]:
    """A JSON file of ``summon:*`` keys (as in ``cdk.json``'s ``context``)."""
    data: dict[str, Any] = json.loads(path.read_text())
    ctx: dict[str, Any] = data.get("context", data)
    return ctx
