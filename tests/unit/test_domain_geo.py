"""Geohash, distance, validation and the geo index: coverage and bounded cost."""

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


@pytest.mark.parametrize(
    ("lat", "lng", "precision", "expected"),
    [
        (42.6, -5.6, 5, "ezs42"),
        (57.64911, 10.40744, 11, "u4pruydqqvj"),
        (48.8584, 2.2945, 7, "u09tunq"),
        (-33.8568, 151.2153, 6, "r3gx2u"),
    ],
)
def test_encode_matches_reference_geohashes(
    lat: float, lng: float, precision: int, expected: str
) -> None:
    assert geo.encode(lat, lng, precision) == expected


def test_decode_gives_the_cell_that_contains_the_point() -> None:
    rng = random.Random(1)
    for _ in range(500):
        lat, lng = rng.uniform(-90, 90), rng.uniform(-180, 180)
        for precision in (1, 4, 7):
            cell = geo.decode(geo.encode(lat, lng, precision))
            assert cell.south <= lat <= cell.north
            assert cell.west <= lng <= cell.east
            assert geo.encode(*cell.center, precision) == geo.encode(lat, lng, precision)


def test_index_cells_are_about_39_by_20_km_at_the_equator() -> None:
    cell = geo.decode(geo.index_cell(0.1, 0.1))
    width = geo.haversine_km(0.0, cell.west, 0.0, cell.east)
    height = geo.haversine_km(cell.south, 0.0, cell.north, 0.0)
    assert 38.5 < width < 39.5
    assert 19.3 < height < 19.8


def test_decode_refuses_strings_that_are_not_geohashes() -> None:
    for bad in ("", "abc", "u09a", "x" * 13):  # 'a' is not in the geohash alphabet
        with pytest.raises(Invalid):
            geo.decode(bad)


def test_neighbours_touch_the_cell_on_all_sides() -> None:
    center = geo.encode(48.85, 2.35, 5)
    around = geo.neighbours(center)
    assert len(around) == 8
    assert center not in around
    box = geo.decode(center)
    h, w = box.north - box.south, box.east - box.west
    lat, lng = box.center
    expected = {
        geo.encode(lat + dy * h, lng + dx * w, 5)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    }
    assert set(around) == expected


def test_neighbours_wrap_across_the_antimeridian_and_stop_at_the_poles() -> None:
    east_edge = geo.encode(0.05, 179.99, 4)
    assert geo.encode(0.05, -179.99, 4) in geo.neighbours(east_edge)
    top = geo.encode(89.99, 10.0, 4)
    assert len(geo.neighbours(top)) == 5  # no row north of the top row


def test_haversine_known_distances() -> None:
    assert geo.haversine_km(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343.5, abs=1.0)
    assert geo.haversine_km(0, 0, 1, 0) == pytest.approx(111.19, abs=0.01)
    assert geo.haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.19, abs=0.01)
    assert geo.haversine_km(12.3, 45.6, 12.3, 45.6) == 0.0


@pytest.mark.parametrize("bad", [999, -90.5, float("nan"), float("inf"), True, "45", None])
def test_bad_latitudes_are_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(Invalid, match="lat"):
        geo.validate_location(bad, 0.0)


@pytest.mark.parametrize("bad", [180.01, -999, float("nan"), False, "0"])
def test_bad_longitudes_are_refused_with_a_reason(bad: object) -> None:
    with pytest.raises(Invalid, match="lng"):
        geo.validate_location(0.0, bad)


def test_valid_locations_pass_through_as_floats() -> None:
    assert geo.validate_location(90, -180) == (90.0, -180.0)
    assert geo.validate_location(-12.5, 130) == (-12.5, 130.0)


@pytest.mark.parametrize("bad", [0, -1, geo.MAX_RADIUS_KM + 0.1, 1000, "5", None])
def test_service_radius_must_be_positive_and_capped(bad: object) -> None:
    with pytest.raises(Invalid, match="radius_km"):
        geo.validate_radius_km(bad)


def test_service_radius_accepts_the_cap() -> None:
    assert geo.validate_radius_km(geo.MAX_RADIUS_KM) == geo.MAX_RADIUS_KM


def test_distance_to_cell_is_the_true_minimum_over_its_boundary() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cell = geo.decode(geo.encode(rng.uniform(-70, 70), rng.uniform(-180, 180), 4))
        lat = rng.uniform(cell.south - 0.6, cell.north + 0.6)
        lng = rng.uniform(cell.west - 0.8, cell.east + 0.8)
        lng = (lng + 540.0) % 360.0 - 180.0
        exact = geo.distance_to_cell_km(lat, lng, cell)
        steps = 400
        boundary = [
            (cell.south + (cell.north - cell.south) * i / steps, edge)
            for i in range(steps + 1)
            for edge in (cell.west, cell.east)
        ] + [
            (edge, cell.west + (cell.east - cell.west) * i / steps)
            for i in range(steps + 1)
            for edge in (cell.south, cell.north)
        ]
        sampled = min(geo.haversine_km(lat, lng, a, b) for a, b in boundary)
        inside = cell.south <= lat <= cell.north and cell.west <= lng <= cell.east
        if inside:
            assert exact == 0.0
        else:
            assert exact <= sampled + 1e-9  # never overestimates (that would miss cells)
            assert exact >= sampled - 0.05  # and is tight


