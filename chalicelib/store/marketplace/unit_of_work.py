"""The marketplace's unit of work on DynamoDB: the one place that loads aggregates, saves
what a decision changed in one transaction under their version conditions together with
the feed entries of its events (the outbox), retries a decision that lost a race, and
publishes the events once the change committed.

``UnitOfWork.run(decide)``: ``decide(session)`` loads what it needs through the session's
reads (strongly consistent), calls the aggregate's methods and hands the aggregates back
with :meth:`Session.save`. The run then commits: 1 TransactWriteItems. When another writer
changed an aggregate first, the transaction is cancelled and ``decide`` runs again on fresh
reads, up to :data:`MAX_ATTEMPTS` times; then :class:`~chalicelib.errors.Conflict` with the
caller's message. A condition check on another item that fails (e.g. an attached photo is
not the customer's) raises :class:`CheckFailed` at once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pynamodb.expressions.update import Action

from chalicelib import ids
from chalicelib.domain.job import Job
from chalicelib.domain.market import OfferStatus, Quote, RequestStatus
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict
from chalicelib.store import conversations, counters, keys, metrics
from chalicelib.store import media as media_repo
from chalicelib.store.marketplace import items, mapping, queries
from chalicelib.store.marketplace.changes import Changes, Stale
from chalicelib.store.models import Entity, ProviderItem

T = TypeVar("T")
E = TypeVar("E", bound=Entity)
MAX_ATTEMPTS = 5
"""How often a decision is taken again after losing a race."""
REQUEST_PHOTO = ("request_photo",)
"""What a request's ``media_ids`` may be: photos uploaded for a request."""


