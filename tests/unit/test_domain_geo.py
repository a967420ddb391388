"""Distance, validation and the geo index: coverage and bounded cost."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest

from chalicelib.domain import geo
from chalicelib.errors import Invalid

pytestmark = pytest.mark.unit


def destination(lat: float, lng: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` away from (lat, lng) along ``bearing_deg`` on the sphere."""
    d = km / geo.EARTH_RADIUS_KM
    p1, l1, b = math.radians(lat), math.radians(lng), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540.0) % 360.0 - 180.0


def test_haversine_known_distances() -> None:
    assert geo.haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    assert geo.haversine_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)
    assert geo.haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.19, abs=0.01)
    assert geo.haversine_km(12.3, 45.6, 12.3, 45.6) == 0.0


@pytest.mark.parametrize("bad", [999, -90.5, 90.5, float("nan"), float("inf"), True, "45", None])
def test_bad_latitudes_are_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(Invalid, match=r"^lat "):
        geo.validate_location(bad, 0.0)


@pytest.mark.parametrize("bad", [180.01, -180.5, -999, float("nan"), False, "0"])
def test_bad_longitudes_are_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(Invalid, match=r"^lng "):
        geo.validate_location(0.0, bad)


def test_valid_locations_pass_through_as_floats() -> None:
    assert geo.validate_location(90, -180) == (90.0, -180.0)
    assert geo.validate_location(-90, 180) == (-90.0, 180.0)
    assert geo.validate_location(-12.5, 130) == (-12.5, 130.0)


# --- the index: latitude bands, longitude-sorted --------------------------------------------


def covered(lat: float, lng: float, p_lat: float, p_lng: float) -> bool:
    """Would a match at (lat, lng) read a provider indexed at (p_lat, p_lng)?"""
    partition, sort = geo.index_key(p_lat, p_lng, "p")
    lng_key = sort.split("#")[0]
    return any(
        r.partition == partition and r.lo_key <= lng_key <= r.hi_key
        for r in geo.ranges_to_query(lat, lng)
    )


@pytest.mark.parametrize("band", [0.0, 30.0, 38.7, 45.0, -52.0, 60.0, -69.0, 70.0, 79.5])
def test_every_point_within_the_radius_lies_in_a_range_read(band: float) -> None:
    """Coverage: a provider anywhere within MAX_RADIUS_KM of the request is found."""
    rng = random.Random(int(band * 10) + 3)
    for _ in range(60):
        lat = band + rng.uniform(-0.4, 0.4)
        lng = rng.uniform(-180, 180)
        for _ in range(60):
            # distances biased towards the rim, where a missed range would show
            km = geo.MAX_RADIUS_KM * math.sqrt(rng.random()) ** 0.25
            p_lat, p_lng = destination(lat, lng, rng.uniform(0, 360), km)
            assert geo.haversine_km(lat, lng, p_lat, p_lng) <= geo.MAX_RADIUS_KM + 1e-6
            assert covered(lat, lng, p_lat, p_lng), (lat, lng, p_lat, p_lng)


def test_coverage_across_the_antimeridian_and_a_block_border() -> None:
    assert covered(-16.5, 179.95, -16.5, -179.9)  # ~5 km away, other side of the line
    assert covered(-16.5, -179.95, -16.5, 179.9)
    assert covered(38.7, -10.05, 38.7, -9.95)  # across the -10 deg block border
    assert len({r.partition for r in geo.ranges_to_query(-16.5, 179.95)}) == 4


