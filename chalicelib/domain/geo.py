"""Geohash, great-circle distance, location validation and the geospatial index design.

Index design
------------
A provider who is online is indexed under exactly ONE geohash cell of precision
:data:`INDEX_PRECISION` (= 4): the cell that contains the provider's current location
(:func:`index_cell`). At precision 4 the geohash grid is 1024 x 1024 cells, each
0.3515625 deg of longitude by 0.17578125 deg of latitude: about 39.1 km x 19.5 km at the
equator, 27.6 km x 19.5 km at 45 deg and 13.4 km x 19.5 km at 70 deg.

Every provider's service radius is capped at :data:`MAX_RADIUS_KM` (= 20 km) and a request
matches a provider when ``distance(request, provider) <= provider.radius_km``. So every
provider who can possibly match a request lies within ``MAX_RADIUS_KM`` of it, and
:func:`cells_to_query` returns exactly the precision-4 cells that intersect the disc of
that radius around the request (the exact point-to-cell distance on the sphere is used, so
no cell is read for nothing and none is missed). Reading those cells finds every candidate;
the precise test (distance <= the provider's own radius) happens afterwards on the items
read (:func:`chalicelib.domain.ranking.is_eligible`).

Cost: the disc spans 0.36 deg of latitude, so it touches at most 4 rows of cells; up to
+/-:data:`BOUNDED_LAT` (= 70 deg) it spans at most 2 x asin(sin(20/R) / cos 70) = 1.05 deg of
longitude, under 3 cell widths, so at most 4 columns. Hence never more than
:data:`MAX_CELLS_TO_QUERY` (= 16) cells up to +/-70 deg; after dropping the bounding-box
cells the disc misses, the measured worst case is 8 at the equator, 9 at 45 deg, 12 at
60 deg and 13 at 70 deg. The items read are only the providers online in those cells, so
the cost grows with the providers *near* the request, never with the total. Past +/-70 deg
the cells narrow and the count grows (up to 20 at 80 deg); matching is refused beyond
+/-:data:`MAX_MATCH_LAT` (= 80 deg) so that no request can make the store read hundreds of
cells near a pole.

The cell is meant as the partition key of a GSI (e.g. ``GEO#<cell>``), never the entity
type alone, so no single hot partition: the index item is rewritten only when a provider
goes online or offline or moves into another cell, and a store may put the category in the
key as well (``GEO#<category>#<cell>``, one index item per offered category) so that a
match reads only providers of the requested category.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from chalicelib.errors import Invalid

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), used by :func:`haversine_km`."""

INDEX_PRECISION = 4
"""Geohash length under which an online provider is indexed (cells ~39 x 19.5 km)."""

MAX_RADIUS_KM = 20.0
"""Largest service radius a provider may declare; also the radius every match searches."""

MAX_CELLS_TO_QUERY = 16
"""Upper bound of ``len(cells_to_query(lat, lng))`` for ``abs(lat) <= BOUNDED_LAT``."""

BOUNDED_LAT = 70.0
"""Latitude up to which :data:`MAX_CELLS_TO_QUERY` holds (tested)."""

MAX_MATCH_LAT = 80.0
"""Requests beyond this latitude are refused by :func:`cells_to_query` (cost guard)."""

_BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"
_DECODE = MappingProxyType({c: i for i, c in enumerate(_BASE32)})
_EPS_KM = 1e-6


@dataclass(frozen=True)
class Bounds:
    """A geohash cell: its latitude and longitude extent in degrees."""

    south: float
    west: float
    north: float
    east: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.south + self.north) / 2, (self.west + self.east) / 2


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


def validate_radius_km(value: object) -> float:
    """A provider's service radius: > 0 and <= :data:`MAX_RADIUS_KM`."""
    radius = _number(value, "radius_km")
    if not 0.0 < radius <= MAX_RADIUS_KM:
        raise Invalid(f"radius_km must be greater than 0 and at most {MAX_RADIUS_KM:g}")
    return radius


# --- geohash ------------------------------------------------------------------------------


def _grid(precision: int) -> tuple[int, int]:
    """(latitude bits, longitude bits) of a geohash of this length."""
    if not 1 <= precision <= 12:
        raise ValueError("geohash precision must be 1..12")
    total = 5 * precision
    return total // 2, (total + 1) // 2


