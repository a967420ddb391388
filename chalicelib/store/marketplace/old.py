"""Marketplace storage: requests, offers, quotes, jobs, reviews, due timers, the feed.

Access patterns (never a Scan; no partition keyed by an entity type alone; keys come from
``keys.py``). "C" marks a strongly consistent read (everything a write decides on).

| pattern                             | key condition                                   | index |
|-------------------------------------|-------------------------------------------------|-------|
| request by id (C)                   | pk=REQ#<id>, sk=META                            | table |
| a customer's requests, newest first | gsi1pk=REQS#<customer>                          | gsi1  |
| online providers near a point       | gsi3pk=GEO#<band>:<block>, gsi3sk lng range     | gsi3  |
| an offer of mine + its request (C)  | pk=USER#<provider>, sk=OFFER#<request id>; REQ# | table |
| every offer I had, newest first     | pk=USER#<provider>, sk begins_with OFFER#       | table |
| my pending offers (sparse)          | gsi1pk=OFFERS#<provider>                        | gsi1  |
| a quote to me by id (C)             | pk=USER#<customer>, sk=QUOTE#<id>               | table |
| a quote to me + its request (C)     | the above + REQ#<request id> (in the quote id)  | table |
| the quotes of a request             | gsi1pk=QUOTES#<request>                         | gsi1  |
| job by id (C)                       | pk=JOB#<id>, sk=META                            | table |
| my jobs, newest first               | pk=USER#<me>, sk begins_with JOB# (+BatchGet)   | table |
| one side's review of a job (C)      | pk=JOB#<id>, sk=REVIEW#<side>                   | table |
| published reviews about a provider  | gsi1pk=REVIEWS#provider#<id>, newest first      | gsi1  |
| timers due by now (sparse)          | gsi2pk=DUE#<UTC day>, gsi2sk <= <now>           | gsi2  |
| my notification feed, newest first  | pk=USER#<me>, sk begins_with NOTE#              | table |

Invariants kept by conditional writes, never read-modify-write:

* A request and everything hanging off it (its offers, quotes and the job it becomes)
  change together in **one** ``TransactWriteItems`` whose first item is the request
  itself, saved on condition that its ``version`` is still the one read
  (:meth:`Changes.save_request`). So two providers accepting at once, a decline racing an
  expiry, or a quote racing an acceptance can never both win: the second transaction is
  cancelled and the service re-reads and decides again (:class:`Stale`).
* The request keeps its offers' states (``offers``: provider -> id, status, expiry) and
  its quotes (``quotes``: provider -> quote id), so the decision needs that one item; the
  offer and quote items mirror them for the provider's and customer's own listings.
* Counters (a provider's offers received/accepted and rating sum/count) move by atomic
  ``ADD`` inside the same transaction.
* Open requests and completed-but-unpublished jobs carry a due timer in the sparse
  ``DUE#<day>`` index; the scheduled sweep reads only what is due.

Each repository function states its DynamoDB cost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib import ids
from chalicelib.domain import geo
from chalicelib.store import keys
from chalicelib.store.models import (
    CONDITION_FAILED,
    GEO_ATTRIBUTES,
    CompactJSONAttribute,
    Entity,
    ProviderItem,
    condition_failed,
)

log = logging.getLogger("summon.store.marketplace")

T = TypeVar("T", bound=Entity)
Page = tuple[list[T], dict[str, Any] | None]

FEED_TTL = timedelta(days=30)
"""How long a feed entry is kept (DynamoDB TTL)."""


# --- models ---------------------------------------------------------------------------------


class RequestItem(Entity, discriminator="request"):
    """pk=REQ#<id>, sk=META; gsi1 = the customer's requests; gsi2 = its due timer."""

    request_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    category = UnicodeAttribute()
    description = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    mode = UnicodeAttribute()
    window_start = UnicodeAttribute(null=True)
    window_end = UnicodeAttribute(null=True)
    media_ids = JSONAttribute(null=True)
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    due_at = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)
    offers = JSONAttribute(null=True)
    """{provider_id: {"id", "status", "expires_at", "distance_km"}} -- every offer it made."""
    quotes = JSONAttribute(null=True)
    """{provider_id: quote_id}."""
    version = NumberAttribute(default=0)