class Notice(Protocol):
    """An event as the outbox sees it (:class:`chalicelib.services.events.Event`)."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def at(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def recipients(self) -> tuple[str, ...]: ...
    @property
    def feed(self) -> bool: ...


Describe = Callable[[Sequence[ServiceRequest | Job]], list[Notice]]
"""The events of the saved aggregates (their ``events``), as notices to publish."""
Publish = Callable[[Sequence[tuple[Notice, bool]]], None]
"""Hand committed notices to the sinks, each with whether its feed entries are written."""


@dataclass
class Later:
    """Photo grants a change could not hold (its 100 items): written or deleted right
    after it committed (1 BatchWriteItem per 25)."""

    grants: list[media_repo.MediaViewerItem] = field(default_factory=list)
    revoked: list[media_repo.MediaViewerItem] = field(default_factory=list)


class CheckFailed(Exception):
    """A condition on another item did not hold (``failed_checks``: their positions)."""

    def __init__(self, failed_checks: tuple[int, ...]) -> None:
        super().__init__(f"condition checks failed: {failed_checks}")
        self.failed_checks = failed_checks


def feed_entries(notice: Notice) -> list[items.NotificationItem]:
    """One feed entry per recipient (none when the notice is not for the feed)."""
    if not notice.feed:
        return []
    return [
        items.NotificationItem(
            keys.user(user_id),
            keys.note(notice.id),
            event_id=notice.id,
            type=notice.type,
            at=notice.at,
            data=notice.data,
            created_at=notice.at,
        )
        for user_id in dict.fromkeys(notice.recipients)
    ]


class Session:
    """One attempt: consistent reads, then the aggregates to save."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}
        self._saved: list[ServiceRequest | Job] = []
        self._counters: dict[str, ProviderItem | None] = {}
        """Provider profiles read along the way (their counters: ``store/counters.py``)."""

    # --- reads -----------------------------------------------------------------------------

    def request(self, request_id: str) -> ServiceRequest | None:
        """1 GetItem."""
        request = queries.get_request(request_id)
        return self._track(request) if request else None

    def offer(self, provider_id: str, offer_id: str) -> ServiceRequest | None:
        """The request ``provider_id`` was offered as ``offer_id`` (an offer's id is its
        request's), with the provider's offer complete (why it ended, when it was made).
        1 BatchGetItem (with the provider's profile: the counters an accept moves)."""
        offer_item, request_item, profile = _with_request(
            items.OfferItem, keys.user(provider_id), keys.offer(offer_id), offer_id, provider_id
        )
        if ids.is_id(offer_id):
            self._counters[provider_id] = profile
        if offer_item is None or request_item is None:
            return None
        request = self._track(mapping.request_of(request_item))
        mine = request.offers.get(provider_id)
        if mine is None:
            return None
        mine.reason, mine.created_at = offer_item.status_reason, mapping.at(offer_item.created_at)
        return request

    def quote(self, customer_id: str, quote_id: str) -> tuple[Quote, ServiceRequest] | None:
        """A quote to ``customer_id`` and its request (its id starts with the request's).
        1 BatchGetItem; 0 for an id that is not a quote id."""
        quote, request, _ = _with_request(
            items.QuoteItem,
            keys.user(customer_id),
            keys.quote(quote_id),
            mapping.quote_request_id(quote_id) or "",
        )
        if quote is None or request is None:
            return None
        return mapping.quote_of(quote), self._track(mapping.request_of(request))

    def job(self, job_id: str) -> Job | None:
        """1 GetItem."""
        job = queries.get_job(job_id)
        return self._track(job) if job else None

    def _track(self, aggregate: T) -> T:
        self._loaded[_key(aggregate)] = copy.deepcopy(aggregate)
        return aggregate

    # --- writes ----------------------------------------------------------------------------

    def save(self, *aggregates: ServiceRequest | Job) -> None:
        """Save these when the run commits (in this order; a request's new or cancelled
        job goes with it, before it)."""
        self._saved.extend(aggregates)

    def changes(self, describe: Describe) -> tuple[Changes, list[Notice], Later]:
        """The transaction of the saved aggregates, the notices of their events, and the
        photo grants to write or delete that did not fit in it."""
        changes, overflow = Changes(), Later()
        counts: Counted = {}
        ordered: list[ServiceRequest | Job] = []
        for aggregate in self._saved:
            if isinstance(aggregate, ServiceRequest):
                self._stage_figures(changes, aggregate)
                if aggregate.job is not None:
                    self._stage_job(changes, aggregate.job, counts)
                    ordered.append(aggregate.job)
                self._stage_request(changes, aggregate, overflow, counts)
            else:
                self._stage_job(changes, aggregate, counts)
            ordered.append(aggregate)
        _stage_counts(changes, counts, self._counters)
        notices = describe(ordered)
        for notice in notices:
            changes.notify(notice, feed_entries(notice))
        return changes, notices, overflow

    def _stage_figures(self, changes: Changes, request: ServiceRequest) -> None:
        """The operators' counters this change moves (``store/metrics.py``)."""
        before: ServiceRequest | None = self._loaded.get(_key(request))
        opened = int(request.status == RequestStatus.OPEN)
        opened -= int(before is not None and before.status == RequestStatus.OPEN)
        if opened:
            changes.update(*metrics.live_change(request.id, open_requests=opened), None)
        job = request.job
        if job is not None and (before is None or before.job_id != job.id):  # a new job
            changes.update(*metrics.job_made(job.id, job.created_at, request.created_at), None)

    def _stage_request(
        self, changes: Changes, request: ServiceRequest, later: Later, counts: Counted
    ) -> None:
        before: ServiceRequest | None = self._loaded.get(_key(request))
        if before is None and request.media_ids:
            condition = media_repo.attachable(request.customer_id, REQUEST_PHOTO)
            for media_id in dict.fromkeys(request.media_ids):
                changes.require(media_repo.MediaItem, keys.media(media_id), keys.META, condition)
        old_offers = before.offers if before else {}
        made = [p for p in request.offers if p not in old_offers]
        for pid in made:
            offer = request.offers[pid]
            changes.save_new(
                mapping.offer_item(request.listing(pid, offer.created_at or ids.now()))
            )
            _count(counts, pid, offers_received=1)
        for pid, offer in request.offers.items():
            if pid in old_offers and old_offers[pid].status != offer.status:
                job_id = request.job_id if offer.status == OfferStatus.ACCEPTED else None
                _offer_status(changes, pid, request.id, offer.status, offer.reason, job_id=job_id)
        if request.new_quote is not None:
            quote = request.new_quote
            changes.save_new(mapping.quote_item(quote))
            _offer_status(
                changes, quote.provider_id, request.id, OfferStatus.PENDING, None, quote.id
            )
            for item in conversations.conversation_items(
                [request.customer_id, quote.provider_id], "quote", quote.id, quote.conversation_id
            ):
                changes.save_new(item)
        for quote_id, status in request.quote_status.items():
            job_id = request.job_id if status == "accepted" else None
            item = items.QuoteItem(keys.user(request.customer_id), keys.quote(quote_id))
            actions: list[Action] = [
                items.QuoteItem.status.set(status.value),
                items.QuoteItem.updated_at.set(ids.iso()),
            ]
            if job_id:
                actions.append(items.QuoteItem.job_id.set(job_id))
            changes.update(item, actions, items.QuoteItem.status == "pending")
        item = mapping.request_item(request)
        if before is None or item.serialize() != mapping.request_item(before).serialize():
            item.updated_at = ids.iso()
            changes.save_versioned(item, request.version)
            request.version, request.updated_at = int(item.version), mapping.when(item.updated_at)
        grants = media_repo.grant_items(request.media_ids, made, "request", request.id)
        lost = [
            pid
            for pid, offer in request.offers.items()
            if pid in old_offers
            and old_offers[pid].status == OfferStatus.PENDING
            and offer.status not in (OfferStatus.PENDING, OfferStatus.ACCEPTED)
        ]  # a provider who did not get the job stops seeing its photos
        revoked = media_repo.revoke_items(request.media_ids, lost)
        if len(grants) + len(revoked) > changes.room():
            later.grants += grants
            later.revoked += revoked
            return
        for grant in grants:
            changes.put(grant)
        for grant in revoked:
            changes.delete(grant)

    def _stage_job(self, changes: Changes, job: Job, counts: Counted) -> None:
        before: Job | None = self._loaded.get(_key(job))
        item = mapping.job_item(job)
        if before is not None and item.serialize() == mapping.job_item(before).serialize():
            return
        item.updated_at = ids.iso()
        changes.save_versioned(item, job.version)
        job.version, job.updated_at = int(item.version), mapping.when(item.updated_at)
        if before is None:
            for uid, role in ((job.customer_id, "customer"), (job.provider_id, "provider")):
                changes.save_new(
                    items.JobMemberItem(keys.user(uid), keys.job(job.id), job_id=job.id, role=role)
                )
            _count(counts, job.provider_id, offers_accepted=1)
            if job.quote_id is None:
                for member in conversations.conversation_items(
                    [job.customer_id, job.provider_id], "job", job.id, job.conversation_id
                ):
                    changes.save_new(member)
        if job.new_review is not None:
            changes.save_new(mapping.review_item(job.new_review, job))
        for side, moment in job.published:
            if job.new_review is None or job.new_review.side != side:
                stored = items.ReviewItem(keys.job(job.id), keys.review(side.value))
                index = mapping.published_index(job, side, moment)
                changes.update(
                    stored,
                    [getattr(items.ReviewItem, name).set(value) for name, value in index.items()],
                    items.ReviewItem.pk.exists(),
                )
            given = job.review_by(side)
            if side == "customer" and given is not None:
                _count(counts, job.provider_id, rating_count=1, rating_sum=int(given["rating"]))


