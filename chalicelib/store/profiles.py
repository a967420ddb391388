"""Repository of profiles, settings, provider profiles and the category catalog.

DynamoDB cost per call is stated on each function (GetItem/PutItem/UpdateItem = 1 call)."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import PutError

from chalicelib import ids, runtime
from chalicelib.domain import geo
from chalicelib.errors import Conflict, Invalid, NotFound, PreconditionFailed
from chalicelib.store import counters, keys, metrics
from chalicelib.store.models import (
    CatalogItem,
    ProviderItem,
    SettingsItem,
    UserItem,
    condition_failed,
    get_or_none,
    save_if,
    update_if,
)

# --- profiles -------------------------------------------------------------------------


def get_user(user_id: str) -> UserItem | None:
    """1 GetItem."""
    return get_or_none(UserItem, keys.user(user_id), keys.PROFILE)


def get_or_create_user(user_id: str, email: str, roles: list[str]) -> UserItem:
    """The profile, created on first use (an account made in the user pool by an admin
    works on its first call). 1 GetItem; 1 conditional PutItem the first time; 1 UpdateItem
    when the roles in the token changed."""
    item = get_user(user_id)
    if item is None:
        now = ids.iso()
        item = UserItem(
            keys.user(user_id),
            keys.PROFILE,
            email=email or None,
            roles=roles,
            created_at=now,
            updated_at=now,
        )
        try:
            item.save(condition=UserItem.pk.does_not_exist())
        except PutError as exc:
            if not condition_failed(exc):
                raise
            found = get_user(user_id)  # created by a concurrent first call
            if found is None:
                raise
            item = found
    elif sorted(item.roles or []) != sorted(roles):
        item.update(actions=[UserItem.roles.set(roles)])
    return item


def update_user(user_id: str, changes: dict[str, Any]) -> UserItem:
    """Set (or, for ``None``, remove) profile fields. 1 UpdateItem (conditional: exists)."""
    item = UserItem(keys.user(user_id), keys.PROFILE)
    actions: list[Any] = [UserItem.updated_at.set(ids.iso())]
    for name, value in changes.items():
        attr = getattr(UserItem, name)
        actions.append(attr.remove() if value is None else attr.set(value))
    item.update(actions=actions, condition=UserItem.pk.exists())
    return item


# --- settings -------------------------------------------------------------------------


def get_settings(user_id: str) -> tuple[dict[str, Any], int]:
    """The settings document and its version (0 when never saved). 1 GetItem."""
    item = get_or_none(SettingsItem, keys.user(user_id), keys.SETTINGS)
    return (dict(item.data or {}), int(item.version)) if item else ({}, 0)


def put_settings(user_id: str, data: dict[str, Any], expected_version: int | None) -> int:
    """Replace the settings if they are still at ``expected_version`` (``None``: any).
    Returns the new version. 1 conditional PutItem (+1 GetItem when ``None``)."""
    if expected_version is None:
        _, expected_version = get_settings(user_id)
    new_version = expected_version + 1
    item = SettingsItem(
        keys.user(user_id),
        keys.SETTINGS,
        data=data,
        version=new_version,
        updated_at=ids.iso(),
    )
    condition = (
        SettingsItem.pk.does_not_exist()
        if expected_version == 0
        else SettingsItem.version == expected_version
    )
    if not save_if(item, condition):
        raise PreconditionFailed(
            f"The settings changed on another device since version {expected_version}: "
            "GET them again and retry with the new ETag."
        )
    return new_version


# --- provider profiles ----------------------------------------------------------------


def get_provider(user_id: str) -> ProviderItem | None:
    """1 GetItem."""
    return get_or_none(ProviderItem, keys.user(user_id), keys.PROVIDER)


def save_provider(item: ProviderItem, expected_version: int) -> ProviderItem:
    """Write a provider profile if nobody changed it meanwhile. 1 conditional PutItem."""
    condition = (
        ProviderItem.pk.does_not_exist()
        if expected_version == 0
        else ProviderItem.version == expected_version
    )
    item.version = expected_version + 1
    item.updated_at = ids.iso()
    for name, value in counters.refreshed(item).items():  # the entries are rewritten anyway
        setattr(item, name, value)
    if not save_if(item, condition):
        raise Conflict("The provider profile changed meanwhile: retry.")
    return item


def live_position(item: ProviderItem) -> tuple[float, float] | None:
    """A provider's last known position: the last report, else the indexed one."""
    if item.live_lat is not None and item.live_lng is not None:
        return float(item.live_lat), float(item.live_lng)
    if item.lat is not None and item.lng is not None:
        return float(item.lat), float(item.lng)
    return None