class OfferItem(Entity, discriminator="offer"):
    """pk=USER#<provider>, sk=OFFER#<id>; gsi1 (only while pending) = my pending offers.
    A provider has at most one offer per request, so an offer's id is its request's id
    (unique among the provider's offers): offer and request are read in one BatchGetItem.
    Carries a summary of the request so a provider's list needs no second read."""

    offer_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    mode = UnicodeAttribute()
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(null=True)
    expires_at = UnicodeAttribute()
    distance_km = NumberAttribute()
    category = UnicodeAttribute()
    description = UnicodeAttribute()
    approx_lat = NumberAttribute()
    approx_lng = NumberAttribute()
    window_start = UnicodeAttribute(null=True)
    window_end = UnicodeAttribute(null=True)
    quote_id = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)


class QuoteItem(Entity, discriminator="quote"):
    """pk=USER#<customer>, sk=QUOTE#<id>; gsi1 = the quotes of its request."""

    quote_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    amount = UnicodeAttribute()
    currency = UnicodeAttribute()
    eta_minutes = NumberAttribute()
    note = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    job_id = UnicodeAttribute(null=True)


class JobItem(Entity, discriminator="job"):
    """pk=JOB#<id>, sk=META; gsi2 = its review-window timer once completed."""

    job_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    mode = UnicodeAttribute()
    category = UnicodeAttribute()
    description = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    window_start = UnicodeAttribute(null=True)
    window_end = UnicodeAttribute(null=True)
    media_ids = JSONAttribute(null=True)
    state = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    offer_id = UnicodeAttribute(null=True)
    quote_id = UnicodeAttribute(null=True)
    price = JSONAttribute(null=True)
    history = JSONAttribute(null=True)
    """[{"from", "to", "by", "at"}] -- every transition taken."""
    completed_at = UnicodeAttribute(null=True)
    customer_review = JSONAttribute(null=True)
    """{"rating", "at"} once the customer reviewed (the rating to publish)."""
    provider_review = JSONAttribute(null=True)
    reviews_published_at = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class JobMemberItem(Entity, discriminator="job_member"):
    """pk=USER#<participant>, sk=JOB#<id>: lists a user's jobs (never changes)."""

    job_id = UnicodeAttribute()
    role = UnicodeAttribute()


class ReviewItem(Entity, discriminator="review"):
    """pk=JOB#<id>, sk=REVIEW#<side>; gsi1 (only once published) = reviews about the
    subject, newest first."""

    review_id = UnicodeAttribute()
    job_id = UnicodeAttribute()
    side = UnicodeAttribute()
    author_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    rating = NumberAttribute()
    text = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)