class UnitOfWork:
    """Runs decisions against DynamoDB (see the module doc)."""

    def __init__(self, describe: Describe, publish: Publish):
        self._describe, self._publish = describe, publish

    def session(self) -> Session:
        return Session()

    def read(self, look: Callable[[Session], T]) -> T:
        """``look(session)``: reads that decide nothing (no transaction)."""
        return look(self.session())

    def run(
        self, decide: Callable[[Session], T], *, conflict: str, attempts: int = MAX_ATTEMPTS
    ) -> T:
        """Decide, save, commit, publish; ``Conflict(conflict)`` after ``attempts`` lost
        races, :class:`CheckFailed` when a condition on another item fails. Cost: the
        decision's reads + 1 BatchGetItem when the change counts offers, accepted offers or
        ratings (the providers' counters) + 1 TransactWriteItems (none when nothing
        changed) + delivering the events (1 BatchGetItem)."""
        for _ in range(attempts):
            session = self.session()
            result = decide(session)
            changes, _notices, overflow = session.changes(self._describe)
            try:
                changes.commit()
            except Stale as exc:
                if exc.failed_checks:
                    raise CheckFailed(exc.failed_checks) from None
                continue
            if overflow.grants:
                media_repo.grant(overflow.grants)
            if overflow.revoked:
                media_repo.revoke(overflow.revoked)
            self._publish(changes.events())
            return result
        raise Conflict(conflict)