def set_availability(
    user_id: str, *, online: bool, lat: float | None, lng: float | None
) -> ProviderItem:
    """Go online (indexed at (lat, lng), or the last known position, in the sparse geo
    index: ``keys.geo_index``) or offline (removed from it); a change of state moves the
    operators' online gauge in the same transaction (``store/metrics.py``). A report that
    stays online within ``geo.REINDEX_KM`` of the indexed position writes only the live
    position (``live_lat``/``live_lng``, not projected): no geo index entry is written. A
    re-index also makes the ranking counters' indexed copy exact (``store/counters.py``).
    1 GetItem + 1 UpdateItem (no change of state) or 1 TransactWriteItems (a change); again
    when a concurrent change came first."""
    for _ in range(5):
        current = get_or_none(ProviderItem, keys.user(user_id), keys.PROVIDER, consistent=True)
        if current is None:
            raise NotFound("No provider profile yet: PUT /me/provider first.")
        reported = (lat, lng) if lat is not None and lng is not None else None
        where = reported or live_position(current)
        if online and where is None:
            raise Invalid("location: required to go online.")
        changes: dict[str, Any] = {"online": 1 if online else 0, "updated_at": ids.iso()}
        if reported:
            changes |= {"live_lat": reported[0], "live_lng": reported[1]}
        indexed_at = (current.lat, current.lng)
        stays = (
            online
            and bool(current.online)
            and current.gsi3pk is not None
            and indexed_at[0] is not None
            and indexed_at[1] is not None
            and where is not None
            and not geo.leaves_cell((float(indexed_at[0]), float(indexed_at[1])), where)
        )
        if stays:  # nothing the geo indexes hold (``models.GEO_ATTRIBUTES``, their keys)
            del changes["online"]
        else:
            if where is not None:
                changes |= {"lat": where[0], "lng": where[1]}
            indexed = keys.geo_index(where[0], where[1], user_id) if online and where else {}
            changes |= {n: indexed.get(n) for n in keys.GEO_INDEX_ATTRIBUTES}
            if indexed:  # the entries are rewritten anyway: the ranking copy made exact
                changes |= counters.refreshed(current)
        actions: list[Any] = [
            getattr(ProviderItem, n).remove() if v is None else getattr(ProviderItem, n).set(v)
            for n, v in changes.items()
        ]
        if bool(current.online) == online:
            condition = ProviderItem.online == current.online
            if stays:  # nobody re-indexed meanwhile: the live position stays within the cell
                condition &= (ProviderItem.lat == current.lat) & (ProviderItem.lng == current.lng)
            item = ProviderItem(keys.user(user_id), keys.PROVIDER)
            if not update_if(item, actions, condition):
                continue
            return item
        if metrics.set_online(user_id, online, actions, was=int(current.online)):
            for name, value in changes.items():
                setattr(current, name, value)
            return current
    raise Conflict("The provider's availability changed meanwhile: retry.")


# --- categories -----------------------------------------------------------------------

_CATALOG_TTL_S = 60.0


def categories() -> list[dict[str, Any]]:
    """The category catalog: one item, cached per container for a minute.
    1 GetItem per container per minute, 0 otherwise."""
    rt = runtime.get()
    loaded_at, cached = rt.catalog
    if cached and time.monotonic() - loaded_at < _CATALOG_TTL_S:
        return cached
    item = get_or_none(CatalogItem, *keys.CATALOG)
    found = list(item.categories or []) if item else []
    rt.catalog = (time.monotonic(), found)
    return found


def put_categories(items: list[dict[str, Any]]) -> None:
    """Replace the catalog (seeding/admin). 1 PutItem."""
    CatalogItem(*keys.CATALOG, categories=items, updated_at=ids.iso()).save()
    runtime.get().catalog = (0.0, [])
