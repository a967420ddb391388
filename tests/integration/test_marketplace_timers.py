"""The marketplace's timers, run by the scheduled sweep with the clock moved forward:
unanswered offers expire and the next candidates are offered, untaken requests expire and
the customer is told, quote requests close, review windows publish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib import ids, runtime
from chalicelib.errors import Conflict
from chalicelib.schemas.marketplace import QuoteIn, ReviewIn
from chalicelib.services import jobs, matching, notifications, offers, quotes, requests, timers
from chalicelib.services import reviews as review_service
from chalicelib.store import counters, keys
from chalicelib.store import marketplace as store
from chalicelib.store.models import ProviderItem
from tests.integration.marketplace_support import customer, provider, request_in
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.integration

SPOT = (40.40, -4.20)


@pytest.fixture(autouse=True)
def market(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalicelib.store import profiles
    from devstack import seed

    profiles.put_categories(seed.CATEGORIES)
    runtime.use(sinks=[("feed", notifications.record)])
    yield


def feed(user_id: str) -> list[tuple[str, dict]]:
    items, _ = store.feed(user_id, 50, None)
    return [(n.type, dict(n.data or {})) for n in items]


def pending_offer_ids(who) -> list[str]:
    return [o.id for o in store.provider_offers(who.user_id, 10, None, pending_only=True)[0]]


def statuses(request_id: str) -> dict[str, str]:
    stored = store.get_request(request_id)
    assert stored is not None
    return {pid: o.status for pid, o in stored.offers.items()}


def test_unanswered_offers_expire_and_the_next_candidate_is_offered(monkeypatch) -> None:
    monkeypatch.setenv(matching.OFFERS_AT_ONCE, "2")
    ranked = [provider(SPOT[0] + i * 0.01, SPOT[1]) for i in range(3)]  # nearest first
    buyer = customer()
    t0 = ids.now()
    request = requests.create(buyer, request_in(*SPOT), now=t0)
    first, second, third = ranked
    assert pending_offer_ids(first) and pending_offer_ids(second)
    assert pending_offer_ids(third) == []

    assert timers.sweep(t0 + timedelta(seconds=30))["changed"] == 0  # nothing due yet
    report = timers.sweep(t0 + timedelta(seconds=61))
    assert report["changed"] == 1
    assert statuses(request.id) == {
        first.user_id: "expired",
        second.user_id: "expired",
        third.user_id: "pending",
    }
    assert pending_offer_ids(first) == []
    assert len(pending_offer_ids(third)) == 1
    assert ("offer.withdrawn", "expired") in [(t, d.get("reason")) for t, d in feed(first.user_id)]
    assert "offer.new" in [t for t, _ in feed(third.user_id)]
    assert feed(buyer.user_id)[0][0] == "request.updated"

    # The third does not answer either, and nobody is left: the request expires.
    timers.sweep(t0 + timedelta(seconds=125))
    stored = store.get_request(request.id)
    assert stored is not None
    assert stored.status == "expired"
    assert stored.status_reason == "every candidate has been offered and none accepted"
    told = feed(buyer.user_id)[0]
    assert told[0] == "request.updated" and told[1]["status"] == "expired"
    assert stored.due_at is None  # its timer is disarmed: the due index no longer holds it
    later = t0 + timedelta(days=1)
    assert ("request", request.id) not in store.due_on(store.day_of(t0), later)


def test_a_request_nobody_takes_in_time_expires_and_the_customer_is_told(monkeypatch) -> None:
    monkeypatch.setenv(matching.REQUEST_TTL_SECONDS, "120")
    monkeypatch.setenv(matching.OFFER_TTL_SECONDS, "100")
    for i in range(4):
        provider(SPOT[0] + i * 0.01, SPOT[1])
    buyer = customer()
    t0 = ids.now()
    request = requests.create(buyer, request_in(*SPOT), now=t0)
    assert request.expires_at == ids.iso(t0 + timedelta(seconds=120))
    timers.sweep(t0 + timedelta(seconds=101))  # first 3 expire, the 4th is offered
    timers.sweep(t0 + timedelta(seconds=121))  # time is up
    stored = store.get_request(request.id)
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("expired", "the request's time is up")
    assert sorted(statuses(request.id).values()) == ["expired"] * 4
    assert feed(buyer.user_id)[0][1]["status"] == "expired"


def test_a_decline_is_followed_by_an_offer_to_the_next_candidate(monkeypatch) -> None:
    monkeypatch.setenv(matching.OFFERS_AT_ONCE, "1")
    first, second = provider(*SPOT), provider(SPOT[0] + 0.02, SPOT[1])
    buyer = customer()
    t0 = ids.now()
    request = requests.create(buyer, request_in(*SPOT), now=t0)
    offers.decline(first, pending_offer_ids(first)[0], now=t0 + timedelta(seconds=5))
    timers.sweep(t0 + timedelta(seconds=6))
    assert statuses(request.id) == {first.user_id: "declined", second.user_id: "pending"}
    job = offers.accept(second, pending_offer_ids(second)[0], now=t0 + timedelta(seconds=7))
    assert job.provider_id == second.user_id
    assert timers.sweep(t0 + timedelta(hours=1))["changed"] == 0  # a matched request rests


def test_a_quote_request_closes_when_its_time_is_up(monkeypatch) -> None:
    quoter, silent = provider(*SPOT), provider(SPOT[0] + 0.01, SPOT[1])
    buyer = customer()
    t0 = ids.now()
    request = requests.create(buyer, request_in(*SPOT, mode="quote"), now=t0)
    quote = quotes.create(
        quoter,
        request.id,
        QuoteIn.model_validate({"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 60}),
        now=t0 + timedelta(minutes=5),
    )
    assert timers.sweep(t0 + timedelta(hours=23))["changed"] == 0
    timers.sweep(t0 + timedelta(hours=24, seconds=1))
    stored = store.get_request(request.id)
    assert stored is not None
    assert (stored.status, stored.status_reason) == ("expired", "the time for quotes is up")
    assert store.quote(buyer.user_id, quote.id).status == "declined"  # type: ignore[union-attr]
    assert pending_offer_ids(silent) == []
    assert "offer.withdrawn" in [t for t, _ in feed(silent.user_id)]


def test_the_review_window_publishes_a_lone_review_and_rates_the_provider() -> None:
    pro = provider(*SPOT)
    buyer = customer()
    t0 = ids.now()
    requests.create(buyer, request_in(*SPOT), now=t0)
    job = offers.accept(pro, pending_offer_ids(pro)[0], now=t0)
    for state in ("en_route", "arrived", "in_progress", "completed"):
        jobs.transition(pro, job.id, state, now=t0)
    review_service.create(buyer, job.id, ReviewIn(rating=3, text="Late"), now=t0)
    assert review_service.about_provider(pro.user_id, _page()).items == []
    assert timers.sweep(t0 + timedelta(days=13))["changed"] == 0
    timers.sweep(t0 + timedelta(days=14, seconds=1))
    published = review_service.about_provider(pro.user_id, _page()).items
    assert [(r.rating, r.text) for r in published] == [(3, "Late")]
    rated = counters.exact(ProviderItem.get(keys.user(pro.user_id), keys.PROVIDER))
    assert (rated["rating_count"], rated["rating_sum"]) == (1, 3)
    with pytest.raises(Conflict, match="review window closed"):
        review_service.create(pro, job.id, ReviewIn(rating=5), now=t0 + timedelta(days=15))
    with pytest.raises(Conflict, match="already published"):
        review_service.create(pro, job.id, ReviewIn(rating=5), now=t0 + timedelta(days=1))


def test_the_sweep_catches_up_after_an_outage_and_reads_only_what_is_due() -> None:
    pro = provider(*SPOT)
    buyer = customer()
    t0 = ids.now()
    assert timers.sweep(t0)["due"] == 0  # the cursor starts today
    with count_dynamodb_calls() as idle:
        timers.sweep(t0)
    assert idle.scans == 0
    # the cursor, then yesterday's and today's due shards
    assert idle.calls == ["GetItem"] + ["Query"] * 2 * len(keys.due_shards("2026-01-01"))
    request = requests.create(buyer, request_in(*SPOT), now=t0)
    three_days_later = t0 + timedelta(days=3)
    with count_dynamodb_calls() as catching_up:
        report = timers.sweep(three_days_later)
    assert report == {"due": 1, "changed": 1, "failed": 0}
    assert catching_up.scans == 0
    assert store.get_request(request.id).status == "expired"  # type: ignore[union-attr]
    assert pending_offer_ids(pro) == []
    assert store.timer_cursor() == store.day_of(three_days_later)  # the past days are done


def test_the_scheduled_handler_does_what_is_due_now() -> None:
    """Invoked as Lambda invokes it (an EventBridge scheduled event), with the real clock."""
    from chalice.test import Client

    from app import app

    pro = provider(*SPOT)
    buyer = customer()
    long_ago = ids.now() - timedelta(hours=1)
    request = requests.create(buyer, request_in(*SPOT), now=long_ago)
    assert pending_offer_ids(pro)
    with Client(app) as client:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        report = client.lambda_.invoke("marketplace_timers", event).payload
    assert report["changed"] == 1
    assert store.get_request(request.id).status == "expired"  # type: ignore[union-attr]


def _page():
    from chalicelib.schemas.common import PageQuery

    return PageQuery()
