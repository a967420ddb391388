"""An in-memory unit of work for the marketplace services: the same contract as
:class:`chalicelib.store.marketplace.UnitOfWork` (a decision is taken on fresh copies,
saved only if every aggregate is still at the version it was read at, retried otherwise,
its events published after the commit), with nothing but dictionaries behind it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from chalicelib import runtime
from chalicelib.auth import CUSTOMERS, PROVIDERS, Principal
from chalicelib.domain import ranking
from chalicelib.domain.dispatch import Mode, Settings
from chalicelib.domain.job import Job, Review
from chalicelib.domain.market import OfferListing, Quote, RequestStatus
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict
from chalicelib.services import events, matching, notifications
from chalicelib.store import marketplace as marketplace_store
from chalicelib.store import moderation as moderation_repo
from chalicelib.store import profiles as profiles_repo

T = TypeVar("T")
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def a_request(now: datetime = T0, mode: str = "instant", **fields: Any) -> ServiceRequest:
    """An open request at Lisbon's centre (no offers yet)."""
    values: dict[str, Any] = {
        "id": "01JREQUEST0000000000000000",
        "customer_id": "customer",
        "category": "plumbing",
        "description": "Leaking pipe",
        "lat": 38.72,
        "lng": -9.14,
        "address": "Rua Augusta 1",
        "mode": Mode(mode),
        "window": None,
        "media_ids": [],
        "status": RequestStatus.OPEN,
        "expires_at": now + timedelta(minutes=15),
        "created_at": now,
    }
    return ServiceRequest(**{**values, **fields})


@dataclass
class Memory:
    """The marketplace's state."""

    requests: dict[str, ServiceRequest] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    quotes: dict[str, Quote] = field(default_factory=dict)
    listings: dict[tuple[str, str], OfferListing] = field(default_factory=dict)
    reviews: dict[tuple[str, str], Review] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)


class MemorySession:
    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.saved: list[ServiceRequest | Job] = []

    def request(self, request_id: str) -> ServiceRequest | None:
        return copy.deepcopy(self.memory.requests.get(request_id))

    def offer(self, provider_id: str, offer_id: str) -> ServiceRequest | None:
        request = self.request(offer_id)
        listing = self.memory.listings.get((provider_id, offer_id))
        if request is None or listing is None:
            return None
        offer = request.offers[provider_id]
        offer.reason, offer.created_at = listing.reason, listing.created_at
        return request

    def quote(self, customer_id: str, quote_id: str) -> tuple[Quote, ServiceRequest] | None:
        quote = self.memory.quotes.get(quote_id)
        if quote is None or quote.customer_id != customer_id:
            return None
        request = self.request(quote.request_id)
        return (copy.deepcopy(quote), request) if request else None

    def job(self, job_id: str) -> Job | None:
        return copy.deepcopy(self.memory.jobs.get(job_id))

    def save(self, *aggregates: ServiceRequest | Job) -> None:
        self.saved.extend(aggregates)


