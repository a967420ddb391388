"""Media records: one per upload, plus one grant per user who may read it besides the owner.

| pattern                                  | key condition                                | index |
|------------------------------------------|----------------------------------------------|-------|
| a media record                           | pk=MEDIA#<id>, sk=META                       | table |
| may this user read it? (record + grant)  | BatchGetItem pk=MEDIA#<id>, sk=META and      | table |
|                                          | sk=VIEWER#<uid>                              |       |
| grants of a media (request/job sharing)  | pk=MEDIA#<id>, sk begins_with VIEWER#        | table |
| a user's media (export, deletion)        | gsi1pk=MEDIAOF#<owner>                       | gsi1  |
| grants a user holds (their data export)  | gsi1pk=VIEWS#<uid>                           | gsi1  |

The S3 key of an original, ``uploads/<owner>/<media id>``, carries both ids, so the
processing handler needs no lookup index. A record's state moves only by conditional
writes on the ``etag`` of the object it was last settled from: a redelivered S3 event
finds the same ETag and changes nothing; an object re-uploaded under the same key (a
presigned POST used twice) has a new ETag and is checked again. Pending records expire
(TTL) a day after the upload was offered; rejected ones a week after.

DynamoDB cost per function is in its docstring.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.expressions.condition import Condition

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity, get_or_none, update_if

PENDING, READY, REJECTED = "pending", "ready", "rejected"
PENDING_TTL_S = 24 * 3600
REJECTED_TTL_S = 7 * 24 * 3600


class MediaItem(Entity, discriminator="media"):
    media_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    content_type = UnicodeAttribute()
    declared_size = NumberAttribute()
    key = UnicodeAttribute()
    status = UnicodeAttribute(default=PENDING)
    reason = UnicodeAttribute(null=True)
    etag = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    width = NumberAttribute(null=True)
    height = NumberAttribute(null=True)
    thumb_key = UnicodeAttribute(null=True)
    clean_key = UnicodeAttribute(null=True)
    """An image's copy without metadata, what everyone but the owner is served."""


class MediaViewerItem(Entity, discriminator="media_viewer"):
    """Grant: ``user_id`` may read the media (a participant of ``ref_type``/``ref_id``)."""

    user_id = UnicodeAttribute()
    ref_type = UnicodeAttribute()
    ref_id = UnicodeAttribute()


def create(
    media_id: str, owner_id: str, purpose: str, content_type: str, size: int, key: str
) -> MediaItem:
    """A pending record. 1 conditional PutItem."""
    now = ids.iso()
    item = MediaItem(
        keys.media(media_id),
        keys.META,
        media_id=media_id,
        owner_id=owner_id,
        purpose=purpose,
        content_type=content_type,
        declared_size=size,
        key=key,
        status=PENDING,
        ttl=int(time.time()) + PENDING_TTL_S,
        created_at=now,
        updated_at=now,
        gsi1pk=keys.owner_media(owner_id),
        gsi1sk=media_id,
    )
    item.save(condition=MediaItem.pk.does_not_exist())
    return item


def get(media_id: str, *, consistent: bool = False) -> MediaItem | None:
    """1 GetItem (``consistent``: strongly consistent, for processing right after create)."""
    return get_or_none(MediaItem, keys.media(media_id), keys.META, consistent=consistent)


def get_with_grant(media_id: str, user_id: str) -> tuple[MediaItem | None, bool]:
    """The record and whether ``user_id`` holds a grant on it. 1 BatchGetItem."""
    found: MediaItem | None = None
    granted = False
    for item in Entity.batch_get(
        [(keys.media(media_id), keys.META), (keys.media(media_id), keys.media_viewer(user_id))]
    ):
        if isinstance(item, MediaItem):
            found = item
        elif isinstance(item, MediaViewerItem):
            granted = True
    return found, granted


