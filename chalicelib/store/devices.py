"""Push devices: one SNS platform endpoint per (platform, token), owned by one user.

| pattern                                | key condition                                | index |
|----------------------------------------|----------------------------------------------|-------|
| a user's devices                       | pk=USER#<uid>, sk begins_with DEVICE#        | table |
| one device of a user                   | pk=USER#<uid>, sk=DEVICE#<id>                | table |
| who holds a push token (one per token) | pk=TOKEN#<platform>#<sha256(token)>, sk=TOKEN| table |
| device owners, a page of one shard     | gsi1pk=DEVICES#<00..15> (shard of user id)   | gsi1  |
| a user's push endpoints (one item)     | pk=USER#<uid>, sk=PUSH                       | table |
| settings + push endpoints of many users| BatchGetItem of USER#<uid>/SETTINGS and /PUSH | table |
| roles (+ has devices?) of many users   | BatchGetItem of USER#<uid>/PROFILE (and /PUSH)| table |
| announcement page already sent?        | pk=ANNOUNCEMENT#<id>#<part>, sk=PAGE#<n>     | table |

The token item makes "the same token twice is one device" a conditional write, and moving
a token to another account (a phone signed in with another user) one transaction: the old
owner's device row goes, the new owner's comes, the token item flips owner. The raw token
is never stored (only its SHA-256; SNS holds the token on the endpoint).

Push reads, for every offline recipient of a change at once, the user's settings (muted
types) and the user's ``PUSH`` item: a string set of ``"<device_id> <platform> <sha256>
<endpoint_arn>"``, one element per device, kept by the same transactions that add and
remove the device rows (atomic ``ADD``/``DELETE`` on the set). So reaching any number of
offline users is one BatchGetItem per 50 users, not a Query per user -- and none at all
for the events of a change: the live sink reads these items in the BatchGetItem of the
recipients' sockets (:func:`push_profile_keys`) and push takes them from there.

DynamoDB cost per function is in its docstring.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import (
    Entity,
    SettingsItem,
    UserItem,
    get_or_none,
    save_if,
    transaction,
)


class DeviceItem(Entity, discriminator="device"):
    """pk=USER#<uid>, sk=DEVICE#<id>; gsi1 = DEVICES#<shard> / <uid>#<id>."""

    device_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    token_sha256 = UnicodeAttribute()
    endpoint_arn = UnicodeAttribute()


class DeviceTokenItem(Entity, discriminator="device_token"):
    """pk=TOKEN#<platform>#<sha256>, sk=TOKEN: who holds this token now."""

    user_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    endpoint_arn = UnicodeAttribute()


class PushTargetsItem(Entity, discriminator="push_targets"):
    """pk=USER#<uid>, sk=PUSH: the push endpoints of all the user's devices."""

    targets = UnicodeSetAttribute(null=True)
    """``"<device_id> <platform> <token_sha256> <endpoint_arn>"`` per device."""


@dataclass(frozen=True)
class PushProfile:
    """What push needs to know about one user: muted event types and devices."""

    muted: frozenset[str]
    devices: tuple[DeviceItem, ...]


class AnnouncementItem(Entity, discriminator="announcement"):
    """pk=ANNOUNCEMENT#<SNS message id>#<part>, sk=PAGE#<n>: one page of an announcement's
    fan-out, claimed while sending, ``done`` once sent (``services/announcements.py``)."""

    status = UnicodeAttribute()
    lease_until = NumberAttribute()


class Moved(Exception):
    """The token changed hands (or was registered) concurrently: read it again."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shard_of(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % keys.DEVICE_SHARDS


def target_element(device_id: str, platform: str, token_sha256: str, endpoint_arn: str) -> str:
    """A device's element of its owner's ``PushTargetsItem.targets``."""
    return f"{device_id} {platform} {token_sha256} {endpoint_arn}"


def _target_device(user_id: str, element: str) -> DeviceItem | None:
    parts = element.split(" ", 3)
    if len(parts) != 4:
        return None
    device_id, platform, token_sha256, endpoint_arn = parts
    return _device(user_id, device_id, platform, token_sha256, endpoint_arn)


def _push_targets(user_id: str) -> PushTargetsItem:
    return PushTargetsItem(keys.user(user_id), keys.PUSH)


def _add_target(tx: TransactWrite, user_id: str, element: str, now: str) -> None:
    tx.update(
        _push_targets(user_id),
        actions=[
            PushTargetsItem.targets.add({element}),
            PushTargetsItem.kind.set(PushTargetsItem),
            PushTargetsItem.updated_at.set(now),
        ],
    )


def _remove_target(user_id: str, element: str, tx: TransactWrite | None = None) -> None:
    """DELETE from the set (1 UpdateItem, or one more item of ``tx``)."""
    actions: list[Action] = [
        PushTargetsItem.targets.delete({element}),
        PushTargetsItem.kind.set(PushTargetsItem),
        PushTargetsItem.updated_at.set(ids.iso()),
    ]
    if tx is None:
        _push_targets(user_id).update(actions=actions)
    else:
        tx.update(_push_targets(user_id), actions=actions)


def get_token(platform: str, token_sha256: str) -> DeviceTokenItem | None:
    """1 GetItem."""
    return get_or_none(DeviceTokenItem, keys.device_token(platform, token_sha256), keys.TOKEN)


def get_device(user_id: str, device_id: str) -> DeviceItem | None:
    """1 GetItem."""
    return get_or_none(DeviceItem, keys.user(user_id), keys.device(device_id))


def list_devices(user_id: str) -> list[DeviceItem]:
    """A user's devices (a handful). 1 Query."""
    return list(DeviceItem.query(keys.user(user_id), DeviceItem.sk.startswith(keys.device(""))))


