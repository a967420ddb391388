"""Bounded matching (ADR 0014): the score bound, the rings of the fine index, and a search
that reads only what the bound needs yet offers exactly the exhaustive ranking's top k."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import pytest

from chalicelib.domain import geo, ranking
from chalicelib.domain.reviews import RatingSummary
from tests.unit.test_domain_geo import destination

pytestmark = pytest.mark.unit

CITY = (38.7223, -9.1393)


def snapshot(pid: str, lat: float, lng: float, rng: random.Random) -> ranking.ProviderSnapshot:
    received = rng.randint(0, 100)
    reviews = rng.randint(0, 60)
    return ranking.ProviderSnapshot(
        provider_id=pid,
        lat=lat,
        lng=lng,
        radius_km=float(rng.choice([5, 10, 15, 20])),
        online=True,
        categories=frozenset(rng.sample(["plumbing", "cleaning", "moving"], k=rng.randint(1, 2))),
        rating=RatingSummary(reviews, sum(rng.randint(3, 5) for _ in range(reviews))),
        responsiveness=ranking.Responsiveness(received, rng.randint(0, received)),
    )


class MemoryIndex:
    """Both geo indexes in memory, answering ranges like DynamoDB (Limit included)."""

    def __init__(self, providers: Sequence[ranking.ProviderSnapshot]) -> None:
        self.parts: dict[tuple[bool, str], list[tuple[str, ranking.ProviderSnapshot]]] = (
            defaultdict(list)
        )
        for p in providers:
            for fine, key in ((False, geo.index_key), (True, geo.fine_index_key)):
                part, sort = key(p.lat, p.lng, p.provider_id)
                self.parts[(fine, part)].append((sort, p))
        for entries in self.parts.values():
            entries.sort(key=lambda e: e[0])
        self.queries = 0
        self.items = 0

    def __call__(
        self, ranges: Sequence[geo.IndexRange], limit: int | None
    ) -> tuple[list[ranking.ProviderSnapshot], bool]:
        found: list[ranking.ProviderSnapshot] = []
        more = False
        for r in ranges:
            self.queries += 1
            hits = [
                p
                for sort, p in self.parts[(r.fine, r.partition)]
                if r.lo_key <= sort <= r.hi_key + "~"
            ]
            if limit is not None and len(hits) > limit:
                hits, more = hits[:limit], True
            self.items += len(hits)
            found += hits
        return found, more


def city(count: int, seed: int, spread_km: float = 10.0) -> list[ranking.ProviderSnapshot]:
    """``count`` providers around the centre, a 2-D normal ``spread_km`` wide."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        km = spread_km * math.sqrt(-2.0 * math.log(1.0 - rng.random()))
        lat, lng = destination(*CITY, rng.uniform(0, 360), km)
        out.append(snapshot(f"p{n:05d}", lat, lng, rng))
    return out


def exhaustive(providers, lat, lng, category, k, exclude=()) -> list[str]:
    eligible = ranking.candidates_for(lat, lng, category, providers, exclude=exclude)
    return [r.provider_id for r in ranking.rank(eligible)[:k]]


def test_nobody_farther_than_the_radius_can_beat_the_bound() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        radius = rng.uniform(0, geo.MAX_RADIUS_KM)
        p = snapshot("p", 0.0, 0.0, rng)
        far = ranking.Candidate("p", rng.uniform(radius + 1e-6, 25.0), p.rating, p.responsiveness)
        assert ranking.score(far) < ranking.score_bound(radius)
    best = ranking.Candidate(
        "p", 0.0, RatingSummary(10**6, 5 * 10**6), ranking.Responsiveness(10**6, 10**6)
    )
    assert ranking.score(best) == pytest.approx(ranking.score_bound(0.0), abs=1e-5)


def test_the_bound_arithmetic() -> None:
    assert pytest.approx(0.45) == ranking.QUALITY_CEILING
    assert ranking.score_bound(0.0) == pytest.approx(0.95)
    assert ranking.score_bound(20.0) == pytest.approx(0.45)

    def ranked(*scores: float) -> list[ranking.Ranked]:
        return [ranking.Ranked(ranking.Candidate(f"p{i}", 1.0), s) for i, s in enumerate(scores)]

    # k-th score 0.85: everyone within 20 * (1 - 2 * (0.85 - 0.45)) = 4 km must be read
    assert ranking.radius_to_settle(ranked(0.9, 0.88, 0.85), 3) == pytest.approx(4.0, abs=1e-6)
    assert ranking.radius_to_settle(ranked(0.9, 0.88), 3) is None
    assert not ranking.settled(ranked(0.9, 0.88, 0.85), 3, 3.9)
    assert ranking.settled(ranked(0.9, 0.88, 0.85), 3, 4.01)
    assert ranking.settled(ranked(0.9), 3, geo.MAX_RADIUS_KM)  # everyone read: nobody else
    assert ranking.radius_to_settle(ranked(0.4, 0.3, 0.2), 3) == geo.MAX_RADIUS_KM