def attachable(owner_id: str, purposes: Iterable[str]) -> Condition:
    """The condition under which a media record may be attached by ``owner_id`` (theirs,
    not rejected, uploaded for one of ``purposes``): for a ConditionCheck in the
    transaction that attaches it (pending media may be attached: it becomes readable
    when ready). 0 calls."""
    condition: Condition = (
        (MediaItem.owner_id == owner_id)
        & (MediaItem.status != REJECTED)
        & MediaItem.purpose.is_in(*purposes)
    )
    return condition


def grant_items(
    media_ids: Iterable[str], user_ids: Iterable[str], ref_type: str, ref_id: str
) -> list[MediaViewerItem]:
    """The grants that let ``user_ids`` read ``media_ids`` (to write in a transaction or
    with :func:`grant`). 0 calls."""
    now = ids.iso()
    return [
        MediaViewerItem(
            keys.media(media_id),
            keys.media_viewer(user_id),
            user_id=user_id,
            ref_type=ref_type,
            ref_id=ref_id,
            created_at=now,
            updated_at=now,
            gsi1pk=keys.viewer_grants(user_id),
            gsi1sk=media_id,
        )
        for media_id in dict.fromkeys(media_ids)
        for user_id in dict.fromkeys(user_ids)
    ]


def revoke_items(media_ids: Iterable[str], user_ids: Iterable[str]) -> list[MediaViewerItem]:
    """The grants of ``user_ids`` on ``media_ids``, to delete (in a transaction or with
    :func:`revoke`). 0 calls."""
    return [
        MediaViewerItem(keys.media(media_id), keys.media_viewer(user_id))
        for media_id in dict.fromkeys(media_ids)
        for user_id in dict.fromkeys(user_ids)
    ]


def revoke(grants: Iterable[MediaViewerItem]) -> None:
    """Delete grants (deleting one twice is harmless). 1 BatchWriteItem per 25."""
    with MediaViewerItem.batch_write() as batch:
        for item in grants:
            batch.delete(item)


def get_many(media_ids: Iterable[str]) -> dict[str, MediaItem]:
    """Records by id (missing ones absent). 1 BatchGetItem per 100 ids."""
    wanted = [(keys.media(m), keys.META) for m in dict.fromkeys(media_ids)]
    return {item.media_id: item for item in MediaItem.batch_get(wanted)}


def grant(grants: Iterable[MediaViewerItem]) -> None:
    """Write grants (:func:`grant_items`; writing one twice is harmless).
    1 BatchWriteItem per 25 grants."""
    with MediaViewerItem.batch_write() as batch:
        for item in grants:
            batch.save(item)


def settle(
    media_id: str,
    *,
    from_etag: str | None,
    status: str,
    etag: str,
    reason: str | None = None,
    size: int | None = None,
    width: int | None = None,
    height: int | None = None,
    thumb_key: str | None = None,
    clean_key: str | None = None,
) -> bool:
    """Move the record to ``status`` for the object version ``etag``, only if it is still
    settled from ``from_etag`` (``None``: never settled). False when another delivery got
    there first (or the record expired). 1 conditional UpdateItem."""
    actions: list[Any] = [
        MediaItem.status.set(status),
        MediaItem.etag.set(etag),
        MediaItem.updated_at.set(ids.iso()),
    ]
    for text_attr, text in (
        (MediaItem.reason, reason),
        (MediaItem.thumb_key, thumb_key),
        (MediaItem.clean_key, clean_key),
    ):
        actions.append(text_attr.remove() if text is None else text_attr.set(text))
    for num_attr, num in (
        (MediaItem.size, size),
        (MediaItem.width, width),
        (MediaItem.height, height),
    ):
        actions.append(num_attr.remove() if num is None else num_attr.set(num))
    if status == REJECTED:
        actions.append(MediaItem.ttl.set(int(time.time()) + REJECTED_TTL_S))
    else:
        actions.append(MediaItem.ttl.remove())
    condition = MediaItem.pk.exists() & (
        MediaItem.etag.does_not_exist() if from_etag is None else MediaItem.etag == from_etag
    )
    return update_if(MediaItem(keys.media(media_id), keys.META), actions, condition)