def _device(
    user_id: str,
    device_id: str,
    platform: str,
    token_sha256: str,
    endpoint_arn: str,
    now: str | None = None,
) -> DeviceItem:
    return DeviceItem(
        keys.user(user_id),
        keys.device(device_id),
        device_id=device_id,
        user_id=user_id,
        platform=platform,
        token_sha256=token_sha256,
        endpoint_arn=endpoint_arn,
        gsi1pk=keys.device_shard(shard_of(user_id)),
        gsi1sk=keys.device_owner_sort(user_id, device_id),
        created_at=now,
        updated_at=now,
    )


def add(
    user_id: str,
    platform: str,
    token_sha256: str,
    endpoint_arn: str,
    previous: DeviceTokenItem | None,
) -> DeviceItem:
    """Register the token for ``user_id``: a new device, or the token moved from
    ``previous``'s owner (their device row is removed in the same transaction).
    1 TransactWriteItems (2 items, 3 when moving). Raises :class:`Moved` when someone else
    registered or moved the token meanwhile."""
    device_id = ids.new_id()
    now = ids.iso()
    token_item = DeviceTokenItem(
        keys.device_token(platform, token_sha256),
        keys.TOKEN,
        user_id=user_id,
        device_id=device_id,
        endpoint_arn=endpoint_arn,
        created_at=now,
        updated_at=now,
    )
    device = _device(user_id, device_id, platform, token_sha256, endpoint_arn, now)
    element = target_element(device_id, platform, token_sha256, endpoint_arn)
    previous_element = (
        None
        if previous is None
        else target_element(previous.device_id, platform, token_sha256, previous.endpoint_arn)
    )
    try:
        with transaction() as tx:
            if previous is None:
                tx.save(token_item, condition=DeviceTokenItem.pk.does_not_exist())
            else:
                tx.save(token_item, condition=DeviceTokenItem.device_id == previous.device_id)
                tx.delete(DeviceItem(keys.user(previous.user_id), keys.device(previous.device_id)))
                if previous.user_id != user_id and previous_element is not None:
                    _remove_target(previous.user_id, previous_element, tx)
            tx.save(device, condition=DeviceItem.pk.does_not_exist())
            _add_target(tx, user_id, element, now)
    except TransactWriteError as exc:
        raise Moved(str(exc)) from exc
    if previous is not None and previous.user_id == user_id and previous_element is not None:
        # the same user's token on a new endpoint: one item can't be updated twice in one
        # transaction, so the old element goes right after (+1 UpdateItem, rare)
        _remove_target(user_id, previous_element)
    return device


def remove(
    user_id: str, device_id: str, platform: str, token_sha256: str, endpoint_arn: str
) -> bool:
    """Delete a device (its row and its push target) and, if it still points at this
    device, its token item; True when the token item went too (the endpoint is then
    nobody's). 1 TransactWriteItems (+1 TransactWriteItems for the device alone when the
    token had moved on)."""
    device = DeviceItem(keys.user(user_id), keys.device(device_id))
    token = DeviceTokenItem(keys.device_token(platform, token_sha256), keys.TOKEN)
    element = target_element(device_id, platform, token_sha256, endpoint_arn)
    try:
        with transaction() as tx:
            tx.delete(device)
            tx.delete(token, condition=DeviceTokenItem.device_id == device_id)
            _remove_target(user_id, element, tx)
    except TransactWriteError:
        with transaction() as tx:
            tx.delete(device)
            _remove_target(user_id, element, tx)
        return False
    return True


