"""Great-circle distance, location validation and the geospatial index design.

Index design: latitude bands, longitude-sorted
----------------------------------------------
A provider who is online is indexed under exactly ONE partition (:func:`index_key`): the
latitude **band** of :data:`BAND_DEG` (0.36 deg, 40 km) and the longitude **block** of
:data:`BLOCK_DEG` (10 deg) that contain the provider's location; inside the partition the
sort key is the provider's longitude (in micro-degrees, zero-padded, then the provider id),
so one Query reads a longitude *range* of a band.

Every provider's service radius is capped at :data:`MAX_RADIUS_KM` (= 20 km) and a request
matches a provider when ``distance(request, provider) <= provider.radius_km``. So every
provider who can possibly match lies within 20 km of the request: within 0.18 deg of its
latitude and within ``asin(sin(20 km / R) / cos(lat))`` of its longitude (the widest a
20 km disc gets on the sphere). :func:`ranges_to_query` returns, for each band that
latitude span touches, the longitude span of the disc; the disc is 0.3597 deg tall, under
one band's height, so it touches **at most 2 bands**, and it is at most 4.2 deg wide up to
+/-:data:`MAX_MATCH_LAT` (= 80 deg), so it crosses at most one block border (a request
within 20 km of a meridian that is a multiple of 10 deg: 4.6 % of requests at Lisbon's
latitude, 0 for all of mainland Portugal). Hence a match is **2 Queries** (1 when the disc
sits in one band, 4 at a block border), whatever the number of providers.

What a match reads: the providers online in a rectangle 2 bands tall (80 km) and as wide
as the disc (40 km): about 2.5x the disc's area, so the items read grow with the providers
*near* the request, never with the total. (The geohash-cell index this replaces read 6-9
cells, one Query each, for about the same area.) Matching is refused beyond
+/-:data:`MAX_MATCH_LAT` so that no request can make the store read a band's whole width
near a pole.

The fine index (ADR 0014): the same design with bands of :data:`FINE_BAND_DEG` (0.045 deg,
5 km; :func:`fine_index_key`). :func:`fine_ranges` gives, for a disc of any radius, one
range per fine band it touches, each only as wide as the disc is within that band (exact
on the sphere), so bounded matching (:func:`chalicelib.domain.ranking.best_nearby`) reads
a crowded area ring by ring at about the ring's area; everyone outside the ranges is
farther than the radius.

Hot partitions: a partition is 40 km x 10 deg (870 km at 38 deg N); the seeds of a city's
providers share one partition, which holds DynamoDB's 3,000 reads / 1,000 writes per
second per partition (and DynamoDB splits a hot partition by sort-key range -- here by
longitude -- as it grows). So a provider's entries are rewritten only when a report lands
more than :data:`REINDEX_KM` from the indexed position (:func:`leaves_cell`, ADR 0023).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.errors import Invalid

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used by :func:`haversine_km`."""

BAND_DEG = 0.36
"""Height of an index band in degrees of latitude (40 km): taller than a 20 km disc."""

BLOCK_DEG = 10.0
"""Width of an index partition in degrees of longitude."""

MAX_PARTITIONS_TO_QUERY = 4
"""Upper bound of ``len(ranges_to_query(lat, lng))`` (2 bands x 2 blocks)."""

_MICRO = 1_000_000
_LAST_LNG = 180.0 - 1e-9

MAX_RADIUS_KM = 20.0
"""Largest service radius a provider may declare; also the radius every match searches."""

MAX_MATCH_LAT = 80.0
"""Requests beyond this latitude are refused by :func:`ranges_to_query` (cost guard)."""


FINE_BAND_DEG = 0.045
"""Height of a band of the fine index in degrees of latitude (5 km): what a match reads in
a dense area, a few of them at a time (:func:`fine_ranges`)."""

REINDEX_KM = 0.2
"""How far a provider's reported position may drift from the position they are indexed at
before a report moves their geo index entries (:func:`leaves_cell`, ADR 0023). Matching
filters and ranks by the indexed position, so a provider's distance to a request is off by
at most this much (and their service area edge by as much)."""


