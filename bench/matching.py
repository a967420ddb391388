"""matching: what finding the top 3 providers for one request costs at 1k, 10k and 100k
providers spread over a country (mainland Portugal: most around six cities, the rest
anywhere), and whether they are exactly the exhaustive ranking's top 3.

Since ADR 0014 the app's path is bounded matching (``ranking.best_nearby``: the band index
probed at most 40 per range, then rings of the fine index); the description below of the
path's first step and of the in-memory index applies to both indexes (gsi3, gsi4, Limit).
``matching_agreement`` compares the offers with the exhaustive ranking (every online
provider within 20 km, ranked by the domain) on the 40 metered requests and 200 more per
size.

For each size, 70 % of the providers are online (so in the geo index) and requests at points
drawn like the providers (people ask where people are) are matched through the app's own
path: :func:`chalicelib.domain.geo.ranges_to_query`, one Query per band range on the geo
index (``store.marketplace.online_providers_in``: PynamoDB, botocore, parallel), then the
domain's filter and ranking. Printed per size: ranges (= Queries) per match, items read per match
(what DynamoDB bills), the share of all online providers that is, the candidates found, and
the app's time per match.

The geo index is served from memory at botocore's ``before-call`` hook, with DynamoDB's
semantics for a Query on one partition with a sort-key range (1 MB pages): moto answers a
Query on an index by walking every item of the table (seconds per match at 10k, minutes at
100k), so its time says nothing about DynamoDB. At 1,000 providers the same matches are also
run on moto and the candidates compared. The time excludes DynamoDB's own latency: the
Queries of a match run in parallel, so it adds about one Query round trip.

Run: ``python -m bench.matching [--sizes 1000,10000,100000] [--matches 40]``. Prints, never
asserts.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

for _var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_var, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SUMMON_STAGE": "bench",
    }
)

CITIES = (  # name, lat, lng, share of the clustered providers
    ("Lisbon", 38.7223, -9.1393, 0.40),
    ("Porto", 41.1579, -8.6291, 0.25),
    ("Braga", 41.5454, -8.4265, 0.10),
    ("Coimbra", 40.2033, -8.4103, 0.10),
    ("Faro", 37.0194, -7.9322, 0.08),
    ("Évora", 38.5714, -7.9135, 0.07),
)
COUNTRY = (37.0, 42.1, -9.5, -6.2)  # south, north, west, east
CLUSTERED = 0.6
CITY_SPREAD_KM = 12.0
ONLINE = 0.7
CATEGORIES = ("plumbing", "electrical", "cleaning", "moving", "tutoring", "gardening")


def _point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < CLUSTERED:
        _, lat, lng, _ = rng.choices(CITIES, weights=[c[3] for c in CITIES])[0]
        dlat = rng.gauss(0, CITY_SPREAD_KM) / 111.32
        dlng = rng.gauss(0, CITY_SPREAD_KM) / (111.32 * math.cos(math.radians(lat)))
        return lat + dlat, lng + dlng
    south, north, west, east = COUNTRY
    return rng.uniform(south, north), rng.uniform(west, east)


@dataclass
class Meter:
    """DynamoDB Queries and the items they returned, through botocore's events."""

    queries: int = 0
    items: int = 0
    read_units: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, parsed: Any = None, **_: Any) -> None:
        with self.lock:
            self.queries += 1
            self.items += int((parsed or {}).get("Count", 0))
            consumed = (parsed or {}).get("ConsumedCapacity") or {}
            self.read_units += float(consumed.get("CapacityUnits", 0.0))


INDEXES = ("gsi3", "gsi4")