def _to_hash(row: int, col: int, precision: int) -> str:
    lat_bits, lng_bits = _grid(precision)
    value = 0
    for i in range(5 * precision):  # bits alternate lng, lat, lng, ... most significant first
        source, width = (col, lng_bits) if i % 2 == 0 else (row, lat_bits)
        bit = (source >> (width - 1 - i // 2)) & 1
        value = (value << 1) | bit
    return "".join(_BASE32[(value >> (5 * k)) & 31] for k in reversed(range(precision)))


def _from_hash(geohash: str) -> tuple[int, int, int]:
    """(row, col, precision) of a geohash; raises ``Invalid`` if it is not one."""
    if not 1 <= len(geohash) <= 12 or any(c not in _DECODE for c in geohash):
        raise Invalid(f"not a geohash: {geohash!r}")
    value = 0
    for c in geohash:
        value = (value << 5) | _DECODE[c]
    total = 5 * len(geohash)
    row = col = 0
    for i in range(total):
        bit = (value >> (total - 1 - i)) & 1
        if i % 2 == 0:
            col = (col << 1) | bit
        else:
            row = (row << 1) | bit
    return row, col, len(geohash)


def _row(lat: float, lat_bits: int) -> int:
    return min(int((lat + 90.0) / 180.0 * (1 << lat_bits)), (1 << lat_bits) - 1)


def _col(lng: float, lng_bits: int) -> int:
    return min(int((lng + 180.0) / 360.0 * (1 << lng_bits)), (1 << lng_bits) - 1)


def _bounds(row: int, col: int, precision: int) -> Bounds:
    lat_bits, lng_bits = _grid(precision)
    dlat, dlng = 180.0 / (1 << lat_bits), 360.0 / (1 << lng_bits)
    return Bounds(
        south=-90.0 + row * dlat,
        west=-180.0 + col * dlng,
        north=-90.0 + (row + 1) * dlat,
        east=-180.0 + (col + 1) * dlng,
    )


def encode(lat: float, lng: float, precision: int = INDEX_PRECISION) -> str:
    """The geohash of length ``precision`` of the cell that contains the point."""
    lat, lng = validate_location(lat, lng)
    lat_bits, lng_bits = _grid(precision)
    return _to_hash(_row(lat, lat_bits), _col(lng, lng_bits), precision)


def decode(geohash: str) -> Bounds:
    """The cell a geohash names."""
    return _bounds(*_from_hash(geohash))


def neighbours(geohash: str) -> list[str]:
    """The up to 8 cells of the same length around ``geohash`` (wrapping at +/-180 deg).

    Order: n, ne, e, se, s, sw, w, nw; cells past a pole do not exist and are skipped, and
    a cell is never its own neighbour (precision 1, where the grid is 4 rows high, is the
    only length at which that matters)."""
    row, col, precision = _from_hash(geohash)
    lat_bits, lng_bits = _grid(precision)
    out: list[str] = []
    for drow, dcol in ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)):
        r, c = row + drow, (col + dcol) % (1 << lng_bits)
        if 0 <= r < (1 << lat_bits):
            cell = _to_hash(r, c, precision)
            if cell != geohash and cell not in out:
                out.append(cell)
    return out


# --- distance -----------------------------------------------------------------------------


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance between two points in km (spherical Earth)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_to_cell_km(lat: float, lng: float, cell: Bounds) -> float:
    """Exact shortest great-circle distance from a point to a cell (0 if inside).

    Inside the cell's longitude span the nearest point is straight north or south. Outside
    it, the nearest point lies on the nearer bounding meridian, at the foot of the
    perpendicular from the point (``tan(lat') = tan(lat) / cos(dlng)``) clamped to the cell.
    """

    def clamp(v: float) -> float:
        return max(cell.south, min(cell.north, v))

    to_west = (cell.west - lng) % 360.0  # eastward degrees from the point to each meridian
    to_east = (lng - cell.east) % 360.0  # westward degrees from the east meridian
    span = cell.east - cell.west
    if (lng - cell.west) % 360.0 <= span:
        return haversine_km(lat, lng, clamp(lat), lng)
    edge, dlng = (cell.west, to_west) if to_west <= to_east else (cell.east, to_east)
    if dlng >= 90.0:
        foot = 90.0 if lat > 0 else -90.0  # beyond a quarter turn: nearest towards the pole
    else:
        foot = math.degrees(math.atan(math.tan(math.radians(lat)) / math.cos(math.radians(dlng))))
    return haversine_km(lat, lng, clamp(foot), edge)


# --- the index ----------------------------------------------------------------------------


def index_cell(lat: float, lng: float) -> str:
    """The one cell an online provider at this location is indexed under."""
    return encode(lat, lng, INDEX_PRECISION)


def cells_to_query(
    lat: float,
    lng: float,
    radius_km: float = MAX_RADIUS_KM,
    precision: int = INDEX_PRECISION,
) -> list[str]:
    """The cells whose providers may lie within ``radius_km`` of the point, sorted.

    Exactly the cells (of the index precision) at a great-circle distance <= ``radius_km``
    from the point: at most :data:`MAX_CELLS_TO_QUERY` for the default radius and precision
    when ``abs(lat) <= BOUNDED_LAT``. Raises ``Invalid`` for a bad point, a radius outside
    0..MAX_RADIUS_KM, or a latitude beyond :data:`MAX_MATCH_LAT`.
    """
    lat, lng = validate_location(lat, lng)
    radius = _number(radius_km, "radius_km")
    if not 0.0 <= radius <= MAX_RADIUS_KM:
        raise Invalid(f"search radius must be between 0 and {MAX_RADIUS_KM:g} km")
    if abs(lat) > MAX_MATCH_LAT:
        raise Invalid(f"matching is not available beyond latitude +/-{MAX_MATCH_LAT:g}")
    lat_bits, lng_bits = _grid(precision)
    cols = 1 << lng_bits
    delta = math.degrees(radius / EARTH_RADIUS_KM)
    row_lo, row_hi = _row(max(-90.0, lat - delta), lat_bits), _row(min(90.0, lat + delta), lat_bits)
    ratio = math.sin(radius / EARTH_RADIUS_KM) / math.cos(math.radians(lat))
    if abs(lat) + delta >= 90.0 or ratio >= 1.0:
        col_lo, count = 0, cols
    else:
        dlng = math.degrees(math.asin(ratio)) + 1e-9
        col_lo = _col(((lng - dlng + 180.0) % 360.0) - 180.0, lng_bits)
        col_hi = _col(((lng + dlng + 180.0) % 360.0) - 180.0, lng_bits)
        count = min(cols, (col_hi - col_lo) % cols + 1)
    found: list[str] = []
    for row in range(row_lo, row_hi + 1):
        for k in range(count):
            col = (col_lo + k) % cols
            if distance_to_cell_km(lat, lng, _bounds(row, col, precision)) <= radius + _EPS_KM:
                found.append(_to_hash(row, col, precision))
    return sorted(found)
