"""The request, offer and quote status machines, enforced by the request aggregate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.dispatch import Settings
from chalicelib.domain.market import (
    OFFER_MACHINE,
    QUOTE_MACHINE,
    REQUEST_MACHINE,
    Offer,
    OfferStatus,
    QuoteStatus,
    RequestStatus,
)
from chalicelib.errors import Conflict
from tests.unit.fakes import T0, a_request

pytestmark = pytest.mark.unit


def test_request_offer_and_quote_statuses() -> None:
    REQUEST_MACHINE.check(RequestStatus.OPEN, RequestStatus.MATCHED)
    REQUEST_MACHINE.check(RequestStatus.MATCHED, RequestStatus.CANCELLED)
    with pytest.raises(Conflict, match="request is already expired"):
        REQUEST_MACHINE.check(RequestStatus.EXPIRED, RequestStatus.OPEN)
    with pytest.raises(Conflict, match="cannot go from matched to expired"):
        REQUEST_MACHINE.check(RequestStatus.MATCHED, RequestStatus.EXPIRED)
    for end in ("accepted", "declined", "expired", "withdrawn"):
        OFFER_MACHINE.check(OfferStatus.PENDING, end)
        with pytest.raises(Conflict):
            OFFER_MACHINE.check(end, OfferStatus.ACCEPTED)
    with pytest.raises(Conflict, match="offer is already withdrawn"):
        OFFER_MACHINE.check(OfferStatus.WITHDRAWN, OfferStatus.ACCEPTED)
    QUOTE_MACHINE.check(QuoteStatus.PENDING, QuoteStatus.ACCEPTED)
    with pytest.raises(Conflict):
        QUOTE_MACHINE.check(QuoteStatus.DECLINED, QuoteStatus.ACCEPTED)


def test_a_matched_request_cannot_expire_and_its_timer_is_only_disarmed() -> None:
    request = a_request(T0)
    request.offers = {"p": Offer("p", OfferStatus.PENDING, T0 + timedelta(minutes=1), 1.0)}
    request.accept_offer("p", T0, conversation_id="C")
    assert request.status == RequestStatus.MATCHED and request.due_at is None
    request.due_at = T0
    assert request.on_timer(T0 + timedelta(hours=1), [], Settings()) is False
    assert request.status == RequestStatus.MATCHED and request.due_at is None


def test_every_closing_path_goes_through_the_offer_machine() -> None:
    request = a_request(T0)
    request.offers = {"p": Offer("p", OfferStatus.PENDING, T0 + timedelta(minutes=1), 1.0)}
    request.decline_offer("p", T0)
    with pytest.raises(Conflict, match="You declined this offer"):
        request.accept_offer("p", T0, conversation_id="C")
    assert request.offers["p"].status == OfferStatus.DECLINED


@pytest.mark.parametrize(
    ("window", "state"),
    [
        (None, "accepted"),
        ((T0 + timedelta(hours=3), T0 + timedelta(hours=5)), "scheduled"),
        ((T0 - timedelta(minutes=5), T0 + timedelta(hours=1)), "accepted"),
    ],
)
def test_a_job_for_a_later_window_starts_scheduled(window: object, state: str) -> None:
    request = a_request(T0, window=window)
    request.offers = {"p": Offer("p", OfferStatus.PENDING, T0 + timedelta(minutes=1), 1.0)}
    job = request.accept_offer("p", T0, conversation_id="C")
    assert job.state == state
