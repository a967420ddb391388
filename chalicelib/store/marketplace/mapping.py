"""Items to domain objects and back (keys, index attributes and stored forms stay here).

A domain field is stored in the item attribute of the same name: datetimes as ISO 8601
text (``ids.iso``), enums as their value, decimals as text, an empty list or mapping may be
absent; :func:`load` reads them back by the field's type. A time window is stored as its
two ends (``window_start``, ``window_end``). What else is stored differently (ids, a
request's offers, a job's price) is given to :func:`load` and :func:`dump` explicitly.
"""

from __future__ import annotations

import types
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from chalicelib import ids
from chalicelib.domain import geo
from chalicelib.domain.job import Job, Review
from chalicelib.domain.jobs import Actor
from chalicelib.domain.market import Offer, OfferListing, OfferStatus, Quote
from chalicelib.domain.request import ServiceRequest
from chalicelib.store import keys
from chalicelib.store.marketplace.items import (
    JobItem,
    OfferItem,
    QuoteItem,
    RequestItem,
    ReviewItem,
    Terms,
)
from chalicelib.store.models import Entity

D = TypeVar("D")
I = TypeVar("I", bound=Entity)  # noqa: E741


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def at(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.fromtimestamp(0, UTC)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _read(hint: Any, raw: Any) -> Any:
    """A stored attribute as the domain field typed ``hint`` holds it."""
    if raw is None:
        return get_origin(hint)() if get_origin(hint) in (list, dict) else None
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in get_args(hint) if a is not type(None))
    base = get_origin(hint) or hint
    if base is datetime:
        return datetime.fromisoformat(raw)
    if isinstance(base, type) and issubclass(base, Enum | Decimal | float | int):
        return base(raw)
    return raw


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return ids.iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def load(cls: type[D], item: Entity, **given: Any) -> D:
    """The domain object ``cls`` from ``item``: each field from the attribute of its name,
    except those ``given``."""
    hints = _hints(cast(type, cls))
    values = dict(given)
    if isinstance(item, Terms) and "window" in hints:
        values.setdefault("window", _window(item))
    for f in fields(cls):  # type: ignore[arg-type]
        if f.init and f.name not in values and f.name in type(item).get_attributes():
            values[f.name] = _read(hints[f.name], getattr(item, f.name))
    return cls(**values)


def dump(obj: Any, model: type[I], pk: str, sk: str, **given: Any) -> I:
    """The item ``model`` of ``obj``: each attribute from the field of its name, except
    those ``given``."""
    names = model.get_attributes()
    values = {f.name: _stored(getattr(obj, f.name)) for f in fields(obj) if f.name in names}
    if issubclass(model, Terms):
        values |= _window_attrs(obj.window)
    return model(pk, sk, **{**values, **given})


def _window(item: Terms) -> tuple[datetime, datetime] | None:
    start, end = item.window_start, item.window_end
    return (at(start), at(end)) if start and end else None


def _window_attrs(window: tuple[datetime, datetime] | None) -> dict[str, str | None]:
    return {
        "window_start": ids.iso(window[0]) if window else None,
        "window_end": ids.iso(window[1]) if window else None,
    }


def set_due(item: RequestItem | JobItem, due: datetime | None, ref: str) -> None:
    """Arm (or disarm) an item's timer in the sparse due index (gsi2)."""
    if due is None:
        item.due_at = item.gsi2pk = item.gsi2sk = None
        return
    moment = ids.iso(due)
    item.due_at = moment
    item.gsi2pk = keys.due(due.astimezone(UTC).date().isoformat(), ref)
    item.gsi2sk = keys.due_sort(moment, ref)


# --- requests, offers, quotes ------------------------------------------------------------