@pytest.mark.parametrize("band", [0.0, 30.0, 45.0, -52.0, 60.0, -69.0, 70.0, 78.0])
def test_every_point_within_the_radius_lies_in_a_returned_cell(band: float) -> None:
    """Coverage: a provider anywhere within MAX_RADIUS_KM of the request is found."""
    rng = random.Random(int(band * 10) + 3)
    for _ in range(60):
        lat = band + rng.uniform(-1.0, 1.0) * (0.0 if abs(band) >= 78 else 1.0)
        lng = rng.uniform(-180, 180)
        cells = set(geo.cells_to_query(lat, lng))
        for _ in range(60):
            # distances biased towards the rim, where a missed cell would show
            km = geo.MAX_RADIUS_KM * math.sqrt(rng.random()) ** 0.25
            p_lat, p_lng = destination(lat, lng, rng.uniform(0, 360), km)
            assert geo.haversine_km(lat, lng, p_lat, p_lng) <= geo.MAX_RADIUS_KM + 1e-6
            assert geo.index_cell(p_lat, p_lng) in cells, (lat, lng, p_lat, p_lng)


def test_coverage_across_the_antimeridian() -> None:
    cells = set(geo.cells_to_query(-16.5, 179.95))
    east_of_line = geo.index_cell(-16.5, -179.9)  # ~5 km away, other side of the line
    assert east_of_line in cells
    assert any(c.startswith("r") for c in cells) and any(c.startswith("2") for c in cells)


def test_returned_cells_all_come_within_the_radius() -> None:
    """No cell is read for nothing: each one has ground within the radius."""
    rng = random.Random(11)
    for _ in range(300):
        lat, lng = rng.uniform(-70, 70), rng.uniform(-180, 180)
        for cell in geo.cells_to_query(lat, lng):
            assert geo.distance_to_cell_km(lat, lng, geo.decode(cell)) <= geo.MAX_RADIUS_KM
            assert len(cell) == geo.INDEX_PRECISION


def test_cells_per_match_are_few_and_bounded_up_to_70_degrees() -> None:
    rng = random.Random(5)
    worst_by_band: dict[int, int] = defaultdict(int)
    for _ in range(6000):
        lat = rng.uniform(-geo.BOUNDED_LAT, geo.BOUNDED_LAT)
        count = len(geo.cells_to_query(lat, rng.uniform(-180, 180)))
        band = int(abs(lat) // 10) * 10
        worst_by_band[band] = max(worst_by_band[band], count)
    assert max(worst_by_band.values()) <= geo.MAX_CELLS_TO_QUERY
    assert worst_by_band[40] <= 9  # typical populated latitudes read at most 9 cells
    for lat in (geo.BOUNDED_LAT, -geo.BOUNDED_LAT):
        for i in range(50):
            assert len(geo.cells_to_query(lat, i * 0.007)) <= geo.MAX_CELLS_TO_QUERY


def test_smaller_search_radius_reads_fewer_or_equal_cells() -> None:
    assert len(geo.cells_to_query(45.0, 7.0, 1.0)) <= len(geo.cells_to_query(45.0, 7.0))
    assert geo.cells_to_query(45.0001, 7.0001, 0.0) == [geo.index_cell(45.0001, 7.0001)]


def test_matching_is_refused_near_the_poles_and_for_oversized_radii() -> None:
    with pytest.raises(Invalid, match="latitude"):
        geo.cells_to_query(geo.MAX_MATCH_LAT + 0.5, 0.0)
    with pytest.raises(Invalid, match="radius"):
        geo.cells_to_query(10.0, 10.0, geo.MAX_RADIUS_KM + 1)
    with pytest.raises(Invalid, match="lat"):
        geo.cells_to_query(999, 0.0)


def test_a_provider_400_km_away_is_not_in_any_cell_read() -> None:
    lat, lng = 52.52, 13.405  # Berlin
    far = destination(lat, lng, 200.0, 400.0)
    assert geo.index_cell(*far) not in geo.cells_to_query(lat, lng)


def test_items_read_grow_with_nearby_providers_not_the_total() -> None:
    """Simulate the index: providers spread over a country; adding far-away providers does
    not change what a match reads, adding nearby ones does."""
    rng = random.Random(3)
    index: dict[str, list[tuple[float, float]]] = defaultdict(list)

    def add(n: int, lat_range: tuple[float, float], lng_range: tuple[float, float]) -> None:
        for _ in range(n):
            p = (rng.uniform(*lat_range), rng.uniform(*lng_range))
            index[geo.index_cell(*p)].append(p)

    request = (48.1351, 11.5820)  # Munich

    def items_read() -> int:
        return sum(len(index[c]) for c in geo.cells_to_query(*request))

    def found_within_radius() -> int:
        return sum(
            1
            for c in geo.cells_to_query(*request)
            for p in index[c]
            if geo.haversine_km(*request, *p) <= geo.MAX_RADIUS_KM
        )

    add(2_000, (47.3, 55.0), (5.9, 15.0))  # Germany
    before = items_read()
    add(50_000, (53.0, 55.0), (8.0, 14.0))  # many more, all in the north, 550+ km away
    assert items_read() == before
    everyone_near = sum(
        1 for ps in index.values() for p in ps if geo.haversine_km(*request, *p) <= 20.0
    )
    assert found_within_radius() == everyone_near  # nobody near is missed
    add(500, (48.10, 48.17), (11.53, 11.63))  # a cluster downtown
    assert items_read() == before + 500
    assert items_read() < 0.05 * sum(len(v) for v in index.values())
