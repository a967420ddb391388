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

Hot partitions: a partition is 40 km x 10 deg (870 km at 38 deg N); the seeds of a city's
providers share one partition, which holds DynamoDB's 3,000 reads / 1,000 writes per
second per partition (and DynamoDB splits a hot partition by sort-key range -- here by
longitude -- as it grows).
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


@dataclass(frozen=True)
class IndexRange:
    """One Query of a match: the providers of ``partition`` whose longitude key lies in
    ``lo_key .. hi_key`` (both inclusive; compare with the sort key's prefix)."""

    partition: str
    lo_key: str
    hi_key: str


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


# --- the index ----------------------------------------------------------------------------


def _band(lat: float) -> int:
    return min(math.floor((lat + 90.0) / BAND_DEG), int(180.0 / BAND_DEG))


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


def ranges_to_query(lat: float, lng: float, radius_km: float = MAX_RADIUS_KM) -> list[IndexRange]:
    """The index ranges that hold every provider within ``radius_km`` of the point:
    one per band the disc touches (at most 2) and block its longitude span crosses (at
    most 2). Raises ``Invalid`` for a bad point, a radius outside 0..MAX_RADIUS_KM, or a
    latitude beyond :data:`MAX_MATCH_LAT`."""
    lat, lng = validate_location(lat, lng)
    radius = _number(radius_km, "radius_km")
    if not 0.0 <= radius <= MAX_RADIUS_KM:
        raise Invalid(f"search radius must be between 0 and {MAX_RADIUS_KM:g} km")
    if abs(lat) > MAX_MATCH_LAT:
        raise Invalid(f"matching is not available beyond latitude +/-{MAX_MATCH_LAT:g}")
    angle = radius / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-9
    dlng = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat)))) + 1e-9
    bands = range(_band(max(-90.0, lat - dlat)), _band(min(90.0, lat + dlat)) + 1)
    west, east = lng - dlng, lng + dlng
    # longitude spans within -180..180: two when the disc crosses the antimeridian
    if west < -180.0:
        spans = [(west + 360.0, _LAST_LNG), (-180.0, east)]
    elif east >= 180.0:
        spans = [(west, _LAST_LNG), (-180.0, east - 360.0)]
    else:
        spans = [(west, east)]
    found: list[IndexRange] = []
    for lo, hi in spans:
        for block in range(_block(lo), _block(hi) + 1):
            edge_lo = max(lo, block * BLOCK_DEG - 180.0)
            edge_hi = min(hi, (block + 1) * BLOCK_DEG - 180.0 - 1e-9)
            for band in bands:
                found.append(
                    IndexRange(
                        partition=_partition(band, block),
                        lo_key=_lng_key(_micro(edge_lo)),
                        hi_key=_lng_key(_micro(edge_hi)),
                    )
                )
    return found
