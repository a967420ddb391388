"""The marketplace's lists, the geo index, the due timers and the feed (reads that decide
nothing). Every list is newest first unless said otherwise, ``limit`` items a page, with
an opaque cursor (400 for a cursor of another list); never a Scan.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from chalicelib import ids, runtime
from chalicelib.domain import geo, ranking
from chalicelib.domain.job import Job, Review
from chalicelib.domain.market import OfferListing, Quote
from chalicelib.domain.request import ServiceRequest
from chalicelib.domain.reviews import RatingSummary
from chalicelib.store import keys
from chalicelib.store.marketplace import mapping
from chalicelib.store.marketplace.changes import feed_expiry
from chalicelib.store.marketplace.items import (
    JobItem,
    JobMemberItem,
    NotificationItem,
    OfferItem,
    QuoteItem,
    RequestItem,
    ReviewItem,
    TimerCursorItem,
)
from chalicelib.store.models import (
    GEO_ATTRIBUTES,
    PROVIDER_KIND,
    Entity,
    get_or_none,
    raw_pages,
    save_if,
)
from chalicelib.store.pagination import paged

Cursor = str | None
E = TypeVar("E", bound=Entity)


def _by_id(model: type[E], pk_of: Callable[[str], str], item_id: str) -> E | None:
    """The META item at ``pk_of(item_id)`` (strongly consistent). 1 GetItem; 0 for an id
    that is not one."""
    if not ids.is_id(item_id):
        return None
    return get_or_none(model, pk_of(item_id), keys.META, consistent=True)


def get_request(request_id: str) -> ServiceRequest | None:
    """A request by id (strongly consistent). 1 GetItem; 0 for an id that is not one."""
    item = _by_id(RequestItem, keys.request, request_id)
    return mapping.request_of(item) if item else None


def get_job(job_id: str) -> Job | None:
    """A job by id (strongly consistent). 1 GetItem; 0 for an id that is not one."""
    item = _by_id(JobItem, keys.job, job_id)
    return mapping.job_of(item) if item else None


def _list(hash_key: str, hash_value: str, limit: int, cursor: Cursor) -> dict[str, Any]:
    return {"hash_key": hash_key, "hash_value": hash_value, "limit": limit, "cursor": cursor}


def customer_requests(
    customer_id: str, limit: int, cursor: Cursor
) -> tuple[list[ServiceRequest], Cursor]:
    """A customer's requests. 1 Query (gsi1)."""
    items, next_cursor = paged(
        RequestItem.gsi1, **_list("gsi1pk", keys.customer_requests(customer_id), limit, cursor)
    )
    return [mapping.request_of(i) for i in items], next_cursor


def offered_requests(
    provider_id: str, limit: int, cursor: Cursor
) -> tuple[list[ServiceRequest], Cursor]:
    """The requests a provider was offered. 1 Query + 1 BatchGetItem."""
    listings, next_cursor = provider_offers(provider_id, limit, cursor)
    wanted = sorted({o.request_id for o in listings})
    found = {
        i.request_id: i
        for i in (
            RequestItem.batch_get([(keys.request(r), keys.META) for r in wanted]) if wanted else []
        )
    }
    return [
        mapping.request_of(found[o.request_id]) for o in listings if o.request_id in found
    ], next_cursor


def provider_offers(
    provider_id: str, limit: int, cursor: Cursor, *, pending_only: bool = False
) -> tuple[list[OfferListing], Cursor]:
    """Every offer a provider had (1 Query), or only the pending ones (1 Query, gsi1)."""
    if pending_only:
        items, next_cursor = paged(
            OfferItem.gsi1, **_list("gsi1pk", keys.pending_offers(provider_id), limit, cursor)
        )
    else:
        items, next_cursor = paged(
            OfferItem,
            condition=OfferItem.sk.startswith(keys.OFFER_PREFIX),
            **_list("pk", keys.user(provider_id), limit, cursor),
        )
    return [mapping.listing_of(i) for i in items], next_cursor