def request_of(item: RequestItem) -> ServiceRequest:
    offers = {
        pid: Offer(
            provider_id=pid,
            status=OfferStatus(entry["status"]),
            expires_at=at(str(entry["expires_at"])),
            distance_km=float(entry.get("distance_km") or 0.0),
        )
        for pid, entry in (item.offers or {}).items()
    }
    return load(
        ServiceRequest,
        item,
        id=item.request_id,
        offers=offers,
    )


def request_item(request: ServiceRequest) -> RequestItem:
    offers = {
        pid: {
            "id": request.id,
            "status": o.status.value,
            "expires_at": ids.iso(o.expires_at),
            "distance_km": o.distance_km,
        }
        for pid, o in request.offers.items()
    }
    item = dump(
        request,
        RequestItem,
        keys.request(request.id),
        keys.META,
        request_id=request.id,
        offers=offers,
        gsi1pk=keys.customer_requests(request.customer_id),
        gsi1sk=request.id,
    )
    open_ = request.status == "open"
    set_due(item, request.due_at if open_ else None, item.pk)
    if open_:  # on the operators' map while open (keys.open_requests)
        partition, sort = geo.index_key(request.lat, request.lng, request.id)
        item.gsi3pk, item.gsi3sk = keys.open_requests(partition, request.id), sort
    return item


def listing_of(item: OfferItem) -> OfferListing:
    return load(OfferListing, item, reason=item.status_reason)


def offer_item(offer: OfferListing) -> OfferItem:
    return dump(
        offer,
        OfferItem,
        keys.user(offer.provider_id),
        keys.offer(offer.request_id),
        offer_id=offer.request_id,
        status_reason=offer.reason,
        gsi1pk=keys.pending_offers(offer.provider_id),
        gsi1sk=offer.request_id,
        updated_at=ids.iso(offer.created_at),
    )


def quote_of(item: QuoteItem) -> Quote:
    return load(Quote, item, id=item.quote_id)


def quote_item(quote: Quote) -> QuoteItem:
    return dump(
        quote,
        QuoteItem,
        keys.user(quote.customer_id),
        keys.quote(quote.id),
        quote_id=quote.id,
        gsi1pk=keys.request_quotes(quote.request_id),
        gsi1sk=quote.id,
    )


def quote_request_id(quote_id: str) -> str | None:
    """The request id inside a quote id (its first half); None when it is not one."""
    head, tail = quote_id[: len(quote_id) // 2], quote_id[len(quote_id) // 2 :]
    return head if len(quote_id) == 52 and ids.is_id(head) and ids.is_id(tail) else None


# --- jobs and reviews ----------------------------------------------------------------------


def job_of(item: JobItem) -> Job:
    price = item.price or None
    return load(
        Job,
        item,
        id=item.job_id,
        price=(str(price["amount"]), str(price["currency"])) if price else None,
    )


def job_item(job: Job) -> JobItem:
    price = {"amount": job.price[0], "currency": job.price[1]} if job.price else None
    item = dump(
        job,
        JobItem,
        keys.job(job.id),
        keys.META,
        job_id=job.id,
        price=price,
    )
    set_due(item, job.due_at, item.pk)
    return item


def review_of(item: ReviewItem) -> Review:
    return load(Review, item, id=item.review_id)


def published_index(job: Job, side: Actor, moment: datetime) -> dict[str, Any]:
    """The attributes that publish ``side``'s review of ``job`` (gsi1: reviews about the
    subject, newest first)."""
    about = Actor.PROVIDER if side == Actor.CUSTOMER else Actor.CUSTOMER
    stamp = ids.iso(moment)
    return {
        "published_at": stamp,
        "gsi1pk": keys.reviews_about(about.value, job.subject_of(side)),
        "gsi1sk": f"{stamp}#{job.id}",
    }


def review_item(review: Review, job: Job) -> ReviewItem:
    moment = review.published_at
    index = published_index(job, review.side, moment) if moment is not None else {}
    return dump(
        review,
        ReviewItem,
        keys.job(review.job_id),
        keys.review(review.side.value),
        review_id=review.id,
        **index,
    )
