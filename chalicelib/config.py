"""Settings from the environment: one frozen object (:func:`load`; the runtime keeps the
container's, ``runtime.settings()``).

Resource names flow one way: infra/ (or devstack's provisioning) creates the resources and
sets these variables per stage; the app only reads them. Decorator arguments (queue and
topic names, the authorizer's pool ARN) are read at import and package time, so they go
through :func:`import_time` with a safe default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

# Environment variable names: the one list of them (infra/ and devstack/ import these).
STAGE = "SUMMON_STAGE"
REGION = "AWS_DEFAULT_REGION"
TABLE = "SUMMON_TABLE"
IDEMPOTENCY_TABLE = "SUMMON_IDEMPOTENCY_TABLE"
USER_POOL_ID = "SUMMON_USER_POOL_ID"
USER_POOL_ARN = "SUMMON_USER_POOL_ARN"
USER_POOL_CLIENT_ID = "SUMMON_USER_POOL_CLIENT_ID"
JWKS_URL = "SUMMON_JWKS_URL"
TOKEN_ISSUER = "SUMMON_TOKEN_ISSUER"
MEDIA_BUCKET = "SUMMON_MEDIA_BUCKET"
STATIC_BUCKET = "SUMMON_STATIC_BUCKET"
ANALYTICS_BUCKET = "SUMMON_ANALYTICS_BUCKET"
MEDIA_QUEUE = "SUMMON_MEDIA_QUEUE"
EXPORTS_QUEUE = "SUMMON_EXPORTS_QUEUE"
"""The queue of data exports to build (``POST /me/exports`` → the exports handler)."""
ANNOUNCEMENTS_TOPIC = "SUMMON_ANNOUNCEMENTS_TOPIC"
FANOUT_QUEUE = "SUMMON_FANOUT_QUEUE"
"""The queue of announcement pages (``services/announcements.py``): one message per page of
one shard of the connection or device index."""
PUSH_APNS_ARN = "SUMMON_PUSH_APNS_ARN"
PUSH_APNS_SANDBOX_ARN = "SUMMON_PUSH_APNS_SANDBOX_ARN"
PUSH_FCM_ARN = "SUMMON_PUSH_FCM_ARN"
WS_CALLBACK_URL = "SUMMON_WS_CALLBACK_URL"
MEDIA_CDN_DOMAIN = "SUMMON_MEDIA_CDN_DOMAIN"
CLOUDFRONT_KEY_ID = "SUMMON_CLOUDFRONT_KEY_ID"
CLOUDFRONT_KEY_SECRET_NAME = "SUMMON_CLOUDFRONT_KEY_SECRET_NAME"
SCHEDULE_RATE_MINUTES = "SUMMON_SCHEDULE_RATE_MINUTES"
ANNOUNCEMENTS_TOPIC_ARN = "SUMMON_ANNOUNCEMENTS_TOPIC_ARN"
PROVIDER_APPROVAL = "SUMMON_PROVIDER_APPROVAL"
"""``required``: a new provider gets no offers until an operator approves it (prod);
anything else: providers are approved as they sign up (local demo, dev)."""
CURSOR_KEY = "SUMMON_CURSOR_KEY"
"""The secret list cursors are signed with (``store/pagination.py``): the same in every
container of a stage. Unset, a fixed key per stage (fine locally; the cloud sets it)."""
LIMIT_SOCKETS = "SUMMON_LIMIT_SOCKETS"
"""Live sockets one user may hold at once (default 5); one more is refused with 429."""
LIMIT_CHAT_PER_SECOND = "SUMMON_LIMIT_CHAT_PER_SECOND"
"""``chat.send`` frames one socket may send per second, sustained (default 5)."""
LIMIT_CHAT_BURST = "SUMMON_LIMIT_CHAT_BURST"
"""``chat.send`` frames one socket may send at once (default 10)."""
LIMIT_HTTP_PER_MINUTE = "SUMMON_LIMIT_HTTP_PER_MINUTE"
"""Signed-in HTTP calls one user may make per minute, sustained (default 300)."""
LIMIT_HTTP_BURST = "SUMMON_LIMIT_HTTP_BURST"
"""Signed-in HTTP calls one user may make at once (default 60)."""

WEB_ORIGIN = "SUMMON_WEB_ORIGIN"
"""The web app's origin in the cloud (``https://static.<domain>``), which the REST API
answers CORS for (``app.py``); unset locally, where the gateway does CORS itself."""

# CORS for the web app: the same wherever the API is (devstack's gateway, the REST API
# through Chalice, the HTTP API's configuration).
CORS_ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-Match")
CORS_EXPOSE_HEADERS = ("ETag",)
CORS_MAX_AGE_S = 600

DEFAULT_STAGE = "local"
DEFAULT_REGION = "us-east-1"


def prefix(stage: str) -> str:
    """The prefix of every resource name of a stage: ``summon-<stage>``."""
    return f"summon-{stage}"


def default_names(stage: str) -> dict[str, str]:
    """The resource names a stage uses unless told otherwise (local provisioning uses these)."""
    p = prefix(stage)
    return {
        TABLE: f"{p}-main",
        IDEMPOTENCY_TABLE: f"{p}-idempotency",
        MEDIA_BUCKET: f"{p}-media",
        STATIC_BUCKET: f"{p}-static",
        ANALYTICS_BUCKET: f"{p}-analytics",
        MEDIA_QUEUE: f"{p}-media-events",
        EXPORTS_QUEUE: f"{p}-exports",
        ANNOUNCEMENTS_TOPIC: f"{p}-announcements",
        FANOUT_QUEUE: f"{p}-fanout",
    }


def import_time(name: str) -> str:
    """A value needed at import/package time (decorator arguments), with a safe default."""
    stage = os.environ.get(STAGE, DEFAULT_STAGE)
    fallback = default_names(stage).get(name, "")
    if name == USER_POOL_ARN and not fallback:
        fallback = (
            f"arn:aws:cognito-idp:{DEFAULT_REGION}:000000000000:userpool/{DEFAULT_REGION}_local"
        )
    return os.environ.get(name) or fallback


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table: str
    idempotency_table: str
    user_pool_id: str
    user_pool_client_id: str
    jwks_url: str
    token_issuer: str
    media_bucket: str
    static_bucket: str
    analytics_bucket: str
    media_queue: str
    announcements_topic: str
    fanout_queue: str
    push_apns_arn: str
    push_apns_sandbox_arn: str
    push_fcm_arn: str
    ws_callback_url: str
    media_cdn_domain: str
    cloudfront_key_id: str
    cloudfront_key_secret_name: str
    announcements_topic_arn: str = ""
    provider_approval: bool = False
    cursor_key: str = ""
    exports_queue: str = ""
    limit_sockets: int = 5
    limit_chat_per_second: float = 5.0
    limit_chat_burst: int = 10
    limit_http_per_minute: int = 300
    limit_http_burst: int = 60


def load() -> Settings:
    """The settings the environment gives now (unset names take the stage's defaults)."""
    env = os.environ
    stage = env.get(STAGE, DEFAULT_STAGE)
    region = env.get(REGION) or env.get("AWS_REGION") or DEFAULT_REGION
    names = default_names(stage)
    pool_id = env.get(USER_POOL_ID, "")
    issuer = env.get(TOKEN_ISSUER) or f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    return Settings(
        stage=stage,
        region=region,
        table=env.get(TABLE) or names[TABLE],
        idempotency_table=env.get(IDEMPOTENCY_TABLE) or names[IDEMPOTENCY_TABLE],
        user_pool_id=pool_id,
        user_pool_client_id=env.get(USER_POOL_CLIENT_ID, ""),
        jwks_url=env.get(JWKS_URL) or f"{issuer}/.well-known/jwks.json",
        token_issuer=issuer,
        media_bucket=env.get(MEDIA_BUCKET) or names[MEDIA_BUCKET],
        static_bucket=env.get(STATIC_BUCKET) or names[STATIC_BUCKET],
        analytics_bucket=env.get(ANALYTICS_BUCKET) or names[ANALYTICS_BUCKET],
        media_queue=env.get(MEDIA_QUEUE) or names[MEDIA_QUEUE],
        announcements_topic=env.get(ANNOUNCEMENTS_TOPIC) or names[ANNOUNCEMENTS_TOPIC],
        fanout_queue=env.get(FANOUT_QUEUE) or names[FANOUT_QUEUE],
        push_apns_arn=env.get(PUSH_APNS_ARN, ""),
        push_apns_sandbox_arn=env.get(PUSH_APNS_SANDBOX_ARN, ""),
        push_fcm_arn=env.get(PUSH_FCM_ARN, ""),
        ws_callback_url=env.get(WS_CALLBACK_URL, ""),
        media_cdn_domain=env.get(MEDIA_CDN_DOMAIN, ""),
        cloudfront_key_id=env.get(CLOUDFRONT_KEY_ID, ""),
        cloudfront_key_secret_name=env.get(CLOUDFRONT_KEY_SECRET_NAME, ""),
        announcements_topic_arn=env.get(ANNOUNCEMENTS_TOPIC_ARN, ""),
        provider_approval=env.get(PROVIDER_APPROVAL, "").strip().lower() == "required",
        cursor_key=env.get(CURSOR_KEY) or f"{prefix(stage)}-cursors",
        exports_queue=env.get(EXPORTS_QUEUE) or names[EXPORTS_QUEUE],
        limit_sockets=_positive(env, LIMIT_SOCKETS, 5),
        limit_chat_per_second=_positive(env, LIMIT_CHAT_PER_SECOND, 5.0),
        limit_chat_burst=_positive(env, LIMIT_CHAT_BURST, 10),
        limit_http_per_minute=_positive(env, LIMIT_HTTP_PER_MINUTE, 300),
        limit_http_burst=_positive(env, LIMIT_HTTP_BURST, 60),
    )


N = TypeVar("N", int, float)


def _positive(env: Mapping[str, str], name: str, default: N) -> N:
    """A positive number from ``env[name]`` (the type of ``default``), or ``default`` when
    unset; anything else stops the container with a message naming the variable."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = type(default)(raw)
    except ValueError:
        value = 0
    if not value > 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}")
    return value