def request_quotes(request_id: str, limit: int, cursor: Cursor) -> tuple[list[Quote], Cursor]:
    """The quotes of a request, oldest first. 1 Query (gsi1)."""
    items, next_cursor = paged(
        QuoteItem.gsi1,
        newest_first=False,
        **_list("gsi1pk", keys.request_quotes(request_id), limit, cursor),
    )
    return [mapping.quote_of(i) for i in items], next_cursor


def quote(customer_id: str, quote_id: str) -> Quote | None:
    """1 GetItem."""
    item = get_or_none(QuoteItem, keys.user(customer_id), keys.quote(quote_id), consistent=True)
    return mapping.quote_of(item) if item else None


def user_jobs(user_id: str, limit: int, cursor: Cursor) -> tuple[list[Job], Cursor]:
    """A participant's jobs. 1 Query + 1 BatchGetItem."""
    members, next_cursor = paged(
        JobMemberItem,
        condition=JobMemberItem.sk.startswith(keys.JOB_PREFIX),
        **_list("pk", keys.user(user_id), limit, cursor),
    )
    if not members:
        return [], next_cursor
    found = {
        j.job_id: j for j in JobItem.batch_get([(keys.job(m.job_id), keys.META) for m in members])
    }
    return [mapping.job_of(found[m.job_id]) for m in members if m.job_id in found], next_cursor


def reviews_about(
    subject_role: str, user_id: str, limit: int, cursor: Cursor
) -> tuple[list[Review], Cursor]:
    """Published reviews about a provider (or customer). 1 Query (gsi1)."""
    items, next_cursor = paged(
        ReviewItem.gsi1, **_list("gsi1pk", keys.reviews_about(subject_role, user_id), limit, cursor)
    )
    return [mapping.review_of(i) for i in items], next_cursor


def feed(user_id: str, limit: int, cursor: Cursor) -> tuple[list[NotificationItem], Cursor]:
    """A user's notification feed. 1 Query."""
    return paged(
        NotificationItem,
        condition=NotificationItem.sk.startswith(keys.NOTE_PREFIX),
        **_list("pk", keys.user(user_id), limit, cursor),
    )


def save_feed(entries: Sequence[NotificationItem]) -> None:
    """Feed entries written after their change (those that did not fit in its
    transaction). 1 BatchWriteItem per 25."""
    expires = feed_expiry()
    with NotificationItem.batch_write() as batch:
        for item in entries:
            item.ttl = expires
            batch.save(item)


# --- geo ------------------------------------------------------------------------------------


GEO_QUERY_THREADS = 4
"""The container's threads for the Queries of one match (started once, then reused)."""


def online_providers_in(
    ranges: Sequence[geo.IndexRange], limit: int | None = None
) -> tuple[list[ranking.ProviderSnapshot], bool]:
    """The online providers in these ranges of the geo indexes (what matching reads of
    them: ``models.GEO_ATTRIBUTES``), at most ``limit`` per range, and whether some range
    held more. 1 Query per range (per 1 MB page), :data:`GEO_QUERY_THREADS` at a time."""

    def one(found: geo.IndexRange) -> tuple[list[ranking.ProviderSnapshot], bool]:
        index = "gsi4" if found.fine else "gsi3"
        pages = raw_pages(
            IndexName=index,
            KeyConditionExpression="#0 = :0 AND #1 BETWEEN :1 AND :2",
            ExpressionAttributeNames={"#0": f"{index}pk", "#1": f"{index}sk", **_GEO_NAMES},
            ExpressionAttributeValues={
                ":0": {"S": keys.geo_partition(found.partition)},
                ":1": {"S": found.lo_key},
                ":2": {"S": found.hi_key + "~"},
            },
            ProjectionExpression=", ".join(_GEO_NAMES),
            **({"Limit": limit} if limit is not None else {}),
        )
        if limit is not None:
            raw, more = next(pages)
        else:
            raw, more = [item for page, _ in pages for item in page], False
        found_here = [provider_snapshot(item) for item in raw]
        return [p for p in found_here if p is not None], more

    answers = list(_geo_pool().map(one, ranges))
    return [p for found, _ in answers for p in found], any(more for _, more in answers)


