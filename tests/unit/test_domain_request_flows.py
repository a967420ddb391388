"""The request aggregate, change by change: what each change does to the offers, quotes,
status and timer, and exactly which events (pushes) it causes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from chalicelib.domain.dispatch import Mode, Settings
from chalicelib.domain.job import JobChanged
from chalicelib.domain.jobs import JobState
from chalicelib.domain.market import (
    REMOVED,
    Offer,
    OfferListing,
    OffersClosed,
    OffersMade,
    OfferStatus,
    Quote,
    QuoteStatus,
    QuoteSubmitted,
    RequestChanged,
    RequestStatus,
)
from chalicelib.domain.ranking import Candidate, Ranked
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict, NotFound
from tests.unit.fakes import T0, a_request

pytestmark = pytest.mark.unit

S = timedelta(seconds=1)
TWO_AT_ONCE = Settings(offers_at_once=2, quote_invitations=4)


def _ranked(*providers: str, km: float = 1.23456) -> list[Ranked]:
    return [Ranked(Candidate(p, km), 1.0 - i / 10) for i, p in enumerate(providers)]


def _pending(expires_in: timedelta = 60 * S, km: float = 1.0) -> Offer:
    return Offer("", OfferStatus.PENDING, T0 + expires_in, km)


def _with_offers(request: ServiceRequest, **offers: Offer) -> ServiceRequest:
    for pid, offer in offers.items():
        offer.provider_id = pid
    request.offers = dict(offers)
    return request


def _quote(provider: str, request: ServiceRequest, quote_id: str | None = None) -> Quote:
    return Quote(
        id=quote_id or f"{request.id}-{provider}",
        request_id=request.id,
        provider_id=provider,
        customer_id=request.customer_id,
        amount=Decimal("80.00"),
        currency="EUR",
        eta_minutes=30,
        note=None,
        conversation_id=f"C-{provider}",
    )


def _quoted(*providers: str, invited: tuple[str, ...] = ()) -> ServiceRequest:
    request = a_request(T0, mode="quote", expires_at=T0 + timedelta(hours=24))
    _with_offers(request, **{p: _pending(timedelta(hours=24)) for p in (*providers, *invited)})
    for p in providers:
        request.submit_quote(_quote(p, request))
    request.events.clear()
    return request


def _state(request: ServiceRequest) -> dict[str, tuple[str, str | None]]:
    return {p: (o.status, o.reason) for p, o in request.offers.items()}


# --- first offers -------------------------------------------------------------------------


def test_a_new_instant_request_is_offered_to_the_top_candidates_for_the_offer_ttl():
    request = a_request(T0)
    request.dispatch_first(_ranked("p1", "p2", "p3", "p4"), T0, TWO_AT_ONCE)
    assert list(request.offers) == ["p1", "p2"]
    assert request.offers["p1"] == Offer(
        "p1", OfferStatus.PENDING, T0 + TWO_AT_ONCE.offer_ttl, 1.23, created_at=T0
    )
    assert request.due_at == T0 + TWO_AT_ONCE.offer_ttl
    assert request.events == [OffersMade(("p1", "p2")), RequestChanged(actor="customer")]


def test_a_new_quote_request_invites_providers_until_the_request_expires():
    request = a_request(T0, mode="quote", expires_at=T0 + timedelta(hours=24))
    request.dispatch_first(_ranked("p1", "p2", "p3", "p4", "p5"), T0, TWO_AT_ONCE)
    assert list(request.offers) == ["p1", "p2", "p3", "p4"]
    assert {o.expires_at for o in request.offers.values()} == {T0 + timedelta(hours=24)}
    assert request.due_at == T0 + timedelta(hours=24)


# --- reading ------------------------------------------------------------------------------


def test_who_sees_a_request():
    request = _with_offers(a_request(T0), p1=_pending())
    assert request.visible_to("customer")
    assert request.visible_to("p1")
    assert not request.visible_to("stranger")


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (RequestStatus.MATCHED, "another provider already took this request"),
        (RequestStatus.EXPIRED, "the request has expired"),
        (RequestStatus.CANCELLED, "the customer cancelled the request"),
        (RequestStatus.OPEN, "the request is open"),
    ],
)
def test_why_a_request_is_not_open(status: RequestStatus, why: str):
    assert a_request(T0, status=status).why_not_open().detail == why


def test_a_provider_lists_its_offer_with_the_approximate_place():
    request = _quoted("p1")
    request.window = (T0 + timedelta(hours=2), T0 + timedelta(hours=3))
    assert request.listing("p1", T0) == OfferListing(
        request_id=request.id,
        provider_id="p1",
        customer_id="customer",
        mode=Mode.QUOTE,
        status=OfferStatus.PENDING,
        reason=None,
        expires_at=T0 + timedelta(hours=24),
        distance_km=1.0,
        category="plumbing",
        description="Leaking pipe",
        approx_lat=38.72,
        approx_lng=-9.14,
        window=request.window,
        quote_id=f"{request.id}-p1",
        job_id=None,
        created_at=T0,
    )


def test_only_the_accepted_offer_lists_the_job():
    request = _with_offers(a_request(T0), p1=_pending(), p2=_pending())
    job = request.accept_offer("p1", T0, conversation_id="C")
    assert request.listing("p1", T0).job_id == job.id
    assert request.listing("p2", T0).job_id is None


# --- the provider's answers ---------------------------------------------------------------


def test_an_unknown_offer_is_not_found():
    with pytest.raises(NotFound) as caught:
        a_request(T0).offer_of("p9")
    assert caught.value.detail == "No request 01JREQUEST0000000000000000 of yours."


def test_accepting_an_instant_offer_starts_the_job_as_the_provider():
    request = _with_offers(a_request(T0), p1=_pending(), p2=_pending())
    job = request.accept_offer("p1", T0, conversation_id="C")
    assert job.events == [JobChanged(job, "p1")]
    assert _state(request) == {
        "p1": (OfferStatus.ACCEPTED, None),
        "p2": (OfferStatus.WITHDRAWN, "another provider took the request"),
    }
    assert request.events == [
        OffersClosed(("p2",), OfferStatus.WITHDRAWN, "taken"),
        RequestChanged(),
    ]


def test_an_offer_expires_at_its_expiry_instant():
    request = _with_offers(a_request(T0), p1=_pending(60 * S))
    with pytest.raises(Conflict) as caught:
        request.accept_offer("p1", T0 + 60 * S, conversation_id="C")
    assert caught.value.detail == "This offer expired at 2026-05-01T09:01:00.000Z."


def test_a_quote_request_cannot_be_accepted_like_an_offer():
    request = _quoted(invited=("p1",))
    with pytest.raises(Conflict) as caught:
        request.accept_offer("p1", T0, conversation_id="C")
    assert caught.value.detail == (
        f"Request {request.id} takes quotes: send one with POST /requests/{request.id}/quotes."
    )


def test_declining_closes_only_that_offer_and_asks_the_next_candidate_now():
    request = _with_offers(a_request(T0), p1=_pending(), p2=_pending())
    request.decline_offer("p1", T0 + 5 * S)
    assert _state(request) == {
        "p1": (OfferStatus.DECLINED, "declined by the provider"),
        "p2": (OfferStatus.PENDING, None),
    }
    assert request.due_at == T0 + 5 * S
    assert request.events == [RequestChanged()]


def test_a_provider_who_quoted_cannot_decline():
    request = _quoted("p1")
    with pytest.raises(Conflict) as caught:
        request.decline_offer("p1", T0)
    assert caught.value.detail == "You have quoted on this request: the customer decides now."


def test_quoting_rules():
    instant = _with_offers(a_request(T0), p1=_pending())
    with pytest.raises(Conflict) as caught:
        instant.submit_quote(_quote("p1", instant))
    assert caught.value.detail == (
        "This request is instant: accept its offer (POST /offers/{id}/accept) instead of quoting."
    )
    request = _quoted("p1", invited=("p2",))
    with pytest.raises(Conflict) as caught:
        request.submit_quote(_quote("p1", request, "second"))
    assert caught.value.detail == f"You already quoted on this request (quote {request.id}-p1)."
    request.decline_offer("p2", T0)
    with pytest.raises(Conflict) as caught:
        request.submit_quote(_quote("p2", request))
    assert caught.value.detail == "Your invitation to quote is declined."
    assert "p2" not in request.quotes


def test_a_quote_is_announced_to_the_customer():
    request = _quoted(invited=("p1",))
    quote = _quote("p1", request)
    request.submit_quote(quote)
    assert request.new_quote is quote
    assert request.events == [QuoteSubmitted(quote)]


# --- the customer's choice ----------------------------------------------------------------


def test_choosing_a_quote_declines_the_others_and_withdraws_the_invitations():
    request = _quoted("p1", "p2", invited=("p3",))
    chosen = _quote("p1", request)
    job = request.accept_quote(chosen, T0 + 60 * S)
    assert (job.quote_id, job.price, job.conversation_id) == (chosen.id, ("80.00", "EUR"), "C-p1")
    assert job.events == [JobChanged(job, "customer")]
    assert request.status == RequestStatus.MATCHED and request.job_id == job.id
    assert _state(request) == {
        "p1": (OfferStatus.ACCEPTED, None),
        "p2": (OfferStatus.WITHDRAWN, "the customer chose another quote"),
        "p3": (OfferStatus.WITHDRAWN, "the customer chose another quote"),
    }
    assert request.quote_status == {
        chosen.id: QuoteStatus.ACCEPTED,
        f"{request.id}-p2": QuoteStatus.DECLINED,
    }
    assert request.events == [
        OffersClosed(("p2", "p3"), OfferStatus.WITHDRAWN, "another_quote"),
        RequestChanged(actor="customer"),
    ]


def test_a_quote_can_be_chosen_once_and_only_while_the_request_is_open():
    request = _quoted("p1", "p2")
    request.accept_quote(_quote("p1", request), T0)
    with pytest.raises(Conflict) as caught:
        request.accept_quote(_quote("p2", request), T0)
    assert caught.value.detail == "You already chose a quote for this request."
    expired = _quoted("p1")
    expired.status = RequestStatus.EXPIRED
    with pytest.raises(Conflict) as caught:
        expired.accept_quote(_quote("p1", expired), T0)
    assert caught.value.detail == "The request is expired."


def test_a_quote_that_is_not_the_providers_one_on_this_request_is_refused():
    request = _quoted("p1")
    with pytest.raises(Conflict):
        request.accept_quote(_quote("p1", request, "someone-elses"), T0)
    assert request.status == RequestStatus.OPEN
    assert request.offers["p1"].status == OfferStatus.PENDING


# --- cancel and remove --------------------------------------------------------------------


def test_cancelling_an_open_request_withdraws_offers_and_declines_quotes():
    request = _quoted("p1", invited=("p2",))
    request.decline_offer("p2", T0)
    request.events.clear()
    request.cancel("changed my mind", T0)
    assert request.status_reason == "cancelled by the customer: changed my mind"
    assert _state(request) == {
        "p1": (OfferStatus.WITHDRAWN, "the customer cancelled the request"),
        "p2": (OfferStatus.DECLINED, "declined by the provider"),
    }
    assert request.quote_status == {f"{request.id}-p1": QuoteStatus.DECLINED}
    assert request.events == [
        OffersClosed(("p1",), OfferStatus.WITHDRAWN, "cancelled"),
        RequestChanged(actor="customer"),
    ]


def test_cancelling_a_matched_request_cancels_its_job_as_the_customer():
    request = _with_offers(a_request(T0), p1=_pending())
    job = request.accept_offer("p1", T0, conversation_id="C")
    request.events.clear()
    request.cancel(None, T0 + 90 * S, job)
    assert request.status_reason == "cancelled by the customer"
    assert request.job is job and job.state == JobState.CANCELLED
    assert job.history[-1] == {
        "from": "accepted",
        "to": "cancelled",
        "by": "customer",
        "at": "2026-05-01T09:01:30.000Z",
    }
    assert job.events[-1] == JobChanged(job, "customer")
    assert request.events == [RequestChanged(actor="customer")]


def test_a_removed_open_request_loses_its_text_and_ends():
    request = _quoted("p1", invited=("p2",))
    request.decline_offer("p2", T0)
    request.events.clear()
    request.remove()
    assert request.description == REMOVED
    assert (request.status, request.status_reason) == (
        RequestStatus.CANCELLED,
        "removed by a moderator",
    )
    assert _state(request) == {
        "p1": (OfferStatus.WITHDRAWN, "removed by a moderator"),
        "p2": (OfferStatus.DECLINED, "declined by the provider"),
    }
    assert request.quote_status == {f"{request.id}-p1": QuoteStatus.DECLINED}
    assert request.events == [
        OffersClosed(("p1",), OfferStatus.WITHDRAWN, "removed"),
        RequestChanged(),
    ]


def test_a_removed_matched_request_keeps_its_status():
    request = _with_offers(a_request(T0), p1=_pending())
    request.accept_offer("p1", T0, conversation_id="C")
    request.events.clear()
    request.remove()
    assert request.description == REMOVED
    assert (request.status, request.offers["p1"].status) == (
        RequestStatus.MATCHED,
        OfferStatus.ACCEPTED,
    )
    assert request.events == [RequestChanged()]


def test_a_deleted_providers_pending_offer_is_withdrawn_and_the_next_candidate_asked_now():
    request = _with_offers(a_request(T0), p1=_pending(), p2=_pending())
    assert request.drop_provider("p1", T0 + 5 * S) is True
    assert _state(request) == {
        "p1": (OfferStatus.WITHDRAWN, "account deleted"),
        "p2": (OfferStatus.PENDING, None),
    }
    assert request.due_at == T0 + 5 * S
    assert request.quote_status == {}
    assert request.events == [RequestChanged()]


def test_a_deleted_providers_quote_is_withdrawn_and_the_customer_told():
    request = _quoted("p1", "p2")
    assert request.drop_provider("p1", T0 + 5 * S) is True
    assert request.quote_status == {f"{request.id}-p1": QuoteStatus.WITHDRAWN}
    assert _state(request)["p2"] == (OfferStatus.PENDING, None)
    assert request.due_at is None  # a quote request has no sweep to hurry
    assert request.events == [RequestChanged()]
    # The customer can still choose the other quote.
    request.accept_quote(_quote("p2", request), T0 + 6 * S)
    assert request.status == RequestStatus.MATCHED


def test_deleting_a_provider_leaves_requests_it_has_no_open_part_in_alone():
    untouched = _with_offers(a_request(T0), p1=_pending())
    assert untouched.drop_provider("p9", T0) is False
    declined = _with_offers(a_request(T0), p1=_pending(), p2=_pending())
    declined.decline_offer("p1", T0)
    declined.events.clear()
    declined.due_at = None
    assert declined.drop_provider("p1", T0 + 5 * S) is False
    matched = _with_offers(a_request(T0), p1=_pending())
    matched.accept_offer("p1", T0, conversation_id="C")
    matched.events.clear()
    assert matched.drop_provider("p1", T0 + 5 * S) is False
    cancelled = _quoted("p1")
    cancelled.cancel(None, T0)
    cancelled.events.clear()
    assert cancelled.drop_provider("p1", T0 + 5 * S) is False
    assert cancelled.quote_status == {f"{cancelled.id}-p1": QuoteStatus.DECLINED}
    for request in (untouched, declined, matched, cancelled):
        assert request.events == [] and request.due_at is None
    assert _state(declined)["p1"] == (OfferStatus.DECLINED, "declined by the provider")
    assert _state(matched)["p1"] == (OfferStatus.ACCEPTED, None)


# --- the timer ----------------------------------------------------------------------------


def test_when_an_instant_request_wants_fresh_candidates():
    def wants(request: ServiceRequest, now_s: int = 30) -> bool:
        return request.wants_candidates(T0 + now_s * S, TWO_AT_ONCE)

    assert wants(a_request(T0))  # due_at None: not armed yet
    assert wants(_with_offers(a_request(T0), p1=_pending()))  # one live of two
    assert not wants(_with_offers(a_request(T0), p1=_pending(), p2=_pending()))  # two live
    assert wants(_with_offers(a_request(T0), p1=_pending(), p2=_pending(30 * S)))  # p2 ends now
    assert wants(a_request(T0, due_at=T0 + 30 * S))  # the timer is due now
    assert not wants(a_request(T0, due_at=T0 + 31 * S))  # not yet
    assert not wants(a_request(T0), now_s=15 * 60)  # the request's time is up
    assert not wants(a_request(T0, mode="quote"))
    assert not wants(a_request(T0, status=RequestStatus.MATCHED))


def test_the_timer_expires_late_offers_and_tops_up_the_live_ones():
    request = _with_offers(a_request(T0), p1=_pending(60 * S), p2=_pending(120 * S))
    now = T0 + 60 * S
    request.due_at = now
    assert request.on_timer(now, _ranked("p1", "p2", "p3", "p4"), TWO_AT_ONCE) is True
    assert _state(request) == {
        "p1": (OfferStatus.EXPIRED, "nobody answered in time"),
        "p2": (OfferStatus.PENDING, None),
        "p3": (OfferStatus.PENDING, None),
    }
    assert request.offers["p3"].expires_at == now + TWO_AT_ONCE.offer_ttl
    assert request.due_at == T0 + 120 * S
    assert request.events == [
        OffersClosed(("p1",), OfferStatus.EXPIRED, "expired"),
        OffersMade(("p3",)),
        RequestChanged(),
    ]


def test_offers_made_alone_are_a_change():
    request = _with_offers(a_request(T0), p1=_pending(120 * S))
    assert request.on_timer(T0 + 60 * S, _ranked("p1", "p2"), TWO_AT_ONCE) is True
    assert request.events == [OffersMade(("p2",)), RequestChanged()]


def test_an_expired_offer_alone_is_a_change():
    request = _with_offers(a_request(T0), p1=_pending(60 * S), p2=_pending(120 * S))
    assert request.on_timer(T0 + 60 * S, _ranked("p1", "p2"), TWO_AT_ONCE) is True
    assert request.status == RequestStatus.OPEN
    assert request.events == [
        OffersClosed(("p1",), OfferStatus.EXPIRED, "expired"),
        RequestChanged(),
    ]


def test_a_timer_that_fires_early_changes_nothing():
    request = _with_offers(a_request(T0), p1=_pending(60 * S))
    request.due_at = T0 + 60 * S
    assert request.on_timer(T0 + 59 * S, _ranked("p2"), TWO_AT_ONCE) is False
    assert request.offers["p1"].status == OfferStatus.PENDING and request.events == []


def test_an_instant_request_with_nobody_left_expires_with_the_reason():
    request = _with_offers(a_request(T0), p1=_pending(60 * S))
    assert request.on_timer(T0 + 15 * 60 * S, _ranked("p1"), TWO_AT_ONCE) is True
    assert (request.status, request.status_reason, request.due_at) == (
        RequestStatus.EXPIRED,
        "the request's time is up",
        None,
    )
    assert request.events == [
        OffersClosed(("p1",), OfferStatus.EXPIRED, "expired"),
        RequestChanged(),
    ]


def test_a_quote_request_expires_when_its_time_is_up():
    request = _quoted("p1", invited=("p2",))
    assert request.on_timer(T0 + timedelta(hours=23), [], TWO_AT_ONCE) is False
    assert request.due_at == T0 + timedelta(hours=24) and request.events == []
    assert request.on_timer(T0 + timedelta(hours=24), [], TWO_AT_ONCE) is True
    assert (request.status, request.status_reason) == (
        RequestStatus.EXPIRED,
        "the time for quotes is up",
    )
    why = "the request expired: the time for quotes is up"
    assert _state(request) == {"p1": (OfferStatus.EXPIRED, why), "p2": (OfferStatus.EXPIRED, why)}
    assert request.quote_status == {f"{request.id}-p1": QuoteStatus.DECLINED}
    assert request.events == [
        OffersClosed(("p1", "p2"), OfferStatus.EXPIRED, "request_expired"),
        RequestChanged(),
    ]