@dataclass(frozen=True)
class IndexRange:
    """One Query of a match: the providers of ``partition`` whose longitude key lies in
    ``lo_key .. hi_key`` (both inclusive; compare with the sort key's prefix), in the band
    index (``fine`` False, :func:`index_key`) or the fine one (:func:`fine_index_key`)."""

    partition: str
    lo_key: str
    hi_key: str
    fine: bool = False


# --- validation -------------------------------------------------------------------------


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{name} must be a number")
    result = float(value)
    if not math.isfinite(result):
        raise Invalid(f"{name} must be a finite number")
    return result


def validate_lat(value: object) -> float:
    """A latitude in degrees, -90..90; anything else raises ``Invalid`` saying why."""
    lat = _number(value, "lat")
    if not -90.0 <= lat <= 90.0:
        raise Invalid(f"lat must be between -90 and 90, got {lat:g}")
    return lat


def validate_lng(value: object) -> float:
    """A longitude in degrees, -180..180; anything else raises ``Invalid`` saying why."""
    lng = _number(value, "lng")
    if not -180.0 <= lng <= 180.0:
        raise Invalid(f"lng must be between -180 and 180, got {lng:g}")
    return lng


def validate_location(lat: object, lng: object) -> tuple[float, float]:
    """Both coordinates validated: ``(lat, lng)`` as floats."""
    return validate_lat(lat), validate_lng(lng)