def _geo_pool() -> ThreadPoolExecutor:
    return runtime.get().memo(
        "geo_query_pool",
        lambda: ThreadPoolExecutor(GEO_QUERY_THREADS, thread_name_prefix="geo-query"),
    )


_GEO_NAMES = {f"#{name}": name for name in ("pk", "sk", *GEO_ATTRIBUTES)}


def provider_snapshot(raw: dict[str, Any]) -> ranking.ProviderSnapshot | None:
    """What matching knows of an online provider, from its geo index entry as DynamoDB
    returns it (``models.GEO_ATTRIBUTES``: read without building a PynamoDB item, most of
    a dense match's time); None for an entry that is not an online provider's."""
    if raw.get("kind", {}).get("S") != PROVIDER_KIND or not _number(raw, "online"):
        return None
    lat, lng = raw.get("lat"), raw.get("lng")
    categories = raw.get("categories", {}).get("S")
    return ranking.ProviderSnapshot(
        provider_id=raw["pk"]["S"].removeprefix(keys.user("")),
        lat=_number(raw, "lat"),
        lng=_number(raw, "lng"),
        radius_km=_number(raw, "radius_km"),
        online=lat is not None and lng is not None,
        categories=frozenset(json.loads(categories) if categories else ()),
        rating=RatingSummary(int(_number(raw, "rating_count")), int(_number(raw, "rating_sum"))),
        responsiveness=ranking.Responsiveness(
            offers_received=int(_number(raw, "offers_received")),
            offers_accepted=int(_number(raw, "offers_accepted")),
        ),
        kept_apart=frozenset(raw.get("kept_apart", {}).get("SS", ())),
    )


def _number(raw: dict[str, Any], name: str) -> float:
    value = raw.get(name, {}).get("N")
    return float(value) if value is not None else 0.0


# --- timers -----------------------------------------------------------------------------------


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def due_on(day: str, now: datetime) -> list[tuple[str, str]]:
    """The timers of ``day`` due by ``now``: ("request" | "job", id), in due order. 1 Query
    (gsi2) per shard of the day (``keys.DUE_SHARDS``) per 1 MB page; reads only due timers."""
    upper = ids.iso(now) + "~"  # '~' sorts after '#' and every id character
    found: list[tuple[str, str, str]] = []
    for shard in keys.due_shards(day):
        for item in Entity.gsi2.query(shard, Entity.gsi2sk <= upper):
            if isinstance(item, RequestItem):
                found.append((str(item.gsi2sk), "request", item.request_id))
            elif isinstance(item, JobItem):
                found.append((str(item.gsi2sk), "job", item.job_id))
    return [(kind, ref) for _, kind, ref in sorted(found)]


def timer_cursor() -> str | None:
    """The oldest day whose timers may still be due. 1 GetItem."""
    item = get_or_none(TimerCursorItem, *keys.TIMER_CURSOR, consistent=True)
    return item.day if item else None


def move_timer_cursor(old: str | None, new: str) -> None:
    """Move the cursor on from ``old`` unless someone else did. 1 conditional PutItem."""
    item = TimerCursorItem(*keys.TIMER_CURSOR, day=new, updated_at=ids.iso())
    condition = TimerCursorItem.pk.does_not_exist() if old is None else TimerCursorItem.day == old
    save_if(item, condition)


def requests_by_id(request_ids: Iterable[str]) -> dict[str, ServiceRequest]:
    """1 BatchGetItem per 100 (0 for none)."""
    wanted = sorted(set(request_ids))
    if not wanted:
        return {}
    return {
        i.request_id: mapping.request_of(i)
        for i in RequestItem.batch_get([(keys.request(r), keys.META) for r in wanted])
    }