class GeoIndex:
    """DynamoDB's answer to ``Query gsi3|gsi4 WHERE pk = :p AND sk BETWEEN :lo AND :hi``
    (``Limit``), from memory: the index entries (keys + the projected ``GEO_ATTRIBUTES``) of
    that range in sort-key order, in pages of at most 1 MB of entries or ``Limit`` entries
    (with LastEvaluatedKey)."""

    PAGE_BYTES = 1024 * 1024

    def __init__(self) -> None:
        self.partitions: dict[tuple[str, str], list[tuple[dict[str, Any], int]]] = defaultdict(list)
        self.sort_keys: dict[tuple[str, str], list[str]] = {}

    def add(self, item: Any) -> None:
        from chalicelib.store.models import GEO_ATTRIBUTES
        from devstack.capacity import item_size

        for index in INDEXES:
            keep = {"pk", "sk", f"{index}pk", f"{index}sk", *GEO_ATTRIBUTES}
            wire = {k: v for k, v in item.serialize().items() if k in keep}
            self.partitions[(index, getattr(item, f"{index}pk"))].append((wire, item_size(wire)))

    def seal(self) -> None:
        for (index, pk), items in self.partitions.items():
            items.sort(key=lambda pair, i=index: pair[0][f"{i}sk"]["S"])  # type: ignore[misc]
            self.sort_keys[(index, pk)] = [w[f"{index}sk"]["S"] for w, _ in items]

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        request = json.loads(params["body"])
        index = request.get("IndexName")
        if index not in INDEXES:
            return None
        values = request["ExpressionAttributeValues"]
        pk = (index, values[":0"]["S"])
        lo, hi = (values[":1"]["S"], values[":2"]["S"]) if ":2" in values else ("", "\uffff")
        items = self.partitions.get(pk, [])
        sort_keys = self.sort_keys.get(pk, [])
        first = bisect.bisect_left(sort_keys, lo)
        end = bisect.bisect_right(sort_keys, hi)
        start = request.get("ExclusiveStartKey")
        if start:
            first = bisect.bisect_right(sort_keys, start[f"{index}sk"]["S"])
        limit = int(request.get("Limit") or 1 << 30)
        page, size = [], 0
        for wire, length in items[first:end]:
            if (page and size + length > self.PAGE_BYTES) or len(page) >= limit:
                break
            page.append(wire)
            size += length
        wanted = request.get("ProjectionExpression")
        if wanted:
            names = request.get("ExpressionAttributeNames", {})
            keep = {names.get(n.strip(), n.strip()) for n in wanted.split(",")}
            page = [{k: v for k, v in w.items() if k in keep} for w in page]
        parsed: dict[str, Any] = {
            "Items": page,
            "Count": len(page),
            "ScannedCount": len(page),
            # eventually consistent: half a unit per 4 KB of index entries read, rounded up
            "ConsumedCapacity": {"CapacityUnits": 0.5 * math.ceil(max(size, 1) / 4096)},
        }
        if first + len(page) < end:
            last = items[first + len(page) - 1][0]
            parsed["LastEvaluatedKey"] = {
                k: last[k] for k in ("pk", "sk", f"{index}pk", f"{index}sk")
            }
        return AWSResponse("https://dynamodb.bench", 200, {}, None), parsed


@contextmanager
def hooked(index: GeoIndex | None) -> Iterator[Meter]:
    """Count Queries and items; with ``index``, answer the geo index's Queries from it."""
    from chalicelib.store.models import Entity

    meter = Meter()
    events = Entity._get_connection().connection.client.meta.events
    events.register("after-call.dynamodb.Query", meter, unique_id="bench-meter")
    if index is not None:
        events.register_first("before-call.dynamodb.Query", index, unique_id="bench-index")
    try:
        yield meter
    finally:
        events.unregister("after-call.dynamodb.Query", unique_id="bench-meter")
        events.unregister("before-call.dynamodb.Query", unique_id="bench-index")


def providers(count: int, rng: random.Random) -> list[Any]:
    """``count`` provider items; the online ones carry their geo index keys."""
    from chalicelib.store import keys
    from chalicelib.store.models import ProviderItem

    out = []
    for _ in range(count):
        uid = str(uuid.UUID(int=rng.getrandbits(128)))
        lat, lng = _point(rng)
        online = rng.random() < ONLINE
        ratings = rng.randint(0, 60)
        item = ProviderItem(
            keys.user(uid),
            keys.PROVIDER,
            name=f"Provider {uid[:6]}",
            categories=rng.sample(CATEGORIES, k=rng.randint(1, 3)),
            bio="Twenty years of fixing what others could not.",
            lat=round(lat, 6),
            lng=round(lng, 6),
            radius_km=float(rng.choice([5, 10, 15, 20])),
            rate={"amount": f"{rng.randint(15, 80)}.00", "currency": "EUR", "unit": "hour"},
            online=1 if online else 0,
            rating_count=ratings,
            rating_sum=sum(rng.randint(3, 5) for _ in range(ratings)),
            offers_received=rng.randint(0, 100),
            offers_accepted=rng.randint(0, 50),
            version=1,
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
        )
        if online:
            for attribute, value in keys.geo_index(lat, lng, uid).items():
                setattr(item, attribute, value)
        out.append(item)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Match:
    queries: int
    items: int
    read_units: float
    candidates: list[str]
    ms: float


