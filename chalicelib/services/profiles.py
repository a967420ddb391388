"""Use cases of profiles, settings, provider profiles and categories."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib import ids
from chalicelib.auth import ROLES, Principal
from chalicelib.errors import Invalid, NotFound
from chalicelib.schemas.common import Location
from chalicelib.schemas.profiles import (
    Availability,
    Category,
    Profile,
    ProfilePatch,
    ProviderMe,
    ProviderProfileIn,
    ProviderPublic,
    Rate,
    RatingSummary,
    SettingsDoc,
    SettingsOut,
)
from chalicelib.services import accounts, events, media, moderation
from chalicelib.store import blocks as blocks_repo
from chalicelib.store import counters, keys
from chalicelib.store import profiles as repo
from chalicelib.store.models import ProviderItem, UserItem

DELETED_NAME = "Deleted user"
"""The name a deleted account shows under (``ids.DELETED_USER``)."""


def _roles(principal: Principal) -> list[str]:
    return sorted(r for r in principal.groups if r in ROLES)


def _profile(user_id: str, item: UserItem) -> Profile:
    return Profile(
        id=user_id,
        email=item.email,
        name=item.name,
        phone=item.phone,
        avatar_media_id=item.avatar_media_id,
        roles=list(item.roles or []),
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def me(principal: Principal) -> Profile:
    """The caller's profile (created on first use)."""
    item = repo.get_or_create_user(principal.user_id, principal.email, _roles(principal))
    return _profile(principal.user_id, item)


def ensure_profile(principal: Principal) -> UserItem:
    """Every service that needs the caller's profile goes through here (created on first use)."""
    return repo.get_or_create_user(principal.user_id, principal.email, _roles(principal))


def patch_me(principal: Principal, patch: ProfilePatch) -> Profile:
    """Apply the patch to the caller's profile (created on first use): 400 for a name with
    words the marketplace does not allow; an avatar must be the caller's own media, ready,
    uploaded as ``avatar`` (1 more call)."""
    moderation.refuse(patch.name, "name")
    if patch.avatar_media_id is not None:  # theirs, ready, uploaded as an avatar
        media.check_attachable(
            principal.user_id,
            [patch.avatar_media_id],
            ("avatar",),
            ready=True,
            field="avatar_media_id",
        )
    ensure_profile(principal)
    changes = {name: getattr(patch, name) for name in patch.model_fields_set}
    item = repo.update_user(principal.user_id, changes)
    return _profile(principal.user_id, item)


# --- settings -------------------------------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def get_settings(principal: Principal) -> SettingsOut:
    """The caller's settings and their version (0 before the first save)."""
    data, version = repo.get_settings(principal.user_id)
    doc = SettingsDoc.model_validate(data) if data else SettingsDoc()
    return SettingsOut(**doc.model_dump(), version=version)


def put_settings(principal: Principal, doc: SettingsDoc, expected: int | None) -> SettingsOut:
    """Replace the caller's settings if they are still at version ``expected`` (None: any);
    :class:`PreconditionFailed` when another device saved first. The caller's other
    devices get ``settings.updated`` live."""
    version = repo.put_settings(principal.user_id, doc.model_dump(mode="json"), expected)
    out = SettingsOut(**doc.model_dump(), version=version)
    events.publish(
        events.Event(
            type="settings.updated",
            recipients=(principal.user_id,),
            data=out.model_dump(mode="json"),
            feed=False,
        )
    )
    return out


# --- categories -----------------------------------------------------------------------


def categories() -> list[Category]:
    """The service categories (the catalog, cached per container for a minute)."""
    return [Category.model_validate(c) for c in repo.categories()]


def check_categories(ids: list[str]) -> None:
    known = {c["id"] for c in repo.categories()}
    unknown = [c for c in ids if c not in known]
    if unknown:
        raise Invalid(
            f"categories: unknown category id(s) {', '.join(unknown)}; see GET /categories.",
            errors=[{"field": "categories", "message": f"unknown: {', '.join(unknown)}"}],
        )


# --- providers ------------------------------------------------------------------------


def _rating(item: ProviderItem) -> RatingSummary:
    exact = counters.exact(item)
    count = exact["rating_count"]
    avg = round(exact["rating_sum"] / count, 2) if count else None
    return RatingSummary(count=count, average=avg)


def _public(user_id: str, item: ProviderItem) -> ProviderPublic:
    return ProviderPublic(
        id=user_id,
        name=item.name,
        categories=list(item.categories or []),
        bio=item.bio or "",
        rate=Rate.model_validate(item.rate) if item.rate else None,
        radius_km=item.radius_km,
        online=bool(item.online),
        rating=_rating(item),
    )


def _mine(user_id: str, item: ProviderItem) -> ProviderMe:
    location = None
    where = repo.live_position(item)
    if where is not None:
        location = Location(lat=where[0], lng=where[1], address=item.address)
    return ProviderMe(
        **_public(user_id, item).model_dump(), location=location, version=int(item.version)
    )


def put_provider(principal: Principal, body: ProviderProfileIn) -> ProviderMe:
    """Create or replace the caller's provider profile. Keeps rating, counters and
    availability; an online provider is re-indexed at the new location."""
    check_categories(body.categories)
    profile = ensure_profile(principal)
    uid = principal.user_id
    item = repo.get_provider(uid) or ProviderItem(
        keys.user(uid),
        keys.PROVIDER,
        created_at=ids.iso(),
        kept_apart=blocks_repo.kept_apart(uid) or None,
    )
    expected = int(item.version or 0)
    item.name = profile.name
    item.categories = body.categories
    item.bio = body.bio
    item.lat, item.lng, item.address = body.location.lat, body.location.lng, body.location.address
    item.live_lat, item.live_lng = body.location.lat, body.location.lng
    item.radius_km = body.radius_km
    item.rate = _rate_json(body.rate)
    if item.online:
        for name, value in keys.geo_index(body.location.lat, body.location.lng, uid).items():
            setattr(item, name, value)
    return _mine(uid, repo.save_provider(item, expected))


def _rate_json(rate: Rate | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {
        "amount": str(rate.amount.quantize(Decimal("0.01"))),
        "currency": rate.currency,
        "unit": rate.unit,
    }


def set_availability(principal: Principal, body: Availability) -> ProviderMe:
    """Go online or offline; going online without a location uses the one on file
    (:class:`NotFound` before the provider profile exists; ``Conflict`` while the
    provider's verification is not approved)."""
    uid = principal.user_id
    if body.online:
        accounts.check_may_go_online(uid)
    lat = body.location.lat if body.location else None
    lng = body.location.lng if body.location else None
    item = repo.set_availability(uid, online=body.online, lat=lat, lng=lng)
    return _mine(uid, item)


def provider(user_id: str) -> ProviderPublic:
    """A provider's public profile (a deleted account's: "Deleted user"); :class:`NotFound`
    when there is none."""
    if ids.is_deleted_user(user_id):
        return ProviderPublic(
            id=user_id, name=DELETED_NAME, categories=[], bio="", online=False,
            rating=RatingSummary(count=0, average=None),
        )  # fmt: skip
    item = repo.get_provider(user_id)
    if item is None:
        raise NotFound("No such provider.")
    return _public(user_id, item)