# --- distance -----------------------------------------------------------------------------


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance between two points in km (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def leaves_cell(indexed: tuple[float, float], reported: tuple[float, float]) -> bool:
    """Whether a report at ``reported`` moves a provider indexed at ``indexed``: farther
    than :data:`REINDEX_KM` from it (a disc around the indexed position, so a provider
    jittering near a line never re-indexes; one driving re-indexes every
    ``REINDEX_KM`` or so)."""
    return haversine_km(*indexed, *reported) > REINDEX_KM


# --- the index ----------------------------------------------------------------------------


def _band(lat: float, height: float = BAND_DEG) -> int:
    return min(math.floor((lat + 90.0) / height), int(180.0 / height))


def _block(lng: float) -> int:
    return min(math.floor((lng + 180.0) / BLOCK_DEG), int(360.0 / BLOCK_DEG) - 1)


def _micro(lng: float) -> int:
    """Longitude as whole micro-degrees east of the antimeridian, 0..359,999,999."""
    return min(math.floor((lng + 180.0) * _MICRO), 360 * _MICRO - 1)


def _partition(band: int, block: int) -> str:
    return f"{band:03d}:{block:02d}"


def _lng_key(micro: int) -> str:
    return f"{micro:09d}"


def index_key(lat: float, lng: float, provider_id: str) -> tuple[str, str]:
    """(partition, sort key) under which an online provider at this location is indexed."""
    lat, lng = validate_location(lat, lng)
    return _partition(_band(lat), _block(lng)), f"{_lng_key(_micro(lng))}#{provider_id}"


def fine_index_key(lat: float, lng: float, provider_id: str) -> tuple[str, str]:
    """(partition, sort key) of an online provider in the fine index: bands of
    :data:`FINE_BAND_DEG` (4-digit band), the same blocks and longitude sort key."""
    lat, lng = validate_location(lat, lng)
    band = _band(lat, FINE_BAND_DEG)
    return f"{band:04d}:{_block(lng):02d}", f"{_lng_key(_micro(lng))}#{provider_id}"


def _checked_radius(lat: float, lng: float, radius_km: float) -> tuple[float, float, float]:
    lat, lng = validate_location(lat, lng)
    radius = _number(radius_km, "radius_km")
    if not 0.0 <= radius <= MAX_RADIUS_KM:
        raise Invalid(f"search radius must be between 0 and {MAX_RADIUS_KM:g} km")
    if abs(lat) > MAX_MATCH_LAT:
        raise Invalid(f"matching is not available beyond latitude +/-{MAX_MATCH_LAT:g}")
    return lat, lng, radius


def _half_width_deg(lat: float, radius_km: float, south: float, north: float) -> float:
    """The widest longitude offset (degrees) at which a point with a latitude in
    ``south..north`` can lie within ``radius_km`` of a point at ``lat`` (exact on the
    sphere: the widest offset is at the interval's ends or where ``sin(phi) = sin(lat) /
    cos(radius)``)."""
    angle = radius_km / EARTH_RADIUS_KM
    p0 = math.radians(lat)
    widest = math.asin(max(-1.0, min(1.0, math.sin(p0) / math.cos(angle))))
    best = 0.0
    lo, hi = math.radians(south), math.radians(north)
    for phi in (lo, hi, min(max(widest, lo), hi)):
        cos_dl = (math.cos(angle) - math.sin(p0) * math.sin(phi)) / (math.cos(p0) * math.cos(phi))
        if cos_dl <= 1.0:
            best = max(best, math.acos(max(-1.0, cos_dl)))
    return math.degrees(best)


def _split(west: float, east: float) -> list[tuple[int, str, str]]:
    """A longitude span (may pass -180/180) as (block, lo_key, hi_key) pieces."""
    if west < -180.0:
        spans = [(west + 360.0, _LAST_LNG), (-180.0, east)]
    elif east >= 180.0:
        spans = [(west, _LAST_LNG), (-180.0, east - 360.0)]
    else:
        spans = [(west, east)]
    out = []
    for lo, hi in spans:
        for block in range(_block(lo), _block(hi) + 1):
            edge_lo = max(lo, block * BLOCK_DEG - 180.0)
            edge_hi = min(hi, (block + 1) * BLOCK_DEG - 180.0 - 1e-9)
            out.append((block, _lng_key(_micro(edge_lo)), _lng_key(_micro(edge_hi))))
    return out


def fine_ranges(lat: float, lng: float, radius_km: float) -> list[IndexRange]:
    """The fine index ranges holding every provider within ``radius_km`` of the point: one
    per fine band the disc touches (and block it crosses), each only as wide as the disc is
    within that band. Everyone outside them is farther than ``radius_km``."""
    lat, lng, radius = _checked_radius(lat, lng, radius_km)
    dlat = math.degrees(radius / EARTH_RADIUS_KM) + 1e-9
    found: list[IndexRange] = []
    top = int(180.0 / FINE_BAND_DEG)
    for band in range(
        _band(max(-90.0, lat - dlat), FINE_BAND_DEG),
        _band(min(90.0, lat + dlat), FINE_BAND_DEG) + 1,
    ):
        south = max(lat - dlat, band * FINE_BAND_DEG - 90.0)
        north = min(lat + dlat, 90.0 if band >= top else (band + 1) * FINE_BAND_DEG - 90.0)
        half = _half_width_deg(lat, radius, south, north) + 1e-7
        for block, lo, hi in _split(lng - half, lng + half):
            found.append(IndexRange(f"{band:04d}:{block:02d}", lo, hi, fine=True))
    return found


def ranges_to_query(lat: float, lng: float, radius_km: float = MAX_RADIUS_KM) -> list[IndexRange]:
    """The index ranges that hold every provider within ``radius_km`` of the point:
    one per band the disc touches (at most 2) and block its longitude span crosses (at
    most 2). Raises ``Invalid`` for a bad point, a radius outside 0..MAX_RADIUS_KM, or a
    latitude beyond :data:`MAX_MATCH_LAT`."""
    lat, lng, radius = _checked_radius(lat, lng, radius_km)
    angle = radius / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-9
    dlng = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat)))) + 1e-9
    bands = range(_band(max(-90.0, lat - dlat)), _band(min(90.0, lat + dlat)) + 1)
    return [
        IndexRange(partition=_partition(band, block), lo_key=lo, hi_key=hi)
        for block, lo, hi in _split(lng - dlng, lng + dlng)
        for band in bands
    ]