def match_all(
    points: list[tuple[float, float, str]], index: GeoIndex | None, k: int
) -> list[Match]:
    from chalicelib.services import matching

    out = []
    for lat, lng, category in points:
        with hooked(index) as meter:
            started = time.perf_counter()
            ranked = matching.find_candidates(lat, lng, category, k=k)
            elapsed = (time.perf_counter() - started) * 1000
        out.append(
            Match(
                meter.queries,
                meter.items,
                meter.read_units,
                [r.provider_id for r in ranked],
                elapsed,
            )
        )
    return out


def exhaustive(
    snapshots: dict[str, list[Any]], points: list[tuple[float, float, str]], k: int
) -> list[list[str]]:
    """The top ``k`` of every eligible provider (the whole ranking, from memory): every
    online provider of the band ranges around the request, filtered and ranked."""
    from chalicelib.domain import geo, ranking

    out = []
    for lat, lng, category in points:
        everyone = [
            p
            for r in geo.ranges_to_query(lat, lng)
            for key, p in snapshots.get(r.partition, [])
            if r.lo_key <= key <= r.hi_key + "~"
        ]
        ranked = ranking.rank(ranking.candidates_for(lat, lng, category, everyone))
        out.append([c.provider_id for c in ranked[:k]])
    return out


def _snapshots(items: list[Any]) -> dict[str, list[Any]]:
    from chalicelib.store.marketplace.queries import provider_snapshot

    out: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        if item.gsi3pk:
            out[item.gsi3pk.removeprefix("GEO#")].append(
                (item.gsi3sk, provider_snapshot(item.serialize()))
            )
    return out


def moved_within_cell(snapshots: dict[str, list[Any]], rng: random.Random) -> dict[str, list[Any]]:
    """The same providers at a live position of their own: each moved from where it is
    indexed to a point drawn uniformly from the disc of ``geo.REINDEX_KM`` around it (how
    far a report may land without re-indexing them, ADR 0023)."""
    from dataclasses import replace

    from chalicelib.domain import geo

    out: dict[str, list[Any]] = {}
    for partition, entries in snapshots.items():
        moved = []
        for key, p in entries:
            d, angle = geo.REINDEX_KM * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            dlat = d * math.cos(angle) / 111.2
            dlng = d * math.sin(angle) / (111.2 * math.cos(math.radians(p.lat)))
            moved.append((key, replace(p, lat=p.lat + dlat, lng=p.lng + dlng)))
        out[partition] = moved
    return out


def on_moto(items: list[Any], points: list[tuple[float, float, str]], k: int) -> list[Match]:
    """The same matches on the emulator (small sizes only: its index Query walks the table)."""
    from moto import mock_aws

    from chalicelib.store.models import Entity

    with mock_aws():
        Entity.create_table(wait=True)
        with Entity.batch_write() as batch:
            for item in items:
                batch.save(item)
        return match_all(points, None, k)