def owner_page(
    shard: int, limit: int, cursor: dict[str, Any] | None = None, skip: str | None = None
) -> tuple[list[str], dict[str, Any] | None, str | None]:
    """One page of one device shard (``DEVICES#<shard>`` on gsi1, sorted by owner): the
    owners of its ``limit`` devices, once each, leaving out ``skip`` (the previous page's
    last owner, whose devices may go on into this page); the key to go on from (None on the
    last page) and this page's last owner. 1 Query (keys only)."""
    results = DeviceItem.gsi1.query(
        keys.device_shard(shard),
        limit=limit,
        page_size=limit,
        last_evaluated_key=cursor,
        attributes_to_get=["kind", "gsi1sk"],
    )
    owners: dict[str, None] = {}
    last = skip
    for item in results:
        last = str(item.gsi1sk).split("#", 1)[0]
        if last != skip:
            owners[last] = None
    return list(owners), results.last_evaluated_key, last


def push_profile_keys(user_ids: Iterable[str]) -> list[tuple[str, str]]:
    """The items :func:`push_profiles` reads for these users (their SETTINGS and PUSH), for
    a caller that reads them in its own BatchGetItem (the live sink). No I/O."""
    return [
        (keys.user(u), sk) for u in dict.fromkeys(user_ids) for sk in (keys.SETTINGS, keys.PUSH)
    ]


def push_profiles(
    user_ids: Iterable[str], known: Mapping[tuple[str, str], object] | None = None
) -> dict[str, PushProfile]:
    """Each user's muted event types (``settings.notifications.muted``; users who never
    saved settings mute nothing) and push devices, for every user asked. ``known``: items
    already read (key -> item, or None for none), e.g. by the live sink's look-up of
    sockets. 1 BatchGetItem per 50 users whose items are not all known (0 when all are)."""
    wanted = list(dict.fromkeys(user_ids))
    known = known or {}
    needed = push_profile_keys(wanted)
    items = [known[k] for k in needed if k in known and known[k] is not None]
    request = [k for k in needed if k not in known]
    items.extend(Entity.batch_get(request) if request else ())
    muted: dict[str, frozenset[str]] = {}
    found: dict[str, tuple[DeviceItem, ...]] = {}
    for item in items:
        if isinstance(item, SettingsItem):
            user_id = str(item.pk).removeprefix(keys.user(""))
            notifications = (item.data or {}).get("notifications") or {}
            muted[user_id] = frozenset(notifications.get("muted") or [])
        elif isinstance(item, PushTargetsItem):
            user_id = str(item.pk).removeprefix(keys.user(""))
            targets = (_target_device(user_id, e) for e in sorted(item.targets or ()))
            found[user_id] = tuple(d for d in targets if d is not None)
    return {u: PushProfile(muted.get(u, frozenset()), found.get(u, ())) for u in wanted}


def claim_page(announcement_id: str, part: str, page: int, lease_s: int) -> bool:
    """Claim one page of an announcement for sending: False when it was sent already, or
    another delivery is sending it and its lease has not run out. 1 conditional PutItem."""
    now = int(time.time())
    item = AnnouncementItem(
        keys.announcement(announcement_id, part),
        keys.announcement_page(page),
        status="sending",
        lease_until=now + lease_s,
        ttl=now + 7 * 24 * 3600,
        created_at=ids.iso(),
    )
    condition = AnnouncementItem.pk.does_not_exist() | (
        (AnnouncementItem.status == "sending") & (AnnouncementItem.lease_until < now)
    )
    return save_if(item, condition)


def _page(announcement_id: str, part: str, page: int) -> AnnouncementItem:
    return AnnouncementItem(keys.announcement(announcement_id, part), keys.announcement_page(page))


def finish_page(announcement_id: str, part: str, page: int) -> None:
    """1 UpdateItem."""
    _page(announcement_id, part, page).update(
        actions=[AnnouncementItem.status.set("done"), AnnouncementItem.updated_at.set(ids.iso())]
    )


def release_page(announcement_id: str, part: str, page: int) -> None:
    """Drop a claim after a failure, so SQS's redelivery sends. 1 DeleteItem."""
    _page(announcement_id, part, page).delete()


def audience_profiles(
    user_ids: Iterable[str], *, devices: bool
) -> dict[str, tuple[frozenset[str], bool]]:
    """Each user's roles (their profile's, kept by ``POST /me/roles`` and ``GET /me``;
    none without a profile) and, with ``devices``, whether they have a push device: one
    BatchGetItem per 100 users (50 with ``devices``)."""
    wanted = list(dict.fromkeys(user_ids))
    sks = (keys.PROFILE, keys.PUSH) if devices else (keys.PROFILE,)
    request = [(keys.user(u), sk) for u in wanted for sk in sks]
    roles: dict[str, frozenset[str]] = {}
    pushable: set[str] = set()
    for item in Entity.batch_get(request) if request else ():
        user_id = str(item.pk).removeprefix(keys.user(""))
        if isinstance(item, UserItem):
            roles[user_id] = frozenset(item.roles or ())
        elif isinstance(item, PushTargetsItem) and item.targets:
            pushable.add(user_id)
    return {u: (roles.get(u, frozenset()), u in pushable) for u in wanted}
