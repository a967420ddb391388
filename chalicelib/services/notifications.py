"""The marketplace's events as users receive them, and the notification feed.

Every marketplace change tells its users through exactly one of :data:`EVENT_TYPES`:
:func:`describe` turns the events the aggregates collected into
:class:`~chalicelib.services.events.Event` s (with the views of
:mod:`~chalicelib.services.views`); the unit of work writes their feed entries in the
change's own transaction and, once it committed, hands them to the sinks with
:func:`publish` (live delivery and push: 1 BatchGetItem for all of a change's events).
The feed sink (:func:`record`) writes the entries of events that were not written with
their change. ``GET /notifications`` (:func:`feed`) is how any device catches up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, get_args

from pydantic import BaseModel

from chalicelib.auth import Principal
from chalicelib.domain.job import Job, JobChanged
from chalicelib.domain.market import (
    OffersClosed,
    OffersMade,
    QuoteSubmitted,
    RequestChanged,
)
from chalicelib.domain.request import ServiceRequest
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import NotificationOut
from chalicelib.schemas.realtime import OfferWithdrawnData
from chalicelib.services import events, views
from chalicelib.store import marketplace as store

EventType = Literal["offer.new", "offer.withdrawn", "request.updated", "quote.new", "job.updated"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)


def event(
    type_: EventType,
    recipients: Sequence[str],
    data: BaseModel | dict[str, Any],
    actor: str | None = None,
) -> events.Event:
    """One marketplace event (``actor``: who caused it; they get it live, not pushed)."""
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
    to = tuple(dict.fromkeys(r for r in recipients if r))
    return events.Event(type=type_, recipients=to, data=payload, actor=actor, recorded=True)


def describe(aggregates: Sequence[ServiceRequest | Job]) -> list[events.Event]:
    """The events of these saved aggregates, in order, as users receive them."""
    out: list[events.Event] = []
    for aggregate in aggregates:
        if isinstance(aggregate, Job):
            out += [_job_updated(e) for e in aggregate.events]
            continue
        request = aggregate
        for happened in request.events:
            if isinstance(happened, OffersMade):
                for pid in happened.providers:
                    offer = request.offers[pid]
                    listing = request.listing(pid, offer.created_at or request.created_at)
                    out.append(event("offer.new", (pid,), views.offer_out(listing)))
            elif isinstance(happened, OffersClosed):
                data = OfferWithdrawnData(
                    offer_id=request.id,
                    request_id=request.id,
                    status=happened.status.value,
                    reason=happened.code,
                )
                out.append(event("offer.withdrawn", happened.providers, data))
            elif isinstance(happened, RequestChanged):
                view = views.request_out(request, None)
                out.append(event("request.updated", (request.customer_id,), view, happened.actor))
            elif isinstance(happened, QuoteSubmitted):
                quote = views.quote_out(happened.quote)
                out.append(event("quote.new", (request.customer_id,), quote))
    return [e for e in out if e.recipients]


def _job_updated(happened: JobChanged) -> events.Event:
    job = happened.job
    recipients = (job.customer_id, job.provider_id)
    return event("job.updated", recipients, views.job_event(job), happened.actor)


def publish(committed: Sequence[tuple[store.Notice, bool]]) -> None:
    """Hand a committed change's events to the sinks together, in order; an event whose
    feed entries were not written with it goes out unrecorded (the feed sink writes them)."""
    batch: list[events.Event] = []
    for notice, written in committed:
        assert isinstance(notice, events.Event)
        batch.append(notice if written else replace(notice, recorded=False))
    events.publish_many(batch)


def record(batch: Sequence[events.Event]) -> None:
    """The feed sink: the entries of each event not yet in the feed. 1 BatchWriteItem per
    25 entries (none for a marketplace change that fit in its transaction)."""
    entries = [e for event in batch if not event.recorded for e in store.feed_entries(event)]
    if entries:
        store.save_feed(entries)


def feed(principal: Principal, query: PageQuery) -> Page[NotificationOut]:
    """``GET /notifications``: the caller's feed, newest first."""
    items, cursor = store.feed(principal.user_id, query.limit, query.cursor)
    return Page[NotificationOut](
        items=[
            NotificationOut(id=i.event_id, type=i.type, at=i.at, data=dict(i.data or {}))
            for i in items
        ],
        cursor=cursor,
    )