def test_counters_that_disagree_cannot_push_a_component_past_one() -> None:
    assert ranking.Responsiveness(offers_received=0, offers_accepted=50).accept_ratio == 1.0
    assert ranking.rating_score(RatingSummary(1, 50)) == 1.0


def test_the_index_holds_no_response_times_so_the_ceiling_holds() -> None:
    from chalicelib.store.models import GEO_ATTRIBUTES

    assert not {"responses", "response_seconds_total"} & set(GEO_ATTRIBUTES)


@pytest.mark.parametrize("lat", [0.0, 38.7, -45.0, 70.0])
def test_every_provider_within_a_ring_lies_in_its_fine_ranges(lat: float) -> None:
    rng = random.Random(int(lat) + 7)
    for _ in range(40):
        here = (lat + rng.uniform(-0.1, 0.1), rng.uniform(-180, 180))
        radius = rng.uniform(0.1, geo.MAX_RADIUS_KM)
        ranges = geo.fine_ranges(*here, radius)
        for _ in range(50):
            km = radius * math.sqrt(rng.random()) ** 0.25
            p = destination(*here, rng.uniform(0, 360), km)
            if geo.haversine_km(*here, *p) > radius:
                continue
            part, sort = geo.fine_index_key(*p, "x")
            key = sort.split("#")[0]
            assert any(r.partition == part and r.lo_key <= key <= r.hi_key for r in ranges)


def test_a_ring_reads_about_its_disc() -> None:
    """The fine ranges of a 4 km ring cover under twice its disc (the band index: 80x40 km)."""
    ranges = geo.fine_ranges(*CITY, 4.0)
    area = 0.0
    for r in ranges:
        band = int(r.partition.split(":")[0])
        south = band * geo.FINE_BAND_DEG - 90.0
        width = (int(r.hi_key) - int(r.lo_key)) / 1e6
        km_tall = geo.haversine_km(south, 0, south + geo.FINE_BAND_DEG, 0)
        area += km_tall * geo.haversine_km(CITY[0], 0, CITY[0], width)
    assert len(ranges) <= 3
    assert area < 2.5 * math.pi * 4.0**2


@pytest.mark.parametrize("count", [30, 3000])
def test_the_search_offers_exactly_the_exhaustive_top_k(count: int) -> None:
    providers = city(count, seed=count)
    index = MemoryIndex(providers)
    rng = random.Random(count + 1)
    for _ in range(60):
        lat, lng = destination(*CITY, rng.uniform(0, 360), abs(rng.gauss(0, 6)))
        category = rng.choice(["plumbing", "cleaning", "moving"])
        k = rng.choice([1, 3, 10])
        exclude = {providers[rng.randrange(count)].provider_id}
        found = ranking.best_nearby(lat, lng, category, k, index, exclude)
        assert [r.provider_id for r in found] == exhaustive(
            providers, lat, lng, category, k, exclude
        )


def test_a_crowded_city_reads_the_settling_disc_not_the_whole_band() -> None:
    """A sparse city ends at the probe; a crowded one reads what lies within the settling
    radius: a fraction of the 80 x 40 km the band index would read."""
    for count, most in ((300, 1.0), (30000, 0.2)):
        providers = city(count, seed=5)
        rings, band = MemoryIndex(providers), MemoryIndex(providers)
        ranking.best_nearby(*CITY, "plumbing", 3, rings)
        band(geo.ranges_to_query(*CITY), None)
        assert rings.items <= most * band.items, (count, rings.items, band.items)


def test_redispatch_finds_the_next_ones_after_those_offered() -> None:
    """The timer asks for the top (offered + to offer): the next 3 in rank order."""
    providers = city(3000, seed=9)
    index = MemoryIndex(providers)
    full = exhaustive(providers, *CITY, "plumbing", 9)
    offered = set(full[:6])
    ranked = ranking.best_nearby(*CITY, "plumbing", len(offered) + 3, index)
    fresh = [r.provider_id for r in ranked if r.provider_id not in offered][:3]
    assert fresh == full[6:9]


def _fixed(pid: str, lat: float, lng: float, category: str) -> ranking.ProviderSnapshot:
    return ranking.ProviderSnapshot(
        provider_id=pid,
        lat=lat,
        lng=lng,
        radius_km=20.0,
        online=True,
        categories=frozenset({category}),
        rating=RatingSummary(10, 45),
        responsiveness=ranking.Responsiveness(10, 5),
    )


