"""The marketplace services against an in-memory unit of work (no AWS): what each use case
decides, the events it publishes, and how it behaves when it loses a race."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.jobs import IllegalTransition
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.marketplace import QuoteIn, RequestIn, ReviewIn
from chalicelib.services import jobs, offers, quotes, requests, reviews, timers
from tests.unit.fakes import T0, customer, marketplace, nearby, provider

pytestmark = pytest.mark.unit

BUYER = customer()
PROS = [provider(f"pro-{n}") for n in range(5)]


def ask(mode: str = "instant", **extra: object) -> RequestIn:
    return RequestIn.model_validate(
        {
            "category": "plumbing",
            "description": "Leaking pipe",
            "location": {"lat": 38.72, "lng": -9.14, "address": "Rua Augusta 1"},
            "mode": mode,
            **extra,
        }
    )


@pytest.fixture
def market(monkeypatch: pytest.MonkeyPatch):
    return marketplace(monkeypatch, nearby(*(p.user_id for p in PROS)))


def test_a_new_instant_request_is_offered_to_the_three_nearest(market) -> None:
    out = requests.create(BUYER, ask(), now=T0)
    assert (out.status, out.offers_sent, out.offers_pending) == ("open", 3, 3)
    offered = [e.recipients for e in market.of_type("offer.new")]
    assert offered == [("pro-0",), ("pro-1",), ("pro-2",)]
    assert [e.type for e in market.published][-1] == "request.updated"
    listing = market.memory.listings[("pro-0", out.id)]
    assert listing.approx_lat == 38.72 and listing.expires_at == T0 + timedelta(seconds=60)
    assert market.memory.requests[out.id].due_at == T0 + timedelta(seconds=60)


def test_a_request_nobody_can_take_expires_at_once(monkeypatch) -> None:
    unit = marketplace(monkeypatch, [])
    out = requests.create(BUYER, ask(), now=T0)
    assert (out.status, out.status_reason) == (
        "expired",
        "no provider is available nearby right now",
    )
    assert [e.type for e in unit.published] == ["request.updated"]


def test_the_first_accept_wins_and_the_others_are_withdrawn(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    market.published.clear()
    job = offers.accept(PROS[1], rid, now=T0 + timedelta(seconds=5))
    assert (job.state, job.provider_id, job.customer_id) == ("accepted", "pro-1", "customer")
    assert [(e.type, e.recipients) for e in market.published] == [
        ("job.updated", ("customer", "pro-1")),
        ("offer.withdrawn", ("pro-0", "pro-2")),
        ("request.updated", ("customer",)),
    ]
    assert market.published[1].data["reason"] == "taken"
    with pytest.raises(Conflict, match="withdrawn: another provider took the request"):
        offers.accept(PROS[0], rid, now=T0 + timedelta(seconds=6))
    again = offers.accept(PROS[1], rid, now=T0 + timedelta(seconds=7))
    assert again.id == job.id  # accepting what one won answers the job


def test_a_decision_that_loses_a_race_is_taken_again_on_fresh_reads(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    commits = market.commits
    market.stale = 2
    job = offers.accept(PROS[0], rid, now=T0)
    assert market.commits == commits + 2  # the request and its job, once
    assert len(market.of_type("job.updated")) == 1 and job.provider_id == "pro-0"
    market.stale = 5
    with pytest.raises(Conflict, match="kept changing"):
        jobs.transition(PROS[0], job.id, "en_route")


def test_an_expired_offer_cannot_be_accepted(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    with pytest.raises(Conflict, match="This offer expired at"):
        offers.accept(PROS[0], rid, now=T0 + timedelta(seconds=61))


def test_a_decline_moves_the_timer_to_now_and_cannot_be_repeated(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    later = T0 + timedelta(seconds=3)
    out = offers.decline(PROS[0], rid, now=later)
    assert (out.status, out.status_reason) == ("declined", "declined by the provider")
    assert market.memory.requests[rid].due_at == later
    with pytest.raises(Conflict, match="You declined this offer"):
        offers.decline(PROS[0], rid, now=later)
    with pytest.raises(NotFound):
        offers.decline(PROS[4], rid, now=later)  # never offered


def test_the_timer_expires_unanswered_offers_and_asks_the_next(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    market.published.clear()
    assert timers.on_request_timer(rid, T0 + timedelta(seconds=30)) is False  # not due yet
    assert market.published == []
    assert timers.on_request_timer(rid, T0 + timedelta(seconds=61)) is True
    stored = market.memory.requests[rid]
    assert {p: o.status for p, o in stored.offers.items()} == {
        "pro-0": "expired", "pro-1": "expired", "pro-2": "expired",
        "pro-3": "pending", "pro-4": "pending",
    }  # fmt: skip
    assert [e.type for e in market.published] == [
        "offer.withdrawn",
        "offer.new",
        "offer.new",
        "request.updated",
    ]
    timers.on_request_timer(rid, T0 + timedelta(seconds=122))
    assert market.memory.requests[rid].status == "expired"
    assert market.memory.requests[rid].due_at is None


def test_quotes_are_one_per_provider_and_choosing_one_declines_the_rest(market) -> None:
    rid = requests.create(BUYER, ask("quote"), now=T0).id
    price = QuoteIn.model_validate(
        {"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 30}
    )
    mine = quotes.create(PROS[0], rid, price, now=T0)
    other = quotes.create(PROS[1], rid, price, now=T0)
    assert mine.id.startswith(rid) and mine.price.amount == Decimal("80.00")
    assert [e.type for e in market.of_type("quote.new")] == ["quote.new", "quote.new"]
    with pytest.raises(Conflict, match="already quoted"):
        quotes.create(PROS[0], rid, price, now=T0)
    with pytest.raises(NotFound):
        quotes.create(provider("stranger"), rid, price, now=T0)
    job = quotes.accept(BUYER, mine.id, now=T0 + timedelta(minutes=5))
    assert (job.quote_id, job.conversation_id) == (mine.id, mine.conversation_id)
    assert job.price is not None and job.price.amount == Decimal("80.00")
    assert market.memory.quotes[other.id].status == "declined"
    assert market.memory.quotes[mine.id].status == "accepted"
    with pytest.raises(Conflict, match="This quote is declined"):
        quotes.accept(BUYER, other.id)


def test_cancelling_an_open_request_withdraws_its_offers(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    out = requests.cancel(BUYER, rid, reason="found someone", now=T0)
    assert (out.status, out.status_reason) == (
        "cancelled",
        "cancelled by the customer: found someone",
    )
    (withdrawn,) = market.of_type("offer.withdrawn")
    assert (withdrawn.recipients, withdrawn.data["reason"]) == (
        ("pro-0", "pro-1", "pro-2"),
        "cancelled",
    )
    with pytest.raises(Conflict, match="already cancelled"):
        requests.cancel(BUYER, rid, now=T0)
    with pytest.raises(NotFound):
        requests.cancel(customer("someone-else"), rid, now=T0)


def test_a_job_is_cancelled_with_its_request_only_while_the_rules_allow(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    job = offers.accept(PROS[0], rid, now=T0)
    for step in ("en_route", "arrived", "in_progress"):
        jobs.transition(PROS[0], job.id, step, now=T0)
    with pytest.raises(IllegalTransition, match="can cancel only while"):
        requests.cancel(BUYER, rid, now=T0)
    assert market.memory.requests[rid].status == "matched"


def test_cancelling_the_job_cancels_the_request(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    job = offers.accept(PROS[0], rid, now=T0)
    out = jobs.transition(PROS[0], job.id, "cancelled", now=T0)
    assert out.state == "cancelled"
    request = market.memory.requests[rid]
    assert (request.status, request.status_reason) == (
        "cancelled",
        "the job was cancelled by the provider",
    )


def test_two_reviews_publish_both_and_a_lone_review_waits_for_the_window(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    job = offers.accept(PROS[0], rid, now=T0)
    for step in ("en_route", "arrived", "in_progress", "completed"):
        jobs.transition(PROS[0], job.id, step, now=T0)
    first = reviews.create(BUYER, job.id, ReviewIn(rating=4), now=T0 + timedelta(hours=1))
    assert first.published_at is None
    second = reviews.create(PROS[0], job.id, ReviewIn(rating=5), now=T0 + timedelta(hours=2))
    assert second.published_at is not None
    assert all(r.published_at is not None for r in market.memory.reviews.values())
    with pytest.raises(Conflict, match="already reviewed"):
        reviews.create(BUYER, job.id, ReviewIn(rating=1), now=T0 + timedelta(hours=3))

    lone = offers.accept(PROS[1], requests.create(BUYER, ask(), now=T0).id, now=T0)
    for step in ("en_route", "arrived", "in_progress", "completed"):
        jobs.transition(PROS[1], lone.id, step, now=T0)
    reviews.create(BUYER, lone.id, ReviewIn(rating=2), now=T0)
    assert timers.on_job_timer(lone.id, T0 + timedelta(days=13)) is False
    assert timers.on_job_timer(lone.id, T0 + timedelta(days=14, seconds=1)) is True
    assert market.memory.reviews[(lone.id, "customer")].published_at == T0 + timedelta(days=14)


def _completed_job(market, pro):
    job = offers.accept(pro, requests.create(BUYER, ask(), now=T0).id, now=T0)
    for step in ("en_route", "arrived", "in_progress", "completed"):
        jobs.transition(pro, job.id, step, now=T0)
    return job


def test_each_change_that_keeps_losing_races_says_what_to_do(market) -> None:
    """After the unit of work's last lost race the caller gets a 409 that names what kept
    changing and what to do; nothing was saved."""
    rid = requests.create(BUYER, ask(), now=T0).id
    quoting = requests.create(BUYER, ask("quote"), now=T0).id
    price = QuoteIn.model_validate({"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 9})
    quote = quotes.create(PROS[3], quoting, price, now=T0)
    done = _completed_job(market, PROS[1])
    moving = offers.accept(PROS[2], requests.create(BUYER, ask(), now=T0).id, now=T0)
    tries = {
        "The request kept changing while you declined; retry.": lambda: offers.decline(
            PROS[0], rid, now=T0
        ),
        "The request kept changing while you accepted; look at it again.": lambda: offers.accept(
            PROS[0], rid, now=T0
        ),
        "The request kept changing while you quoted; retry.": lambda: quotes.create(
            PROS[4], quoting, price, now=T0
        ),
        "The job kept changing while we tried to update it; read it and retry.": lambda: (
            jobs.transition(PROS[2], moving.id, "en_route", now=T0)
        ),
        "The request kept changing while you chose; look at it again.": lambda: quotes.accept(
            BUYER, quote.id, now=T0
        ),
        "The job kept changing while we saved your review; retry.": lambda: reviews.create(
            BUYER, done.id, ReviewIn(rating=5), now=T0
        ),
    }
    for message, attempt in tries.items():
        market.stale = 5
        with pytest.raises(Conflict, match=f"^{re.escape(message)}$"):
            attempt()
    assert market.memory.requests[rid].offers[PROS[0].user_id].status == "pending"
    assert market.memory.quotes[quote.id].status == "pending"
    assert market.memory.reviews == {}
    assert PROS[4].user_id not in market.memory.requests[quoting].quotes
    assert market.memory.jobs[moving.id].state == "accepted"


def test_a_declined_offer_keeps_the_time_it_was_made(market) -> None:
    rid = requests.create(BUYER, ask(), now=T0).id
    declined = offers.decline(PROS[0], rid, now=T0 + timedelta(seconds=40))
    assert (declined.status, declined.created_at) == ("declined", "2026-05-01T09:00:00.000Z")


def test_accepting_an_accepted_quote_again_answers_the_same_job(market) -> None:
    rid = requests.create(BUYER, ask("quote"), now=T0).id
    price = QuoteIn.model_validate({"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 9})
    quote = quotes.create(PROS[0], rid, price, now=T0)
    first = quotes.accept(BUYER, quote.id, now=T0)
    again = quotes.accept(BUYER, quote.id, now=T0 + timedelta(minutes=1))
    assert again.id == first.id and again.next == first.next == ["cancelled"]
    assert len(market.memory.jobs) == 1


def test_a_quote_keeps_its_note_and_time_and_a_job_move_names_who_made_it(market) -> None:
    rid = requests.create(BUYER, ask("quote"), now=T0).id
    body = {"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 9, "note": "Today"}
    made = quotes.create(PROS[0], rid, QuoteIn.model_validate(body), now=T0 + timedelta(hours=1))
    assert (made.note, made.created_at) == ("Today", "2026-05-01T10:00:00.000Z")
    job = quotes.accept(BUYER, made.id, now=T0 + timedelta(hours=2))
    jobs.transition(PROS[0], job.id, "en_route", now=T0 + timedelta(hours=3))
    moved = market.of_type("job.updated")[-1]
    assert (moved.data["state"], moved.actor) == ("en_route", PROS[0].user_id)
    assert jobs.get(PROS[0], job.id).next == ["arrived", "cancelled"]


def test_quoting_on_a_request_one_was_not_invited_to_or_that_does_not_exist_is_the_same_404(
    market,
) -> None:
    rid = requests.create(BUYER, ask("quote"), now=T0).id
    body = QuoteIn.model_validate({"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 9})
    missing = "01JNOSUCHREQUEST0000000000"
    with pytest.raises(NotFound, match=f"^No request {missing} of yours.$"):
        quotes.create(PROS[0], missing, body, now=T0)
    with pytest.raises(NotFound, match=f"^No request {rid} of yours.$"):
        quotes.create(provider("stranger"), rid, body, now=T0)


def test_a_match_records_the_milliseconds_from_the_request_to_its_job(market) -> None:
    from chalicelib import observability

    rid = requests.create(BUYER, ask(), now=T0).id
    observability.metrics.clear_metrics()
    try:
        offers.accept(PROS[0], rid, now=T0 + timedelta(seconds=40))
        recorded = observability.metrics.metric_set
        assert recorded["TimeToAccept"]["Value"] == [40_000.0]
        assert recorded["TimeToAccept"]["Unit"] == "Milliseconds"
        assert recorded["Matches"]["Value"] == [1.0]
    finally:
        observability.metrics.clear_metrics()


def test_an_offer_is_listed_exactly_while_it_can_be_accepted(market) -> None:
    from chalicelib.schemas.common import PageQuery

    rid = requests.create(BUYER, ask(), now=T0).id
    ttl = timedelta(seconds=60)  # the offers' life (SUMMON_OFFER_TTL_SECONDS default)
    just_before = T0 + ttl - timedelta(milliseconds=1)
    listed = offers.list_pending(PROS[0], PageQuery(), now=just_before).items
    assert [o.request_id for o in listed] == [rid]
    assert offers.list_pending(PROS[0], PageQuery(), now=T0 + ttl).items == []
    with pytest.raises(Conflict, match="This offer expired at"):
        offers.accept(PROS[0], rid, now=T0 + ttl)
