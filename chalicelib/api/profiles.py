"""Routes: health, profiles, settings, categories, provider profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib import lazy, openapi
from chalicelib.auth import PROVIDERS
from chalicelib.errors import Invalid, PreconditionRequired
from chalicelib.payloads import if_match
from chalicelib.schemas.common import Page
from chalicelib.schemas.profiles import (
    Availability,
    Category,
    Profile,
    ProfilePatch,
    ProviderMe,
    ProviderProfileIn,
    ProviderPublic,
    SettingsDoc,
    SettingsIn,
    SettingsOut,
)
from chalicelib.web import Call, Reply, route

if TYPE_CHECKING:
    from chalicelib.services import health
    from chalicelib.services import profiles as svc
else:  # imported on first use: a cold start of another capability skips them (lazy.py)
    health = lazy.module("chalicelib.services.health")
    svc = lazy.module("chalicelib.services.profiles")

bp = Blueprint(__name__)


@route(bp, "GET /health", auth=False, calls=1)
def get_health(call: Call) -> Reply[dict[str, Any]]:
    """Liveness and dependency check."""
    report = health.check()
    return Reply(status=200 if report["status"] == "ok" else 503, body=report)


@route(bp, "GET /me", calls=2)
def get_me(call: Call) -> Profile:
    """My profile (created on first use)."""
    return svc.me(call.principal)


@route(bp, "PATCH /me", body=ProfilePatch, calls=3)
def patch_me(call: Call) -> Profile:
    """Update my profile."""
    return svc.patch_me(call.principal, call.body)


@route(bp, "GET /me/settings", versioned=True, calls=1)
def get_settings(call: Call) -> Reply[SettingsOut]:
    """My settings (ETag = version)."""
    out = svc.get_settings(call.principal)
    return Reply(body=out, headers={"ETag": svc.etag(out.version)})


@route(bp, "PUT /me/settings", body=SettingsIn, versioned=True, errors=(412, 428), calls=2)
def put_settings(call: Call) -> Reply[SettingsOut]:
    """Replace my settings; If-Match (or the body's version): the version you read."""
    body: SettingsIn = call.body
    header = call.headers.get("if-match")
    if header is None and body.version is None:
        raise PreconditionRequired(
            'If-Match is required: send the ETag of GET /me/settings ("0" before the first '
            "save, * to overwrite whatever is there), or send back the version it answered."
        )
    expected = if_match(header) if header is not None else body.version
    if header is not None and body.version is not None and expected != body.version:
        raise Invalid("If-Match and version name different versions: send the one you read.")
    doc = SettingsDoc.model_validate(body.model_dump(exclude={"version"}))
    out = svc.put_settings(call.principal, doc, expected)
    return Reply(body=out, headers={"ETag": svc.etag(out.version)})


@route(bp, "GET /categories", calls=1)
def get_categories(call: Call) -> Page[Category]:
    """Service categories."""
    return Page[Category](items=svc.categories())


@route(bp, "PUT /me/provider", body=ProviderProfileIn, role=PROVIDERS, calls=4)
def put_provider(call: Call) -> ProviderMe:
    """Create or replace my provider profile."""
    return svc.put_provider(call.principal, call.body)


@route(
    bp, "PUT /me/provider/availability", body=Availability, role=PROVIDERS, errors=(409,), calls=3
)
def put_availability(call: Call) -> ProviderMe:
    """Go online/offline (409 while the provider's verification is not approved)."""
    return svc.set_availability(call.principal, call.body)


@route(bp, "GET /providers/{provider_id}", calls=1)
def get_provider(call: Call) -> ProviderPublic:
    """A provider's public profile."""
    return svc.provider(call.params["provider_id"])


@route(bp, "GET /openapi.json", auth=False, calls=0)
def get_openapi(call: Call) -> dict[str, Any]:
    """This API's OpenAPI 3.1 document."""
    return openapi.document()
