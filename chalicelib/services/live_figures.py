"""The operators' live view (``GET /admin/metrics``, ``GET /admin/map``): read, never
computed from the raw items.

- Figures: the counters kept in the writes that change them (``store/metrics.py``): 1
  BatchGetItem whatever the traffic.
- Map: the providers online and the open requests within 20 km of the city's centre
  (:data:`CITY`), from the band index (online providers under ``GEO#``, open requests
  under ``OPEN#`` in write shards): 1 Query per band for providers and 1 per band and
  shard for requests (the city's disc touches 2 bands: 2 + 8 = 10 Queries), at most
  ``limit`` of each per band.
"""

from __future__ import annotations

from chalicelib import ids
from chalicelib.domain import geo
from chalicelib.schemas.accounts import MapOut, MapQuery, MetricsOut, Spot
from chalicelib.store import metrics
from chalicelib.store.marketplace import queries

CITY = (38.7223, -9.1393)
"""The demo city's centre (Lisbon): the web app's map."""


def figures() -> MetricsOut:
    now = ids.now()
    found = metrics.figures(now)
    return MetricsOut(
        at=ids.iso(now),
        providers_online=found.providers_online,
        open_requests=found.open_requests,
        jobs_today=found.jobs_today,
        median_accept_s=found.median_accept_s,
    )


def city_map(query: MapQuery) -> MapOut:
    lat, lng = CITY
    ranges = geo.ranges_to_query(lat, lng)
    providers, more = queries.online_providers_in(ranges, query.limit)
    requests, more_requests = metrics.open_requests_in(ranges, query.limit)
    return MapOut(
        center=Spot(id="city", lat=lat, lng=lng),
        radius_km=geo.MAX_RADIUS_KM,
        providers=[
            Spot(id=p.provider_id, lat=p.lat, lng=p.lng)
            for p in providers
            if geo.haversine_km(lat, lng, p.lat, p.lng) <= geo.MAX_RADIUS_KM
        ],
        requests=[
            Spot(id=r.id, lat=r.lat, lng=r.lng)
            for r in requests
            if geo.haversine_km(lat, lng, r.lat, r.lng) <= geo.MAX_RADIUS_KM
        ],
        truncated=more or more_requests,
    )