def test_a_match_reads_two_ranges_and_never_more_than_four() -> None:
    rng = random.Random(5)
    counts = [
        len(geo.ranges_to_query(rng.uniform(-80, 80), rng.uniform(-180, 180))) for _ in range(5000)
    ]
    assert max(counts) <= geo.MAX_PARTITIONS_TO_QUERY
    assert sorted(counts)[len(counts) // 2] == 2  # the typical match: 2 Queries
    assert sum(c > 2 for c in counts) < 0.1 * len(counts)  # block borders are rare
    for lat in (38.0, 39.0, 40.0, 41.0, 42.0):  # mainland Portugal: never a block border
        for lng in (-9.4, -8.0, -6.3):
            assert len(geo.ranges_to_query(lat, lng)) <= 2


def test_what_a_match_reads_is_a_rectangle_about_80_by_40_km() -> None:
    """The ranges read span 2 bands (80 km) and the disc's width (40 km), at any latitude."""
    for lat in (0.0, 38.7, 60.0, 79.0):
        ranges = geo.ranges_to_query(lat + 0.01, 25.0)
        lo = min(int(r.lo_key) for r in ranges) / 1e6 - 180.0
        hi = max(int(r.hi_key) for r in ranges) / 1e6 - 180.0
        width = geo.haversine_km(lat, lo, lat, hi)
        assert 39.9 < width < 40.5, (lat, width)
        assert len({r.partition for r in ranges}) <= 2


def test_a_smaller_search_radius_reads_a_narrower_range() -> None:
    wide = geo.ranges_to_query(45.0, 7.0)
    narrow = geo.ranges_to_query(45.0, 7.0, 1.0)
    assert narrow[0].lo_key > wide[0].lo_key and narrow[0].hi_key < wide[0].hi_key
    assert len(geo.ranges_to_query(45.1, 7.0, 0.0)) == 1


def test_matching_is_refused_near_the_poles_and_for_oversized_radii() -> None:
    with pytest.raises(Invalid, match="latitude"):
        geo.ranges_to_query(geo.MAX_MATCH_LAT + 0.5, 0.0)
    with pytest.raises(Invalid, match="radius"):
        geo.ranges_to_query(10.0, 10.0, geo.MAX_RADIUS_KM + 1)
    with pytest.raises(Invalid, match="lat"):
        geo.ranges_to_query(999, 0.0)
    with pytest.raises(Invalid, match=r"^radius_km must be a number"):
        geo.ranges_to_query(10.0, 10.0, "5")  # type: ignore[arg-type]
    assert geo.ranges_to_query(geo.MAX_MATCH_LAT, 0.0)  # the limit itself is served


def test_the_east_edge_of_the_map_sorts_last_in_the_last_block() -> None:
    """Longitude 180 is the last block's last key, not a block or key past it; keys stay
    distinct and ordered right up to it."""
    edge = geo.index_key(0.0, 180.0, "p")
    assert edge == geo.index_key(0.0, 179.9999999, "p")
    assert geo.fine_index_key(0.0, 180.0, "p") == geo.fine_index_key(0.0, 179.9999999, "p")
    assert geo.index_key(0.0, 179.2, "p")[1] < geo.index_key(0.0, 179.6, "p")[1] < edge[1]
    assert geo.index_key(0.0, 175.0, "p")[0] == edge[0]  # one block: 170..180


def test_a_provider_400_km_away_is_not_read() -> None:
    lat, lng = 52.52, 13.405  # Berlin
    for bearing in (0.0, 90.0, 200.0):
        assert not covered(lat, lng, *destination(lat, lng, bearing, 400.0))


def test_items_read_grow_with_nearby_providers_not_the_total() -> None:
    """Simulate the index: providers spread over a country; adding far-away providers does
    not change what a match reads, adding nearby ones does."""
    rng = random.Random(3)
    index: dict[str, list[tuple[str, tuple[float, float]]]] = defaultdict(list)

    def add(n: int, lat_range: tuple[float, float], lng_range: tuple[float, float]) -> None:
        for _ in range(n):
            p = (rng.uniform(*lat_range), rng.uniform(*lng_range))
            partition, sort = geo.index_key(*p, "p")
            index[partition].append((sort.split("#")[0], p))

    request = (48.1351, 11.5820)  # Munich

    def read() -> list[tuple[float, float]]:
        return [
            p
            for r in geo.ranges_to_query(*request)
            for key, p in index[r.partition]
            if r.lo_key <= key <= r.hi_key
        ]

    add(2_000, (47.3, 55.0), (5.9, 15.0))  # Germany
    before = len(read())
    add(50_000, (53.0, 55.0), (8.0, 14.0))  # many more, all in the north, 550+ km away
    assert len(read()) == before
    everyone_near = sum(
        1 for ps in index.values() for _, p in ps if geo.haversine_km(*request, *p) <= 20.0
    )
    assert sum(geo.haversine_km(*request, *p) <= 20.0 for p in read()) == everyone_near
    add(500, (48.10, 48.17), (11.53, 11.63))  # a cluster downtown
    assert len(read()) == before + 500
    assert len(read()) < 0.05 * sum(len(v) for v in index.values())


def test_the_index_sort_key_orders_by_longitude() -> None:
    keys = [geo.index_key(10.0, lng, "p")[1] for lng in (-180.0, -9.5, -9.4999, 0.0, 179.99)]
    assert keys == sorted(keys)
    assert geo.index_key(10.0, 0.0, "p")[0] == geo.index_key(10.05, 9.9, "q")[0]  # one partition
