"""Eligibility and ranking: the right providers, in an order users would agree with."""

from __future__ import annotations

import random

import pytest

from chalicelib.domain.geo import MAX_RADIUS_KM, haversine_km
from chalicelib.domain.ranking import (
    QUALITY_STEP,
    Candidate,
    ProviderSnapshot,
    Responsiveness,
    candidates_for,
    distance_if_eligible,
    quality,
    quality_moved,
    rank,
    rating_score,
    score,
)
from chalicelib.domain.reviews import RatingSummary

pytestmark = pytest.mark.unit

REQ = (40.4168, -3.7038)  # Madrid
PLUMBING = "plumbing"


def eligible(p: ProviderSnapshot) -> float | None:
    """Its distance to a plumbing request at REQ if it may take it, else None."""
    return distance_if_eligible(p, PLUMBING, *REQ)


def provider(
    pid: str,
    lat: float = REQ[0],
    lng: float = REQ[1] + 0.05,
    *,
    radius_km: float = 10.0,
    online: bool = True,
    categories: frozenset[str] = frozenset({PLUMBING}),
) -> ProviderSnapshot:
    return ProviderSnapshot(pid, lat, lng, radius_km, online, categories)


def test_an_online_provider_of_the_category_within_its_radius_is_eligible() -> None:
    p = provider("p1")
    distance = distance_if_eligible(p, PLUMBING, *REQ)
    assert distance == pytest.approx(haversine_km(*REQ, p.lat, p.lng))
    assert distance_if_eligible(p, PLUMBING, *REQ) is not None


def test_offline_wrong_category_or_out_of_own_radius_is_not() -> None:
    assert eligible(provider("p", online=False)) is None
    assert eligible(provider("p", categories=frozenset({"tutoring"}))) is None
    # 8.5 km away: inside the search radius, outside this provider's own 5 km radius
    assert eligible(provider("p", lng=REQ[1] + 0.1, radius_km=5.0)) is None
    assert eligible(provider("p", lng=REQ[1] + 0.1, radius_km=9.0)) is not None


def test_candidates_drop_the_ineligible_the_excluded_and_duplicates() -> None:
    providers = [
        provider("a"),
        provider("b", online=False),
        provider("self"),
        provider("a"),
        provider("far", lat=REQ[0] + 3.0),
    ]
    found = candidates_for(*REQ, PLUMBING, providers, exclude={"self"})
    assert [c.provider_id for c in found] == ["a"]


def test_nearer_wins_when_all_else_is_equal() -> None:
    ranked = rank([Candidate("far", 12.0), Candidate("near", 1.5), Candidate("mid", 6.0)])
    assert [r.provider_id for r in ranked] == ["near", "mid", "far"]
    assert ranked[0].score > ranked[1].score > ranked[2].score


def test_one_lucky_five_star_does_not_beat_a_long_strong_record() -> None:
    lucky = Candidate("lucky", 3.0, RatingSummary(1, 5))
    proven = Candidate("proven", 3.0, RatingSummary(50, 240))  # 4.8 over 50 reviews
    assert [r.provider_id for r in rank([lucky, proven])] == ["proven", "lucky"]


def test_a_newcomer_sits_between_good_and_bad_records() -> None:
    newcomer = rating_score(RatingSummary())
    assert rating_score(RatingSummary(20, 96)) > newcomer > rating_score(RatingSummary(20, 40))
    assert 0.0 <= rating_score(RatingSummary(100, 100)) < newcomer < 1.0


def test_a_responsive_provider_ranks_above_a_sluggish_one() -> None:
    quick = Responsiveness(offers_received=40, offers_accepted=30, responses=40,
                           response_seconds_total=40 * 8.0)  # fmt: skip
    slow = Responsiveness(offers_received=40, offers_accepted=6, responses=20,
                          response_seconds_total=20 * 55.0)  # fmt: skip
    assert quick.score > Responsiveness().score > slow.score
    ranked = rank([Candidate("slow", 4.0, responsiveness=slow),
                   Candidate("quick", 4.0, responsiveness=quick)])  # fmt: skip
    assert ranked[0].provider_id == "quick"


def test_a_much_better_provider_slightly_further_away_can_win() -> None:
    near_poor = Candidate("near", 2.0, RatingSummary(30, 60), Responsiveness(30, 3, 10, 900.0))
    good = Candidate("good", 4.0, RatingSummary(30, 145), Responsiveness(30, 27, 30, 300.0))
    assert rank([near_poor, good])[0].provider_id == "good"


def test_scores_stay_between_zero_and_one() -> None:
    rng = random.Random(2)
    for _ in range(500):
        count = rng.randint(0, 200)
        c = Candidate(
            "x",
            rng.uniform(0, MAX_RADIUS_KM * 1.5),
            RatingSummary(count, sum(rng.randint(1, 5) for _ in range(count))),
            Responsiveness(
                (got := rng.randint(0, 100)), rng.randint(0, got), got, rng.uniform(0, 5000)
            ),
        )
        assert 0.0 <= score(c) <= 1.0


def test_ties_break_by_id_whatever_the_input_order() -> None:
    same = [Candidate(pid, 5.0) for pid in ("delta", "alpha", "charlie", "bravo")]
    expected = ["alpha", "bravo", "charlie", "delta"]
    for seed in range(5):
        shuffled = same[:]
        random.Random(seed).shuffle(shuffled)
        assert [r.provider_id for r in rank(shuffled)] == expected


def test_the_indexed_copy_moves_with_a_newcomer_not_with_a_seasoned_provider() -> None:
    fresh = (RatingSummary(), Responsiveness())
    assert quality_moved(fresh, (RatingSummary(), Responsiveness(1, 0)))  # a first offer
    assert quality_moved(fresh, (RatingSummary(1, 5), Responsiveness()))  # a first 5-star
    seasoned = (RatingSummary(40, 184), Responsiveness(300, 99))
    assert not quality_moved(seasoned, (RatingSummary(40, 184), Responsiveness(301, 99)))
    assert not quality_moved(seasoned, (RatingSummary(41, 189), Responsiveness(301, 100)))
    assert quality_moved(seasoned, (RatingSummary(40, 184), Responsiveness(400, 99)))


def test_a_copy_that_did_not_move_scores_within_the_step_of_the_exact_counters() -> None:
    rng = random.Random(24)
    for _ in range(500):
        count, got = rng.randint(0, 100), rng.randint(0, 300)
        copy = (RatingSummary(count, count * rng.randint(1, 5)), Responsiveness(got, got // 3))
        later = (
            RatingSummary(count + (more := rng.randint(0, 5)), copy[0].total + 5 * more),
            Responsiveness(got + (offered := rng.randint(0, 10)), got // 3 + offered // 2),
        )
        d = rng.uniform(0, MAX_RADIUS_KM)
        gap = abs(
            score(Candidate("x", d, copy[0], copy[1]))
            - score(Candidate("x", d, later[0], later[1]))
        )
        assert gap == pytest.approx(abs(quality(*later) - quality(*copy)))
        if not quality_moved(copy, later):
            assert gap < QUALITY_STEP
