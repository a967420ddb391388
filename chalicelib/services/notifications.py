"""The marketplace's typed events and the notification feed.

Every marketplace state change goes out through :func:`emit` as exactly one of
:data:`EVENT_TYPES`, over the single publishing port (:mod:`chalicelib.services.events`).
The feed sink (:func:`record`, registered in ``app.py``) keeps one entry per recipient, so
any device catches up with ``GET /notifications?cursor=``; live delivery and push are other
sinks of the same port.

Cost: the feed entries of one state change are written together: services wrap their
``emit`` calls in :func:`batched`, so a change that tells three people costs one
BatchWriteItem (per 25 entries), not three.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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

_local = threading.local()


def emit(type_: EventType, recipients: Iterable[str], data: BaseModel | dict[str, Any]) -> None:
    """Publish one marketplace event to ``recipients`` (duplicates and blanks dropped)."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"not a marketplace event type: {type_}")
    to = tuple(dict.fromkeys(r for r in recipients if r))
    if not to:
        return
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    events.publish(events.Event(type=type_, recipients=to, data=payload))


@contextmanager
def batched() -> Iterator[None]:
    """Collect the feed entries recorded inside the block and write them in one
    BatchWriteItem at its end (nested blocks join the outer one)."""
    if getattr(_local, "buffer", None) is not None:
        yield
        return
    _local.buffer = []
    try:
        yield
    finally:
        pending: list[store.NotificationItem] = _local.buffer
        _local.buffer = None
        if pending:
            try:
                store.save_notifications(pending)
            except Exception:  # a failing sink never undoes the state change
                log.exception("could not write %d feed entries", len(pending))


def record(event: events.Event) -> None:
    """The feed sink: one entry per recipient (skipped for ``feed=False`` events).
    1 BatchWriteItem per 25 recipients, or none inside :func:`batched`."""
    if not event.feed:
        return
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
        for user_id in dict.fromkeys(event.recipients)
    ]
    buffer = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.extend(items)
        return
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
