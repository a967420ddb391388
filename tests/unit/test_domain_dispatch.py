"""Dispatch policy: K offers at once, re-dispatch to the next candidates, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.dispatch import (
    INSTANT_REQUEST_TTL,
    OFFER_TTL,
    OFFERS_AT_ONCE,
    QUOTE_REQUEST_TTL,
    Mode,
    Settings,
    next_candidates,
    plan_dispatch,
)

pytestmark = pytest.mark.unit

T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
RANKED = ["p1", "p2", "p3", "p4", "p5"]


def test_policy_constants() -> None:
    assert OFFERS_AT_ONCE == 3
    settings = Settings()
    assert settings.offer_ttl == timedelta(seconds=60) == OFFER_TTL
    assert settings.request_ttl(Mode.INSTANT) == timedelta(minutes=15)
    assert settings.request_ttl(Mode.QUOTE) == QUOTE_REQUEST_TTL
    assert INSTANT_REQUEST_TTL < QUOTE_REQUEST_TTL


def test_next_candidates_skip_anyone_already_offered_in_rank_order() -> None:
    assert next_candidates(RANKED, set(), 3) == ["p1", "p2", "p3"]
    assert next_candidates(RANKED, {"p1", "p3"}, 2) == ["p2", "p4"]
    assert next_candidates(RANKED, set(RANKED), 3) == []
    assert next_candidates(["p1", "p1", "p2"], set(), 3) == ["p1", "p2"]
    assert next_candidates(RANKED, set(), 0) == []


def test_a_new_request_goes_to_the_top_three_at_once() -> None:
    plan = plan_dispatch(
        now=T0, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=0, ranked=RANKED,
        already_offered=set(),
    )  # fmt: skip
    assert plan.offer_to == ("p1", "p2", "p3")
    assert not plan.expire_request


def test_when_one_offer_lapses_the_next_candidate_gets_one() -> None:
    plan = plan_dispatch(
        now=T0 + OFFER_TTL, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=2, ranked=RANKED,
        already_offered={"p1", "p2", "p3"},
    )  # fmt: skip
    assert plan.offer_to == ("p4",)


def test_with_all_slots_live_the_dispatcher_waits() -> None:
    plan = plan_dispatch(
        now=T0, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=3, ranked=RANKED,
        already_offered={"p1", "p2", "p3"},
    )  # fmt: skip
    assert plan.offer_to == ()
    assert not plan.expire_request


def test_a_request_nobody_takes_expires_when_candidates_run_out() -> None:
    plan = plan_dispatch(
        now=T0 + timedelta(minutes=3), expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=0,
        ranked=RANKED, already_offered=set(RANKED),
    )  # fmt: skip
    assert plan.expire_request
    assert plan.offer_to == ()
    # a request with no candidate at all expires straight away
    assert plan_dispatch(
        now=T0, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=0, ranked=[],
        already_offered=set(),
    ).expire_request  # fmt: skip


def test_a_request_expires_when_its_time_is_up_even_with_candidates_left() -> None:
    plan = plan_dispatch(
        now=T0 + INSTANT_REQUEST_TTL, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=1,
        ranked=RANKED, already_offered={"p1"},
    )  # fmt: skip
    assert plan.expire_request
    assert plan.offer_to == ()


def test_last_live_offers_are_waited_for_before_expiring() -> None:
    plan = plan_dispatch(
        now=T0, expires_at=T0 + INSTANT_REQUEST_TTL, live_offers=1, ranked=RANKED,
        already_offered=set(RANKED),
    )  # fmt: skip
    assert not plan.expire_request
