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
from typing import Any, Protocol, TypeVar

from chalicelib import ids
from chalicelib.domain.job import Job
from chalicelib.domain.market import Quote
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict
from chalicelib.store import keys
from chalicelib.store import media as media_repo
from chalicelib.store.marketplace import items, mapping, queries, staging
from chalicelib.store.marketplace.changes import Changes, Stale
from chalicelib.store.marketplace.staging import Later
from chalicelib.store.models import Entity, ProviderItem

T = TypeVar("T")
A = TypeVar("A", bound=ServiceRequest | Job)
E = TypeVar("E", bound=Entity)
MAX_ATTEMPTS = 5
"""How often a decision is taken again after losing a race."""


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

    def _track(self, aggregate: A) -> A:
        self._loaded[staging.key(aggregate)] = copy.deepcopy(aggregate)
        return aggregate

    # --- writes ----------------------------------------------------------------------------

    def save(self, *aggregates: ServiceRequest | Job) -> None:
        """Save these when the run commits (in this order; a request's new or cancelled
        job goes with it, before it)."""
        self._saved.extend(aggregates)

    def changes(self, describe: Describe) -> tuple[Changes, list[Notice], Later]:
        """The transaction of the saved aggregates with the feed entries of their events
        (:func:`staging.stage`), the notices of those events, and the photo grants to write
        or delete that did not fit in it."""
        changes, ordered, overflow = staging.stage(self._saved, self._loaded, self._counters)
        notices = describe(ordered)
        for notice in notices:
            changes.notify(notice, feed_entries(notice))
        return changes, notices, overflow


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
