"""The marketplace's typed events and the notification feed.

Every marketplace state change goes out as exactly one of :data:`EVENT_TYPES` over the
single publishing port (:mod:`chalicelib.services.events`), through the outbox: the service
stages each event on the change's :class:`~chalicelib.store.marketplace.Changes`
(:func:`stage`), which writes one feed entry per recipient in the change's own
TransactWriteItems, and once that committed hands the events to the sinks together
(:func:`publish`), flagged ``recorded`` so the feed sink does not write them again. So the
feed holds an entry exactly when its change committed: a cancelled transaction leaves
nothing in the feed and publishes nothing, and a Lambda dying between the commit and the
delivery can no longer lose the feed entry (nothing a user was sent is lost; the feed is
how any device catches up, ``GET /notifications?cursor=``). Live delivery and push are the
other sinks of the port. The feed sink (:func:`record`) writes the entries of events that
did not fit in their change's transaction (its 100 items), after the fact.

Cost of delivering the events of one change ("its events" in the services' cost lines):
**1 call**, however many events and recipients, online or not: 1 BatchGetItem (per 100
keys) of every recipient's sockets and, in the same request, the settings and push devices
of those push could reach (not the actor; push types only), so an offline recipient costs
no more. The feed entries cost no call of their own, but twice the write units of a
BatchWriteItem: 2 per KB of entry instead of 1 (entries are kept under 1 KB: a
``job.updated`` carries a small :class:`~chalicelib.schemas.marketplace.JobEvent`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
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


def _event(
    type_: EventType,
    recipients: Iterable[str],
    data: BaseModel | dict[str, Any],
    actor: str | None,
    recorded: bool,
) -> events.Event | None:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"not a marketplace event type: {type_}")
    to = tuple(dict.fromkeys(r for r in recipients if r))
    if not to:
        return None
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    return events.Event(type=type_, recipients=to, data=payload, actor=actor, recorded=recorded)


def stage(
    changes: store.Changes,
    type_: EventType,
    recipients: Iterable[str],
    data: BaseModel | dict[str, Any],
    actor: str | None = None,
) -> None:
    """Stage one marketplace event of the change ``changes`` holds, to ``recipients``
    (duplicates and blanks dropped): its feed entries go into the change's transaction,
    the event out with :func:`publish` once that committed. ``actor``, the user whose
    request caused it, gets it in the feed and live, not as a push. Stage after the writes
    whose outcome ``data`` shows (``save_request``/``save_job`` set the version and
    ``updated_at``)."""
    event = _event(type_, recipients, data, actor, recorded=True)
    if event is not None:
        changes.notify(event, feed_entries(event))


def publish(changes: store.Changes) -> None:
    """Hand the events staged on ``changes`` (committed: call this after
    :meth:`~chalicelib.store.marketplace.Changes.commit` returned) to the sinks together,
    in the order staged: 1 BatchGetItem (live and push), no feed write. An event whose feed
    entries did not fit in the transaction goes out unrecorded, for the feed sink to
    write (1 BatchWriteItem more)."""
    events.publish_many(
        event if done else replace(event, recorded=False) for event, done in changes.events()
    )


def feed_entries(event: events.Event) -> list[store.NotificationItem]:
    """The feed entries of ``event``: one per recipient (none for ``feed=False``)."""
    if not event.feed:
        return []
    return [
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


def record(batch: Sequence[events.Event]) -> None:
    """The feed sink: the entries of each event not yet in the feed (``recorded`` events
    were written in their change's transaction; ``feed=False`` ones never are).
    1 BatchWriteItem per 25 entries, for all such events of one change; none for the
    marketplace's changes, which all stage their events."""
    items = [item for event in batch if not event.recorded for item in feed_entries(event)]
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