def _key(aggregate: Any) -> str:
    return f"{type(aggregate).__name__}#{aggregate.id}"


def _with_request(
    model: type[E], pk: str, sk: str, request_id: str, provider_id: str | None = None
) -> tuple[E | None, items.RequestItem | None, ProviderItem | None]:
    """An item and a request (and ``provider_id``'s profile), read together (consistent).
    1 BatchGetItem; 0 when ``request_id`` is not an id."""
    if not ids.is_id(request_id):
        return None, None, None
    wanted = [(pk, sk), (keys.request(request_id), keys.META)]
    if provider_id is not None:
        wanted.append((keys.user(provider_id), keys.PROVIDER))
    found = list(Entity.batch_get(wanted, consistent_read=True))
    item = next((i for i in found if isinstance(i, model)), None)
    request = next((i for i in found if isinstance(i, items.RequestItem)), None)
    return item, request, next((i for i in found if isinstance(i, ProviderItem)), None)


def _offer_status(
    changes: Changes,
    provider_id: str,
    offer_id: str,
    status: OfferStatus,
    reason: str | None,
    quote_id: str | None = None,
    job_id: str | None = None,
) -> None:
    """Move a provider's pending offer on (leaving the pending index), or, staying
    ``pending``, attach a quote id."""
    item = items.OfferItem(keys.user(provider_id), keys.offer(offer_id))
    actions: list[Action] = [
        items.OfferItem.status.set(status.value),
        items.OfferItem.updated_at.set(ids.iso()),
    ]
    if status != OfferStatus.PENDING:
        actions += [items.OfferItem.gsi1pk.remove(), items.OfferItem.gsi1sk.remove()]
    if reason:
        actions.append(items.OfferItem.status_reason.set(reason))
    if quote_id:
        actions.append(items.OfferItem.quote_id.set(quote_id))
    if job_id:
        actions.append(items.OfferItem.job_id.set(job_id))
    changes.update(item, actions, items.OfferItem.status == "pending")


Counted = dict[str, dict[str, int]]
"""Provider id -> counter (``store.counters.COUNTERS``) -> what this change adds."""


def _count(counts: Counted, provider_id: str, **deltas: int) -> None:
    mine = counts.setdefault(provider_id, {})
    for name, delta in deltas.items():
        mine[name] = mine.get(name, 0) + delta


def _stage_counts(changes: Changes, counts: Counted, known: dict[str, ProviderItem | None]) -> None:
    """Add to the providers' exact counters (and rewrite the copy the geo indexes hold
    when the ranking would move: ``store/counters.py``); bumps each profile's version so a
    concurrent versioned profile write retries instead of writing stale counters back.
    1 BatchGetItem (the counters as they are) when a counted provider's profile was not
    read yet."""
    current = {pid: known[pid] for pid in counts if known.get(pid) is not None}
    current |= counters.read(pid for pid in counts if pid not in known)
    for provider_id, deltas in counts.items():
        item = ProviderItem(keys.user(provider_id), keys.PROVIDER)
        actions: list[Action] = [ProviderItem.version.add(1)]
        actions += counters.count_actions(current.get(provider_id), deltas)
        changes.update(item, actions, ProviderItem.pk.exists())