class MemoryUnitOfWork:
    """``stale``: how many of the next commits lose a race (as if another writer won)."""

    def __init__(self) -> None:
        self.memory = Memory()
        self.published: list[events.Event] = []
        self.commits = 0
        self.stale = 0

    def read(self, look: Callable[[MemorySession], T]) -> T:
        return look(MemorySession(self.memory))

    def run(self, decide: Callable[[MemorySession], T], *, conflict: str, attempts: int = 5) -> T:
        for _ in range(attempts):
            session = MemorySession(self.memory)
            result = decide(session)
            if session.saved and self.stale:
                self.stale -= 1
                continue
            ordered: list[ServiceRequest | Job] = []
            for aggregate in session.saved:
                if isinstance(aggregate, ServiceRequest) and aggregate.job is not None:
                    ordered.append(aggregate.job)
                ordered.append(aggregate)
            if not all(self._current(a) for a in ordered):
                continue
            for aggregate in ordered:
                self._commit(aggregate)
            self.published += notifications.describe(ordered)
            return result
        raise Conflict(conflict)

    def _current(self, aggregate: ServiceRequest | Job) -> bool:
        table: dict[str, Any] = (
            self.memory.requests if isinstance(aggregate, ServiceRequest) else self.memory.jobs
        )
        stored = table.get(aggregate.id)
        return (stored.version if stored else 0) == aggregate.version

    def _commit(self, aggregate: ServiceRequest | Job) -> None:
        self.commits += 1
        aggregate.version += 1
        if isinstance(aggregate, Job):
            job = aggregate
            if job.new_review is not None:
                self.memory.reviews[(job.id, job.new_review.side)] = job.new_review
            for side, moment in job.published:
                self.memory.reviews[(job.id, side)].published_at = moment
            kept = copy.deepcopy(job)
            kept.events, kept.new_review, kept.published = [], None, []
            self.memory.jobs[job.id] = kept
            return
        request = aggregate
        for pid, offer in request.offers.items():
            listing = request.listing(pid, offer.created_at or request.created_at)
            self.memory.listings[(pid, request.id)] = listing
        if request.new_quote is not None:
            self.memory.quotes[request.new_quote.id] = copy.deepcopy(request.new_quote)
        for quote_id, status in request.quote_status.items():
            self.memory.quotes[quote_id].status = status
            if status == "accepted":
                self.memory.quotes[quote_id].job_id = request.job_id
        kept = copy.deepcopy(request)
        kept.events, kept.new_quote, kept.job, kept.quote_status = [], None, None, {}
        self.memory.requests[request.id] = kept

    def of_type(self, type_: str) -> list[events.Event]:
        return [e for e in self.published if e.type == type_]


def person(user_id: str, *groups: str) -> Principal:
    return Principal(user_id=user_id, email=f"{user_id}@example.com", groups=frozenset(groups))


def customer(user_id: str = "customer") -> Principal:
    return person(user_id, CUSTOMERS)


def provider(user_id: str) -> Principal:
    return person(user_id, PROVIDERS)


def nearby(
    *provider_ids: str, lat: float = 38.72, lng: float = -9.14
) -> list[ranking.ProviderSnapshot]:
    """Online plumbers, the first nearest (about 100 m apart)."""
    return [
        ranking.ProviderSnapshot(
            provider_id=pid,
            lat=lat + n * 0.001,
            lng=lng,
            radius_km=15,
            online=True,
            categories=frozenset({"plumbing"}),
        )
        for n, pid in enumerate(provider_ids)
    ]


def marketplace(
    monkeypatch: pytest.MonkeyPatch, providers: list[ranking.ProviderSnapshot]
) -> MemoryUnitOfWork:
    """The services against an in-memory unit of work, with these providers online, the
    plumbing category and a provider's list of offers (no AWS at all)."""
    unit = MemoryUnitOfWork()

    def find(
        lat: float, lng: float, category: str, exclude: Any = (), *, k: int
    ) -> list[ranking.Ranked]:
        eligible = ranking.candidates_for(lat, lng, category, providers, exclude=exclude)
        return ranking.rank(eligible)[:k]

    def provider_offers(
        provider_id: str, limit: int, cursor: Any, *, pending_only: bool = False
    ) -> tuple[list[OfferListing], None]:
        mine = [
            listing
            for (pid, _), listing in unit.memory.listings.items()
            if pid == provider_id and (not pending_only or listing.status == "pending")
        ]
        return sorted(mine, key=lambda o: o.created_at, reverse=True)[:limit], None

    monkeypatch.setattr(matching, "find_candidates", find)
    monkeypatch.setattr(marketplace_store, "provider_offers", provider_offers)
    monkeypatch.setattr(profiles_repo, "categories", lambda: [{"id": "plumbing"}])
    monkeypatch.setattr(moderation_repo, "words", lambda: (set(), set()))
    runtime.use(marketplace=unit, market_settings=Settings())
    return unit
