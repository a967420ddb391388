"""The marketplace's typed events and the notification feed.

Every marketplace state change goes out through :func:`emit` as exactly one of
:data:`EVENT_TYPES`, over the single publishing port (:mod:`chalicelib.services.events`).
The feed sink (:func:`record`, registered in ``app.py``) keeps one entry per recipient, so
any device catches up with ``GET /notifications?cursor=``; live delivery and push are other
sinks of the same port.

Cost: services wrap the ``emit`` calls of one state change in :func:`batched`, so its
events reach the sinks together. Delivering the events of one change ("its events" in the
services' cost lines) costs **2 calls**, however many events and recipients, online or
not: 1 BatchWriteItem (the feed, per 25 entries) + 1 BatchGetItem (per 100 keys) of every
recipient's sockets and, in the same request, the settings and push devices of those push
could reach (not the actor; push types only), so an offline recipient costs no more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, get_args

from pydantic import BaseModel

from chalicelib.auth import Principal
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import NotificationOut
from chalicelib.services import events
from chalicelib.store import keys, pagination
from chalicelib.store import marketplace as store

log = logging.getLogger("summon.notifications")

EventType = Literal["offer.new", "offer.withdrawn", "request.updated", "quote.new", "job.updated"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def emit(
    type_: EventType,
    recipients: Iterable[str],
    data: BaseModel | dict[str, Any],
    actor: str | None = None,
) -> None:
    """Publish one marketplace event to ``recipients`` (duplicates and blanks dropped);
    ``actor``, the user whose request caused it, gets it in the feed and live, not as a
    push."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"not a marketplace event type: {type_}")
    to = tuple(dict.fromkeys(r for r in recipients if r))
    if not to:
        return
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    events.publish(events.Event(type=type_, recipients=to, data=payload, actor=actor))


def batched() -> AbstractContextManager[None]:
    """Hand the events emitted inside the block to the sinks together at its end
    (:func:`chalicelib.services.events.batched`): one BatchWriteItem of feed entries, one
    BatchGetItem of the recipients' sockets, one of the offline ones' settings and devices,
    for the whole change."""
    return events.batched()


def record(batch: Sequence[events.Event]) -> None:
    """The feed sink: one entry per recipient of each event (``feed=False`` events are
    skipped). 1 BatchWriteItem per 25 entries, for all the events of one change."""
    items = [
        store.NotificationItem(
            keys.user(user_id),
            keys.note(event.id),
            event_id=event.id,
            type=event.type,
            at=event.at,
            data=event.data,
            created_at=event.at,
        )
        for event in batch
        if event.feed
        for user_id in dict.fromkeys(event.recipients)
    ]
    if items:
        store.save_notifications(items)


def feed(principal: Principal, query: PageQuery) -> Page[NotificationOut]:
    """GET /notifications — 1 Query (newest first)."""
    uid = principal.user_id
    start = pagination.decode(query.cursor, hash_key="pk", hash_value=keys.user(uid))
    items, last = store.notifications(uid, query.limit, start)
    return Page[NotificationOut](
        items=[
            NotificationOut(id=i.event_id, type=i.type, at=i.at, data=dict(i.data or {}))
            for i in items
        ],
        cursor=pagination.encode(last),
    )