class NotificationItem(Entity, discriminator="notification"):
    """pk=USER#<recipient>, sk=NOTE#<event id>: one feed entry (expires after 30 days)."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UnicodeAttribute()
    data = CompactJSONAttribute(null=True)


class TimerCursorItem(Entity, discriminator="timer_cursor"):
    """The oldest UTC day whose timers may still be due."""

    day = UnicodeAttribute()


# --- transactions -----------------------------------------------------------------------------


class Stale(Exception):
    """A transaction was cancelled: something it was conditioned on changed meanwhile
    (another writer won). Re-read and decide again. ``failed_checks``: the positions (in
    :meth:`Changes.require` order) of the condition checks that did not hold."""

    def __init__(self, message: str, failed_checks: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.failed_checks = failed_checks


def _connection() -> Connection:
    """The models' own (cached) connection: a new ``Connection`` per transaction would build
    a new botocore session and client each time (tens of ms of model loading)."""
    connection: Connection = Entity._get_connection().connection
    return connection


def _cancelled(exc: TransactWriteError) -> bool:
    code = getattr(exc, "cause_response_code", None)
    return code in ("TransactionCanceledException", CONDITION_FAILED)


MAX_WRITES = 100
"""The most items one TransactWriteItems takes."""


class Changes:
    """The writes of one state change, committed atomically: 1 TransactWriteItems.

    The first write is normally the request (or job) saved under its version condition,
    which is what makes concurrent decisions exclusive.

    The change's events ride along (the outbox, :meth:`notify`): their feed entries are
    written in the same transaction, so the feed holds an entry exactly when the change
    committed (a Lambda dying right after the commit can no longer leave a change out of
    the feed: nothing a user was sent is lost), and it takes no call of its own. The price:
    a transaction bills twice what a BatchWriteItem does, 2 write units per KB of item
    instead of 1, so a feed entry (kept under 1 KB) costs 2 write units instead of 1.

    Condition checks on other items (:meth:`require`, e.g. "these photos are the
    customer's") ride along too, in place of a read before the change."""

    def __init__(self) -> None:
        self._checks: list[Callable[[TransactWrite], None]] = []
        self._ops: list[Callable[[TransactWrite], None]] = []
        self._staged: list[tuple[Any, list[NotificationItem]]] = []
        self._recorded: list[bool] = []

    def __len__(self) -> int:
        """The items staged (checks, writes, feed entries)."""
        return len(self._checks) + len(self._ops) + sum(len(e) for _, e in self._staged)

    def require(self, model: type[Entity], pk: str, sk: str, condition: Condition) -> None:
        """The change commits only if ``condition`` holds for the item ``(pk, sk)`` (a
        ConditionCheck: 1 read unit of that item, no call of its own); when it does not,
        :meth:`commit` raises :class:`Stale` naming this check in ``failed_checks``."""
        self._checks.append(lambda tx: tx.condition_check(model, pk, sk, condition=condition))

    def room(self) -> int:
        """How many more checks and writes the transaction takes (feed entries do not
        count: they go in only where room is left, see :meth:`commit`)."""
        return MAX_WRITES - len(self._checks) - len(self._ops)

    def put(self, item: Entity) -> None:
        """Write ``item`` whatever is there (for items that are the same however often
        they are written, e.g. a media grant)."""
        self._ops.append(lambda tx: tx.save(item))

    def save_new(self, item: Entity) -> None:
        """Create ``item``; fails if it exists."""
        self._ops.append(lambda tx: tx.save(item, condition=Entity.pk.does_not_exist()))

    def save_request(self, item: RequestItem, expected_version: int) -> None:
        """Write the request if it is still at ``expected_version`` (0: new)."""
        condition = (
            RequestItem.pk.does_not_exist()
            if expected_version == 0
            else RequestItem.version == expected_version
        )
        item.version = expected_version + 1
        item.updated_at = ids.iso()
        self._ops.append(lambda tx: tx.save(item, condition=condition))

    def save_job(self, item: JobItem, expected_version: int) -> None:
        """Write the job if it is still at ``expected_version`` (0: new)."""
        condition = (
            JobItem.pk.does_not_exist()
            if expected_version == 0
            else JobItem.version == expected_version
        )
        item.version = expected_version + 1
        item.updated_at = ids.iso()
        self._ops.append(lambda tx: tx.save(item, condition=condition))

    def update(self, item: Entity, actions: list[Action], condition: Condition | None) -> None:
        self._ops.append(lambda tx: tx.update(item, actions=actions, condition=condition))

    def set_offer_status(
        self,
        provider_id: str,
        offer_id: str,
        status: str,
        *,
        reason: str | None = None,
        quote_id: str | None = None,
        job_id: str | None = None,
    ) -> None:
        """Move an offer on from ``pending`` (leaving the pending index), or, with
        ``status="pending"``, just attach a quote id."""
        item = OfferItem(keys.user(provider_id), keys.offer(offer_id))
        actions: list[Action] = [
            OfferItem.status.set(status),
            OfferItem.updated_at.set(ids.iso()),
        ]
        if status != "pending":
            actions += [OfferItem.gsi1pk.remove(), OfferItem.gsi1sk.remove()]
        if reason:
            actions.append(OfferItem.status_reason.set(reason))
        if quote_id:
            actions.append(OfferItem.quote_id.set(quote_id))
        if job_id:
            actions.append(OfferItem.job_id.set(job_id))
        self.update(item, actions, OfferItem.status == "pending")

    def set_quote_status(
        self, customer_id: str, quote_id: str, status: str, job_id: str | None = None
    ) -> None:
        item = QuoteItem(keys.user(customer_id), keys.quote(quote_id))
        actions: list[Action] = [QuoteItem.status.set(status), QuoteItem.updated_at.set(ids.iso())]
        if job_id:
            actions.append(QuoteItem.job_id.set(job_id))
        self.update(item, actions, QuoteItem.status == "pending")

    def count_for_provider(
        self,
        provider_id: str,
        *,
        offers_received: int = 0,
        offers_accepted: int = 0,
        rating: int | None = None,
    ) -> None:
        """Atomic ``ADD`` on the provider's counters. Also bumps the profile's version, so a
        concurrent ``PUT /me/provider`` (a versioned whole-item write) retries instead of
        writing stale counters back."""
        item = ProviderItem(keys.user(provider_id), keys.PROVIDER)
        actions: list[Action] = [ProviderItem.version.add(1)]
        if offers_received:
            actions.append(ProviderItem.offers_received.add(offers_received))
        if offers_accepted:
            actions.append(ProviderItem.offers_accepted.add(offers_accepted))
        if rating is not None:
            actions += [ProviderItem.rating_count.add(1), ProviderItem.rating_sum.add(rating)]
        self.update(item, actions, ProviderItem.pk.exists())

    def notify(self, event: Any, entries: Iterable[NotificationItem]) -> None:
        """Stage an event of this change (opaque here: the service's event) with its feed
        entries, written in the same transaction. After :meth:`commit`, :meth:`events`
        hands the events back for publishing; when the transaction is cancelled there is
        nothing to publish and nothing in the feed."""
        self._staged.append((event, list(entries)))

    def events(self) -> list[tuple[Any, bool]]:
        """The staged events in the order staged, each with whether its feed entries were
        committed with the change (False only for an event whose entries did not fit in the
        transaction's 100 items: see :meth:`commit`; its feed is still to be written)."""
        recorded = self._recorded or [False] * len(self._staged)
        return [(event, done) for (event, _), done in zip(self._staged, recorded, strict=True)]

    def commit(self) -> None:
        """1 TransactWriteItems (up to 100 writes). Raises :class:`Stale` when cancelled.

        The change's own writes come first and must fit (:class:`ValueError` otherwise);
        the staged feed entries fill the room left, event by event. An event whose entries
        do not fit is left out of the transaction whole (so a change never fails for its
        notifications) and reported unrecorded by :meth:`events`: its publisher writes
        its feed after the commit, as before the outbox (1 BatchWriteItem)."""
        room = self.room()
        if room < 0:
            raise ValueError(
                f"a transaction takes at most {MAX_WRITES} items, not {MAX_WRITES - room}"
            )
        entries: list[NotificationItem] = []
        recorded: list[bool] = []
        for _, staged in self._staged:
            fits = len(staged) <= room
            if fits:
                room -= len(staged)
                entries += staged
            recorded.append(fits)
        if not self._ops and not self._checks and not entries:
            self._recorded = recorded
            return
        expires = feed_expiry()
        try:
            with TransactWrite(connection=_connection()) as tx:
                for check in self._checks:  # PynamoDB sends condition checks first
                    check(tx)
                for op in self._ops:
                    op(tx)
                for entry in entries:
                    entry.ttl = expires
                    tx.save(entry)
        except TransactWriteError as exc:
            if _cancelled(exc):
                reasons = list(exc.cancellation_reasons or [])[: len(self._checks)]
                failed = tuple(
                    n
                    for n, reason in enumerate(reasons)
                    if reason is not None and reason.code == "ConditionalCheckFailed"
                )
                raise Stale(str(exc), failed) from exc
            raise
        self._recorded = recorded


# --- reads ------------------------------------------------------------------------------------


def _get(model: type[T], pk: str, sk: str) -> T | None:
    try:
        return model.get(pk, sk, consistent_read=True)
    except DoesNotExist:
        return None


def _page(results: Any, limit: int) -> Page[Any]:
    items = list(results)
    return items, results.last_evaluated_key if len(items) == limit else None


def get_request(request_id: str) -> RequestItem | None:
    """1 GetItem (consistent)."""
    return _get(RequestItem, keys.request(request_id), keys.META)


def get_requests(request_ids: Iterable[str]) -> dict[str, RequestItem]:
    """Requests by id. 1 BatchGetItem per 100 (0 for none)."""
    wanted = sorted(set(request_ids))
    if not wanted:
        return {}
    found = RequestItem.batch_get([(keys.request(r), keys.META) for r in wanted])
    return {item.request_id: item for item in found}


def customer_requests(
    customer_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[RequestItem]:
    """A customer's requests, newest first. 1 Query (gsi1)."""
    return _page(
        RequestItem.gsi1.query(
            keys.customer_requests(customer_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )


def get_offer(provider_id: str, offer_id: str) -> OfferItem | None:
    """1 GetItem (consistent)."""
    return _get(OfferItem, keys.user(provider_id), keys.offer(offer_id))


def get_offer_and_request(
    provider_id: str, offer_id: str
) -> tuple[OfferItem | None, RequestItem | None]:
    """A provider's offer and its request together: an offer's id *is* its request's id
    (a provider has at most one offer per request). 1 BatchGetItem (consistent)."""
    found = Entity.batch_get(
        [(keys.user(provider_id), keys.offer(offer_id)), (keys.request(offer_id), keys.META)],
        consistent_read=True,
    )
    offer = request = None
    for item in found:
        if isinstance(item, OfferItem):
            offer = item
        elif isinstance(item, RequestItem):
            request = item
    return offer, request


def provider_offers(
    provider_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[OfferItem]:
    """Every offer a provider had, newest first. 1 Query."""
    return _page(
        OfferItem.query(
            keys.user(provider_id),
            OfferItem.sk.startswith(keys.OFFER_PREFIX),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )


def pending_offers(
    provider_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[OfferItem]:
    """A provider's pending offers, newest first. 1 Query (gsi1, sparse)."""
    return _page(
        OfferItem.gsi1.query(
            keys.pending_offers(provider_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )


def get_quote(customer_id: str, quote_id: str) -> QuoteItem | None:
    """1 GetItem (consistent)."""
    return _get(QuoteItem, keys.user(customer_id), keys.quote(quote_id))


def new_quote_id(request_id: str) -> str:
    """A quote's id: its request's id followed by a new ULID, so accepting it reads the
    quote and its request at once (:func:`get_quote_and_request`). Opaque to clients."""
    return request_id + ids.new_id()


def quote_request_id(quote_id: str) -> str | None:
    """The request id inside a quote id; None when it is not one (no read: 404)."""
    head, tail = quote_id[: len(quote_id) // 2], quote_id[len(quote_id) // 2 :]
    return head if len(quote_id) == 52 and ids.is_id(head) and ids.is_id(tail) else None


def get_quote_and_request(
    customer_id: str, quote_id: str
) -> tuple[QuoteItem | None, RequestItem | None]:
    """A customer's quote and its request together (the request id is in the quote id).
    1 BatchGetItem (consistent); 0 for an id that is not a quote id."""
    request_id = quote_request_id(quote_id)
    if request_id is None:
        return None, None
    found = Entity.batch_get(
        [(keys.user(customer_id), keys.quote(quote_id)), (keys.request(request_id), keys.META)],
        consistent_read=True,
    )
    quote = request = None
    for item in found:
        if isinstance(item, QuoteItem):
            quote = item
        elif isinstance(item, RequestItem):
            request = item
    return quote, request


def request_quotes(
    request_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[QuoteItem]:
    """The quotes of a request, oldest first. 1 Query (gsi1)."""
    return _page(
        QuoteItem.gsi1.query(
            keys.request_quotes(request_id),
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )


def get_job(job_id: str) -> JobItem | None:
    """1 GetItem (consistent)."""
    return _get(JobItem, keys.job(job_id), keys.META)


def user_jobs(user_id: str, limit: int, start_key: dict[str, Any] | None) -> Page[JobItem]:
    """A participant's jobs, newest first. 1 Query + 1 BatchGetItem."""
    members, last = _page(
        JobMemberItem.query(
            keys.user(user_id),
            JobMemberItem.sk.startswith(keys.JOB_PREFIX),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )
    if not members:
        return [], last
    found = {
        j.job_id: j for j in JobItem.batch_get([(keys.job(m.job_id), keys.META) for m in members])
    }
    return [found[m.job_id] for m in members if m.job_id in found], last


def reviews_about(
    subject_role: str, user_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[ReviewItem]:
    """Published reviews about a provider (or customer), newest first. 1 Query (gsi1)."""
    return _page(
        ReviewItem.gsi1.query(
            keys.reviews_about(subject_role, user_id),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )


def job_reviews(job_id: str) -> list[ReviewItem]:
    """Both reviews of a job (0-2). 1 Query (consistent)."""
    return list(
        ReviewItem.query(
            keys.job(job_id), ReviewItem.sk.startswith(keys.review("")), consistent_read=True
        )
    )


# --- geo ----------------------------------------------------------------------------------------


MATCHING_ATTRIBUTES = ("pk", "sk", *GEO_ATTRIBUTES)
"""What matching reads of a provider: what the geo index holds (``models.GEO_ATTRIBUTES``)."""


def online_providers_in(
    ranges: Sequence[geo.IndexRange], max_workers: int = 4
) -> list[ProviderItem]:
    """Every online provider in these ranges of the geo index (:mod:`chalicelib.domain.geo`),
    with :data:`MATCHING_ATTRIBUTES`. 1 Query per range (2 for most matches, at most 4;
    more only when a range's page passes 1 MB), run in parallel; reads only the providers
    in those ranges."""

    def one(found: geo.IndexRange) -> list[ProviderItem]:
        return [
            item
            for item in Entity.gsi3.query(
                keys.geo_partition(found.partition),
                Entity.gsi3sk.between(found.lo_key, found.hi_key + "~"),
                attributes_to_get=list(MATCHING_ATTRIBUTES),
            )
            if isinstance(item, ProviderItem) and item.online
        ]

    if len(ranges) <= 1:
        return [p for r in ranges for p in one(r)]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(ranges))) as pool:
        return [p for found in pool.map(one, ranges) for p in found]


# --- timers ---------------------------------------------------------------------------------


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def set_due(item: RequestItem | JobItem, due: datetime | None, ref: str) -> None:
    """Arm (or, with ``None``, disarm) an item's timer in the sparse due index."""
    if due is None:
        item.due_at = None
        item.gsi2pk = None
        item.gsi2sk = None
        return
    at = ids.iso(due)
    item.due_at = at
    item.gsi2pk = keys.due(day_of(due))
    item.gsi2sk = keys.due_sort(at, ref)


def due_on(day: str, now: datetime) -> list[Entity]:
    """Requests and jobs whose timer of ``day`` is due by ``now``. 1 Query (gsi2) per
    1 MB page; reads only due timers (the index is sparse and ordered by due time)."""
    upper = ids.iso(now) + "~"  # '~' sorts after '#' and every id character
    return list(Entity.gsi2.query(keys.due(day), Entity.gsi2sk <= upper))


def timer_cursor() -> str | None:
    """1 GetItem."""
    item = _get(TimerCursorItem, *keys.TIMER_CURSOR)
    return item.day if item else None


def move_timer_cursor(old: str | None, new: str) -> None:
    """Move the cursor forward from ``old`` (if nobody else moved it). 1 conditional PutItem."""
    item = TimerCursorItem(*keys.TIMER_CURSOR, day=new, updated_at=ids.iso())
    condition = TimerCursorItem.pk.does_not_exist() if old is None else TimerCursorItem.day == old
    try:
        item.save(condition=condition)
    except PutError as exc:
        if not condition_failed(exc):
            raise


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


# --- the feed -------------------------------------------------------------------------------


def feed_expiry() -> int:
    """The TTL (epoch seconds) of a feed entry written now."""
    return int((ids.now() + FEED_TTL).timestamp())


def save_notifications(items: Sequence[NotificationItem]) -> None:
    """1 BatchWriteItem per 25 entries (entries of a change go in its transaction instead:
    :meth:`Changes.notify`)."""
    expires = feed_expiry()
    with NotificationItem.batch_write() as batch:
        for item in items:
            item.ttl = expires
            batch.save(item)


def notifications(
    user_id: str, limit: int, start_key: dict[str, Any] | None
) -> Page[NotificationItem]:
    """A user's feed, newest first. 1 Query."""
    return _page(
        NotificationItem.query(
            keys.user(user_id),
            NotificationItem.sk.startswith(keys.NOTE_PREFIX),
            scan_index_forward=False,
            limit=limit,
            page_size=limit,
            last_evaluated_key=start_key,
        ),
        limit,
    )
