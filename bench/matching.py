"""matching: what finding the candidates for one request costs at 1k, 10k and 100k providers
spread over a country (mainland Portugal: most around six cities, the rest anywhere).

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


class GeoIndex:
    """DynamoDB's answer to ``Query gsi3 WHERE gsi3pk = :p AND gsi3sk BETWEEN :lo AND :hi``,
    from memory: the index entries (keys + the projected ``GEO_ATTRIBUTES``) of that range in
    sort-key order, in pages of at most 1 MB of entries (with LastEvaluatedKey)."""

    PAGE_BYTES = 1024 * 1024

    def __init__(self) -> None:
        self.partitions: dict[str, list[tuple[dict[str, Any], int]]] = defaultdict(list)
        self.sort_keys: dict[str, list[str]] = {}

    def add(self, item: Any) -> None:
        from chalicelib.store.models import GEO_ATTRIBUTES
        from devstack.capacity import item_size

        keep = {"pk", "sk", "gsi3pk", "gsi3sk", *GEO_ATTRIBUTES}
        wire = {k: v for k, v in item.serialize().items() if k in keep}
        self.partitions[item.gsi3pk].append((wire, item_size(wire)))

    def seal(self) -> None:
        for pk, items in self.partitions.items():
            items.sort(key=lambda pair: pair[0]["gsi3sk"]["S"])
            self.sort_keys[pk] = [w["gsi3sk"]["S"] for w, _ in items]

    def __call__(self, params: dict[str, Any], **_: Any) -> Any:
        request = json.loads(params["body"])
        if request.get("IndexName") != "gsi3":
            return None
        values = request["ExpressionAttributeValues"]
        pk = values[":0"]["S"]
        lo, hi = (values[":1"]["S"], values[":2"]["S"]) if ":2" in values else ("", "\uffff")
        items = self.partitions.get(pk, [])
        sort_keys = self.sort_keys.get(pk, [])
        first = bisect.bisect_left(sort_keys, lo)
        end = bisect.bisect_right(sort_keys, hi)
        start = request.get("ExclusiveStartKey")
        if start:
            first = bisect.bisect_right(sort_keys, start["gsi3sk"]["S"])
        page, size = [], 0
        for wire, length in items[first:end]:
            if page and size + length > self.PAGE_BYTES:
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
            parsed["LastEvaluatedKey"] = {k: last[k] for k in ("pk", "sk", "gsi3pk", "gsi3sk")}
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
            item.gsi3pk, item.gsi3sk = keys.geo_index(lat, lng, uid)
        out.append(item)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Match:
    cells: int
    queries: int
    items: int
    read_units: float
    candidates: list[str]
    ms: float


def match_all(points: list[tuple[float, float, str]], index: GeoIndex | None) -> list[Match]:
    from chalicelib.services import matching

    out = []
    for lat, lng, category in points:
        from chalicelib.domain import geo

        with hooked(index) as meter:
            started = time.perf_counter()
            ranked = matching.find_candidates(lat, lng, category)
            elapsed = (time.perf_counter() - started) * 1000
        out.append(
            Match(
                len(geo.ranges_to_query(lat, lng)),
                meter.queries,
                meter.items,
                meter.read_units,
                [r.provider_id for r in ranked],
                elapsed,
            )
        )
    return out


def on_moto(items: list[Any], points: list[tuple[float, float, str]]) -> list[Match]:
    """The same matches on the emulator (small sizes only: its index Query walks the table)."""
    from moto import mock_aws

    from chalicelib.store.models import Entity

    with mock_aws():
        Entity.create_table(wait=True)
        with Entity.batch_write() as batch:
            for item in items:
                batch.save(item)
        return match_all(points, None)


def run_size(count: int, matches: int, seed: int) -> dict[str, float]:
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
    results = match_all(points, index)
    located = [(float(i.lat), float(i.lng)) for i in items if i.gsi3pk]
    near = [
        sum(1 for a, b in located if geo.haversine_km(lat, lng, a, b) <= geo.MAX_RADIUS_KM)
        for lat, lng, _ in points
    ]
    took = time.perf_counter() - started

    def line(label: str, values: list[float], unit: str = "", digits: int = 0) -> None:
        fmt = f"{{:,.{digits}f}}"
        print(
            f"  {label:<30} median {fmt.format(statistics.median(values))}{unit}, "
            f"p95 {fmt.format(_pct(values, 0.95))}{unit}, max {fmt.format(max(values))}{unit}"
        )

    print(
        f"matching: {count:,} providers over mainland Portugal ({online:,} online), "
        f"{matches} matches ({took:.1f} s)"
    )
    line("ranges = Queries per match", [float(m.cells) for m in results])
    line("Queries made (1 MB pages)", [float(m.queries) for m in results])
    line("items read per match", [float(m.items) for m in results])
    line("read units per match", [m.read_units for m in results], "", 1)
    line("online within 20 km of it", [float(n) for n in near])
    line(
        "items read / online within 20 km",
        [m.items / max(n, 1) for m, n in zip(results, near, strict=True)],
        "",
        1,
    )
    line("share of online providers read", [100 * m.items / online for m in results], " %", 2)
    line("candidates per match", [float(len(m.candidates)) for m in results])
    line("app time per match", [m.ms for m in results], " ms", 1)
    if count <= 1000:
        emulated = on_moto(items, points)
        same = sum(a.candidates == b.candidates for a, b in zip(results, emulated, strict=True))
        print(f"  same candidates on the emulator   {same}/{len(results)} matches")
    sys.stdout.flush()
    return {
        "items": statistics.median(float(m.items) for m in results),
        "per_near": statistics.median(
            m.items / max(n, 1) for m, n in zip(results, near, strict=True)
        ),
        "queries": statistics.median(float(m.queries) for m in results),
        "ms": statistics.median(m.ms for m in results),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--matches", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    from moto import mock_aws

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with mock_aws():  # nothing may reach a real endpoint; the index is served from memory
        figures = {size: run_size(size, args.matches, args.seed) for size in sizes}
    small, large = figures[min(sizes)], figures[max(sizes)]
    print(
        f"matching_scale: {max(sizes):,}/{min(sizes):,} providers -- Queries per match "
        f"{small['queries']:.0f} -> {large['queries']:.0f}; items read per match "
        f"{small['items']:,.0f} -> {large['items']:,.0f} ({large['items'] / small['items']:.0f}x, "
        f"the providers near the request grow with density); items read per online provider "
        f"within 20 km {small['per_near']:.1f} -> {large['per_near']:.1f} "
        f"(ratio {large['per_near'] / small['per_near']:.2f}x, target <= 1.2x); app time per "
        f"match {small['ms']:.1f} -> {large['ms']:.1f} ms",
        flush=True,
    )
    print(
        "  (Queries and items read grow with the providers near the request, not with the "
        "total; add about one DynamoDB Query latency per match: a match's Queries run in "
        "parallel)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