def _rings_read(
    near_km: Sequence[float], k: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[float], list[str], list[ranking.ProviderSnapshot]]:
    """The radii of the rings a plumbing search reads after a truncated probe that found
    no plumber (60 cleaners 12 km east), with plumbers ``near_km`` north of the centre,
    and what it offers."""
    far = [
        _fixed(f"far{n:02d}", *destination(*CITY, 90, 12.0 + n / 1000), "cleaning")
        for n in range(60)
    ]
    near = [
        _fixed(f"near{n}", *destination(*CITY, 0, km), "plumbing") for n, km in enumerate(near_km)
    ]
    providers = near + far
    radii: list[float] = []
    real = ranking.fine_ranges

    def recorded(lat: float, lng: float, radius: float) -> list[geo.IndexRange]:
        radii.append(radius)
        return real(lat, lng, radius)

    monkeypatch.setattr(ranking, "fine_ranges", recorded)
    found = ranking.best_nearby(*CITY, "plumbing", k, MemoryIndex(providers))
    return radii, [r.provider_id for r in found], providers


def test_with_nobody_near_the_rings_grow_as_if_k_were_half_a_ring_away(monkeypatch) -> None:
    """No candidate in a ring: the next radius expects k at the density of half a provider
    in the last disc (radius x sqrt(2k / 0.5)); at 20 km the band index is read whole."""
    radii, offered, providers = _rings_read([], 3, monkeypatch)
    grow = math.sqrt(2 * 3 / 0.5)
    assert radii == pytest.approx([1.5, 1.5 * grow, 1.5 * grow * grow])
    assert offered == exhaustive(providers, *CITY, "plumbing", 3)


def test_with_too_few_near_the_rings_at_least_double(monkeypatch) -> None:
    """Two candidates of three wanted: sqrt(2k / found) is under 2, so the radius doubles
    (at least 1.25x always) until the full read."""
    radii, offered, providers = _rings_read([0.5, 1.0], 3, monkeypatch)
    assert radii == pytest.approx([1.5, 3.0, 6.0, 12.0])
    assert offered == exhaustive(providers, *CITY, "plumbing", 3)
    radii, offered, providers = _rings_read([0.5], 8, monkeypatch)  # sqrt(16) = 4 > 2
    assert radii[:2] == pytest.approx([1.5, 6.0])


def test_known_response_times_raise_the_ceiling_so_a_fast_provider_farther_out_is_found() -> None:
    """Once a snapshot read has response times, anyone not read may score up to the full
    0.5 besides proximity: the search must read on past where the 0.45 ceiling settles."""
    rng = random.Random(3)
    best = RatingSummary(10**6, 5 * 10**6)
    ref = ranking.RESPONSE_REFERENCE_S
    slow = ranking.Responsiveness(10**6, 10**6, 10**6, 10**6 * ref)  # speed 0.5, timed
    fast = ranking.Responsiveness(10**6, 10**6, 10**6, 0.0)  # speed 1
    near = replace(_fixed("near", *destination(*CITY, 0, 1.0), "plumbing"), rating=best)
    far = replace(
        _fixed("fast", *destination(*CITY, 90, 2.0), "plumbing"), rating=best, responsiveness=fast
    )
    near = replace(near, responsiveness=slow)
    filler = [  # west of the centre: they fill the probe, so the rings do the search
        _fixed(f"w{n:02d}", *destination(*CITY, 270, 12.0 + rng.random()), "cleaning")
        for n in range(60)
    ]
    providers = [near, far, *filler]
    assert exhaustive(providers, *CITY, "plumbing", 1) == ["fast"]
    found = ranking.best_nearby(*CITY, "plumbing", 1, MemoryIndex(providers))
    assert [r.provider_id for r in found] == ["fast"]


def test_a_provider_serves_up_to_and_including_their_radius() -> None:
    p = _fixed("edge", *destination(*CITY, 45, 7.0), "plumbing")
    exactly = replace(p, radius_km=geo.haversine_km(*CITY, p.lat, p.lng))
    assert ranking.distance_if_eligible(exactly, "plumbing", *CITY) == exactly.radius_km
    shorter = replace(exactly, radius_km=exactly.radius_km - 1e-9)
    assert ranking.distance_if_eligible(shorter, "plumbing", *CITY) is None


def test_a_provider_kept_apart_from_the_customer_is_never_a_candidate() -> None:
    """Blocks either way travel as ``kept_apart``; the customer is in ``exclude``."""
    blocked = replace(_fixed("blocked", *CITY, "plumbing"), kept_apart=frozenset({"cust"}))
    other = _fixed("other", *CITY, "plumbing")
    found = ranking.candidates_for(*CITY, "plumbing", [blocked, other], exclude={"cust"})
    assert [c.provider_id for c in found] == ["other"]
    again = ranking.candidates_for(*CITY, "plumbing", [other, other], exclude={"cust"})
    assert [c.provider_id for c in again] == ["other"]  # read twice, one candidate
