"""Push devices: one SNS platform endpoint per (platform, token), owned by one user.

| pattern                                | key condition                                | index |
|----------------------------------------|----------------------------------------------|-------|
| a user's devices                       | pk=USER#<uid>, sk begins_with DEVICE#        | table |
| one device of a user                   | pk=USER#<uid>, sk=DEVICE#<id>                | table |
| who holds a push token (one per token) | pk=TOKEN#<platform>#<sha256(token)>, sk=TOKEN| table |
| every device owner (announcements)     | gsi1pk=DEVICES#<00..15> (shard of user id)   | gsi1  |
| muted types of many users (push)       | pk=USER#<uid>, sk=SETTINGS (BatchGetItem)    | table |
| announcement already sent? (SNS retry) | pk=ANNOUNCEMENT#<sns message id>, sk=META    | table |

The token item makes "the same token twice is one device" a conditional write, and moving
a token to another account (a phone signed in with another user) one transaction: the old
owner's device row goes, the new owner's comes, the token item flips owner. The raw token
is never stored (only its SHA-256; SNS holds the token on the endpoint).

DynamoDB cost per function is in its docstring.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity, SettingsItem


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


class AnnouncementItem(Entity, discriminator="announcement"):
    """pk=ANNOUNCEMENT#<SNS message id>: claimed while sending, ``done`` once sent."""

    status = UnicodeAttribute()
    lease_until = NumberAttribute()


class Moved(Exception):
    """The token changed hands (or was registered) concurrently: read it again."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shard_of(user_id: str) -> int:
    return int(hashlib.sha256(user_id.encode()).hexdigest()[:8], 16) % keys.DEVICE_SHARDS


def _tx() -> TransactWrite:
    return TransactWrite(connection=Connection(region=Entity.Meta.region))


def get_token(platform: str, token_sha256: str) -> DeviceTokenItem | None:
    """1 GetItem."""
    try:
        return DeviceTokenItem.get(keys.device_token(platform, token_sha256), keys.TOKEN)
    except DoesNotExist:
        return None


def get_device(user_id: str, device_id: str) -> DeviceItem | None:
    """1 GetItem."""
    try:
        return DeviceItem.get(keys.user(user_id), keys.device(device_id))
    except DoesNotExist:
        return None


def list_devices(user_id: str) -> list[DeviceItem]:
    """A user's devices (a handful). 1 Query."""
    return list(DeviceItem.query(keys.user(user_id), DeviceItem.sk.startswith(keys.device(""))))


def _device(
    user_id: str, device_id: str, platform: str, token_sha256: str, endpoint_arn: str, now: str
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
    try:
        with _tx() as tx:
            if previous is None:
                tx.save(token_item, condition=DeviceTokenItem.pk.does_not_exist())
            else:
                tx.save(token_item, condition=DeviceTokenItem.device_id == previous.device_id)
                tx.delete(DeviceItem(keys.user(previous.user_id), keys.device(previous.device_id)))
            tx.save(device, condition=DeviceItem.pk.does_not_exist())
    except TransactWriteError as exc:
        raise Moved(str(exc)) from exc
    return device


def remove(user_id: str, device_id: str, platform: str, token_sha256: str) -> bool:
    """Delete a device and, if it still points at this device, its token item; True when
    the token item went too (the endpoint is then nobody's). 1 TransactWriteItems (+1
    DeleteItem for the device alone when the token had moved on)."""
    device = DeviceItem(keys.user(user_id), keys.device(device_id))
    token = DeviceTokenItem(keys.device_token(platform, token_sha256), keys.TOKEN)
    try:
        with _tx() as tx:
            tx.delete(device)
            tx.delete(token, condition=DeviceTokenItem.device_id == device_id)
    except TransactWriteError:
        device.delete()
        return False
    return True


def device_owners() -> Iterator[str]:
    """Every user with at least one device, each once per shard walk: 16 paginated Queries
    on gsi1 (1 call per shard per 1 MB page). Cost grows with the number of devices, which
    is what an announcement to everyone costs anyway."""
    for shard in range(keys.DEVICE_SHARDS):
        last = ""
        for item in DeviceItem.gsi1.query(
            keys.device_shard(shard), attributes_to_get=["kind", "gsi1sk"]
        ):
            owner = str(item.gsi1sk).split("#", 1)[0]
            if owner != last:  # sorted by owner: one yield per user
                yield owner
                last = owner


def muted_types(user_ids: Iterable[str]) -> dict[str, set[str]]:
    """Each user's muted event types (``settings.notifications.muted``; users who never
    saved settings mute nothing). 1 BatchGetItem per 100 users."""
    wanted = [(keys.user(u), keys.SETTINGS) for u in dict.fromkeys(user_ids)]
    out: dict[str, set[str]] = {}
    for item in SettingsItem.batch_get(wanted):
        notifications = (item.data or {}).get("notifications") or {}
        out[str(item.pk).removeprefix(keys.user(""))] = set(notifications.get("muted") or [])
    return out


def claim_announcement(message_id: str, lease_s: int) -> bool:
    """Claim an announcement for sending: False when it was sent already, or another
    delivery is sending it and its lease has not run out. 1 conditional PutItem."""
    now = int(time.time())
    item = AnnouncementItem(
        keys.announcement(message_id),
        keys.META,
        status="sending",
        lease_until=now + lease_s,
        ttl=now + 7 * 24 * 3600,
        created_at=ids.iso(),
    )
    condition = AnnouncementItem.pk.does_not_exist() | (
        (AnnouncementItem.status == "sending") & (AnnouncementItem.lease_until < now)
    )
    try:
        item.save(condition=condition)
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def finish_announcement(message_id: str) -> None:
    """1 UpdateItem."""
    AnnouncementItem(keys.announcement(message_id), keys.META).update(
        actions=[AnnouncementItem.status.set("done"), AnnouncementItem.updated_at.set(ids.iso())]
    )


def release_announcement(message_id: str) -> None:
    """Drop a claim after a failure, so a retry sends. 1 DeleteItem."""
    AnnouncementItem(keys.announcement(message_id), keys.META).delete()