def run_size(count: int, matches: int, agreement: int, seed: int, k: int) -> dict[str, float]:
    from chalicelib.domain import geo

    rng = random.Random(seed)
    started = time.perf_counter()
    items = providers(count, rng)
    index = GeoIndex()
    for item in items:
        if item.gsi3pk:
            index.add(item)
    index.seal()
    online = sum(1 for i in items if i.gsi3pk)
    points = [(*_point(rng), rng.choice(CATEGORIES)) for _ in range(matches)]
    results = match_all(points, index, k)
    located = [(float(i.lat), float(i.lng)) for i in items if i.gsi3pk]
    near = [
        sum(1 for a, b in located if geo.haversine_km(lat, lng, a, b) <= geo.MAX_RADIUS_KM)
        for lat, lng, _ in points
    ]
    extra = [(*_point(rng), rng.choice(CATEGORIES)) for _ in range(agreement)]
    offered = [m.candidates for m in results] + [m.candidates for m in match_all(extra, index, k)]
    truth = exhaustive(_snapshots(items), points + extra, k)
    agreed = sum(a == b for a, b in zip(offered, truth, strict=True))
    live = exhaustive(
        moved_within_cell(_snapshots(items), random.Random(seed + 1)), points + extra, k
    )
    live_agreed = sum(a == b for a, b in zip(offered, live, strict=True))
    live_sets = sum(set(a) == set(b) for a, b in zip(offered, live, strict=True))
    took = time.perf_counter() - started

    def line(label: str, values: list[float], unit: str = "", digits: int = 0) -> None:
        fmt = f"{{:,.{digits}f}}"
        print(
            f"  {label:<32} median {fmt.format(statistics.median(values))}{unit}, "
            f"p95 {fmt.format(_pct(values, 0.95))}{unit}, max {fmt.format(max(values))}{unit}"
        )

    print(
        f"matching: {count:,} providers over mainland Portugal ({online:,} online), "
        f"{matches} matches for the top {k} ({took:.1f} s)"
    )
    line("Queries per match", [float(m.queries) for m in results])
    line("items read per match (raw)", [float(m.items) for m in results])
    line("read units per match", [m.read_units for m in results], "", 1)
    line("online within 20 km of it", [float(n) for n in near])
    line("share of online providers read", [100 * m.items / online for m in results], " %", 2)
    line("providers offered per match", [float(len(m.candidates)) for m in results])
    line("app time per match", [m.ms for m in results], " ms", 1)
    print(
        f"  offered = exhaustive top {k}        {agreed}/{len(truth)} requests "
        f"({100 * agreed / len(truth):.1f} %)"
    )
    print(
        f"  ... = top {k} by live positions     {live_agreed}/{len(live)} requests "
        f"({100 * live_agreed / len(live):.1f} %; the same {k} in any order "
        f"{100 * live_sets / len(live):.1f} %; each provider up to "
        f"{geo.REINDEX_KM * 1000:.0f} m from where indexed)"
    )
    if count <= 1000:
        emulated = on_moto(items, points, k)
        same = sum(a.candidates == b.candidates for a, b in zip(results, emulated, strict=True))
        print(f"  same offers on the emulator       {same}/{len(results)} matches")
    sys.stdout.flush()
    return {
        "items": statistics.median(float(m.items) for m in results),
        "queries": statistics.median(float(m.queries) for m in results),
        "queries_max": max(float(m.queries) for m in results),
        "ms": statistics.median(m.ms for m in results),
        "agreed": agreed,
        "requests": len(truth),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--matches", type=int, default=40)
    parser.add_argument("--agreement", type=int, default=200, help="more requests per size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from moto import mock_aws

    from chalicelib.domain.dispatch import OFFERS_AT_ONCE

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with mock_aws():  # nothing may reach a real endpoint; the index is served from memory
        figures = {
            size: run_size(size, args.matches, args.agreement, args.seed, OFFERS_AT_ONCE)
            for size in sizes
        }
    small, large = figures[min(sizes)], figures[max(sizes)]
    print(
        f"matching_scale: {max(sizes):,}/{min(sizes):,} providers -- raw items read per match "
        f"(median) {small['items']:,.0f} -> {large['items']:,.0f}: "
        f"{large['items'] / small['items']:.2f}x (target <= 2x); Queries per match (median) "
        f"{small['queries']:.0f} -> {large['queries']:.0f} (max {large['queries_max']:.0f}; "
        f"target <= 4); app time per match {small['ms']:.1f} -> {large['ms']:.1f} ms "
        f"(target <= 30 ms at 100k)",
        flush=True,
    )
    agreed = sum(f["agreed"] for f in figures.values())
    asked = sum(f["requests"] for f in figures.values())
    print(
        f"matching_agreement: the providers offered = the exhaustive ranking's top "
        f"{OFFERS_AT_ONCE} in {agreed}/{asked} requests ({100 * agreed / asked:.1f} %; "
        f"target >= 99 %)",
        flush=True,
    )
    print("  (add about one DynamoDB Query latency per ring: a ring's Queries run in parallel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
