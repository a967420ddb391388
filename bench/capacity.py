"""capacity: where the design breaks at internet scale, from the code's own access patterns.

For a named scenario (:data:`METRO`: a metro with 50,000 online providers updating
availability and location, 100 new requests/s, 5,000 chat messages/s, 200,000 open
sockets) and 10x it, this prints, per line, the load against its limit and the headroom
(limit / load; below 1x the line is over):

* the busiest partition of the table and of every index, in read and write request units
  per second, against DynamoDB's per-partition limits (3,000 RCU / 1,000 WCU);
* API Gateway: new WebSocket connections/s (500 per account per region by default) and
  requests/s (REST calls + inbound WebSocket messages: the account throttle, 10,000/s);
* Lambda concurrency (invocations/s x duration) against the default 1,000;
* the monthly cost if the scenario's rates held all month, at the prices of
  ``bench.cost_per_job.PRICES`` (one place, with their sources).

Where the figures come from:

* **Per route** (calls, read/write units, and which partition each unit lands in): measured
  on the metered local stack (``devstack/meter.py``, ``devstack/capacity.touches``): the
  scripted job of ``bench/scenario.py`` (request -> offers -> accept -> transitions -> chat
  -> reviews, with sockets and phones) plus :data:`MOVES` availability reports that move a
  provider out of their cell and :data:`MOVES` that stay in it (:data:`LEAVES`,
  :data:`STAYS`). Duration: the invocation's time at cloud latencies (``cost_per_job.cloud_ms``).
* **Which partition** a unit lands in: the partition key each call used, sorted into
  families (:func:`family`): one partition for everyone (``DUE#<day>``, ``APPROVALS#...``,
  the sweep cursor ...), N write shards (``CONNS#nn``, ``OPEN#<band>#nn``,
  ``DEVICES#nn``, ``DUE#<day>#nn``, ``METRICS#nn``), one per entity (a user, a
  conversation, a job ...), or a place (``GEO#...``). The geo
  partitions of a metro are counted by putting :data:`METRO`'s providers through the app's
  own ``keys.geo_index`` (a Gaussian city, fixed seed), and a match's geo reads by putting
  its requests through ``geo.ranges_to_query`` / ``geo.fine_ranges``; the items a dense
  match reads are ``bench.matching``'s at 100k providers (:data:`DENSE_MATCH`).
* **Rates**: the scenario's, with the assumptions in :class:`Scenario` (how often a provider
  reports, how many drive (their reports leave their cell), how long a socket stays open,
  how hot the busiest single entity gets). The scripted job's providers are newcomers, so
  each of its counts (offers received and accepted, the rating) rewrites their geo
  entries' ranking copy; those writes are scaled by the share of counts that do over a
  provider's first ``history_days`` (:attr:`Scenario.counter_rewrite_share`, ADR 0024).

Pure arithmetic once the figures are measured (:func:`model`, tested in
``tests/unit/test_capacity.py``).
"""

from __future__ import annotations

import argparse
import functools
import math
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.cost_per_job import PRICES

PARTITION_RCU = 3000.0
PARTITION_WCU = 1000.0
WS_NEW_CONNECTIONS_PER_S = 500.0
"""API Gateway: new WebSocket connections per second per account per region (adjustable)."""
API_REQUESTS_PER_S = 10000.0
"""API Gateway: the account's steady-state request throttle per region, REST and WebSocket
messages together (adjustable)."""
LAMBDA_CONCURRENCY = 1000.0
"""Lambda: the default concurrent executions per account per region (adjustable)."""
SECONDS_PER_MONTH = 30 * 24 * 3600
MOVES = 5
QUOTAS_SOURCE = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "apigateway-execution-service-websocket-limits-table.html, "
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html, "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
    "bp-partition-key-design.html, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
)

DENSE_MATCH = {"queries": 7.0, "read_units": 19.0}
"""What one match reads in a dense city (``bench.matching`` at 100k providers, medians,
BENCHMARKS.md): the scripted job's world is sparse (3 providers), a metro's is not."""
PROBE_ITEMS = 40
"""Items the band-index probe reads per range at most (``ranking.PROBE_LIMIT``)."""
GEO_ITEM_BYTES = 260
"""Bytes of a provider's geo index entry (``models.GEO_ATTRIBUTES``)."""
RING_KM = 8.0
"""How far a dense match's rings reach (ADR 0014: the settling radius is 4-8 km)."""
GEO_INDEXES = ("gsi3", "gsi4")
GEO_COUNTERS = "GEO#<place> counters"
"""A provider's geo entries rewritten by a count (their ranking copy, ADR 0024): in the
same partitions as ``GEO#<place>``, scaled by :attr:`Scenario.counter_rewrite_share`."""
AVAILABILITY = "PUT /me/provider/availability"
LEAVES = f"{AVAILABILITY} (leaves its cell)"
STAYS = f"{AVAILABILITY} (same cell)"
"""The availability reports measured apart: :data:`MOVES` that move a provider 1.6 km each
(re-indexed) and :data:`MOVES` that stay within ``geo.REINDEX_KM`` of the last (no index
entry)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    providers: int = 50_000
    requests_per_s: float = 100.0
    chat_per_s: float = 5_000.0
    sockets: int = 200_000
    report_every_s: float = 60.0
    """An online provider's app reports availability and location once a minute."""
    driving_share: float = 0.1
    """Of the online providers, the share driving at any moment (between jobs); the rest
    wait or work in one place, where a phone's fix wanders tens of metres: inside the
    cell (``geo.REINDEX_KM``), so their reports write no index entry."""
    speed_kmh: float = 30.0
    """How fast a driving provider moves (city traffic)."""
    offers_per_request: float = 3.0
    """Instant mode offers the top 3 (``dispatch.OFFERS_AT_ONCE``); one of them accepts."""
    history_days: float = 7.0
    """The counters' index writes are those of a provider in their first week in this
    market (a newcomer's counts move the ranking most; later ones hardly ever)."""
    socket_minutes: float = 30.0
    """A socket stays open 30 minutes on average (API Gateway closes it at 2 h)."""
    hot_entity_per_s: float = 2.0
    """The busiest single entity (a conversation, a user) sees 2 invocations of a route a
    second (two people chatting as fast as they type)."""
    centre: tuple[float, float] = (38.7223, -9.1393)
    spread_km: float = 10.0
    """The metro's providers and requests: a Gaussian around the centre (Lisbon)."""

    @property
    def leaving_share(self) -> float:
        """The share of reports that move a provider out of their cell (re-index them): a
        driver who covers ``step`` metres between reports leaves a cell of radius ``r``
        once every ``floor(r / step) + 1`` reports; a waiting provider never."""
        from chalicelib.domain import geo

        step = self.speed_kmh * self.report_every_s / 3600
        if step <= 0:
            return 0.0
        return self.driving_share / (math.floor(geo.REINDEX_KM / step) + 1)

    @property
    def counter_rewrite_share(self) -> float:
        """Of a provider's counts (offers received, offers accepted, ratings), the share
        that rewrites the copy the geo indexes hold (``ranking.quality_moved``, ADR 0024):
        simulated over their first :attr:`history_days` at this market's offers per
        provider, one offer in :attr:`offers_per_request` accepted and each job rated
        (:data:`RATINGS`), over a few providers (fixed seed)."""
        return counter_rewrite_share(
            self.requests_per_s * self.offers_per_request / self.providers * 86_400,
            self.history_days,
            1.0 / self.offers_per_request,
        )

    def times(self, factor: float) -> Scenario:
        return replace(
            self,
            name=f"{self.name} x{factor:g}",
            providers=int(self.providers * factor),
            requests_per_s=self.requests_per_s * factor,
            chat_per_s=self.chat_per_s * factor,
            sockets=int(self.sockets * factor),
        )


METRO = Scenario("metro")
RATINGS = (5, 5, 5, 5, 4, 4, 4, 3, 2, 1)
"""The stars a job gets, drawn uniformly (mean 3.8)."""


@functools.lru_cache(maxsize=64)
def counter_rewrite_share(
    offers_per_day: float, days: float, accept_share: float, providers: int = 20, seed: int = 24
) -> float:
    """The share of a provider's counts that rewrite the indexed copy, simulated
    (:attr:`Scenario.counter_rewrite_share`): each offer a count, one in ``accept_share``
    accepted (a count) and rated (a count, stars from :data:`RATINGS`)."""
    from chalicelib.domain import ranking
    from chalicelib.domain.reviews import RatingSummary

    def inputs(c: tuple[int, int, int, int]) -> tuple[RatingSummary, ranking.Responsiveness]:
        received, accepted, ratings, stars = c
        return RatingSummary(ratings, stars), ranking.Responsiveness(received, accepted)

    rng = random.Random(seed)
    counts = rewrites = 0
    for _ in range(providers):
        exact = copy = (0, 0, 0, 0)  # offers received, accepted, ratings, stars
        for _ in range(round(offers_per_day * days)):
            steps = [(1, 0, 0, 0)]
            if rng.random() < accept_share:
                steps += [(0, 1, 0, 0), (0, 0, 1, rng.choice(RATINGS))]
            for step in steps:
                exact = (
                    exact[0] + step[0],
                    exact[1] + step[1],
                    exact[2] + step[2],
                    exact[3] + step[3],
                )
                counts += 1
                if ranking.quality_moved(inputs(copy), inputs(exact)):
                    rewrites, copy = rewrites + 1, exact
    return rewrites / counts if counts else 0.0


# --- per-route figures ----------------------------------------------------------------


@dataclass
class Route:
    """What one invocation of a route or handler does, averaged over the measured ones."""

    name: str
    kind: str
    n: int = 0
    calls: float = 0.0
    read_units: float = 0.0
    write_units: float = 0.0
    cloud_ms: float = 0.0
    ws_in: float = 0.0
    ws_out: float = 0.0
    push: float = 0.0
    durations: list[float] = field(default_factory=list)
    partitions: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(label, family) -> [read units, write units, largest units on one key of it]."""


ENTITY_PREFIXES = frozenset(
    {
        "USER",
        "CONV",
        "REQ",
        "JOB",
        "CONN",
        "TOKEN",
        "MEDIA",
        "ANNOUNCEMENT",
        "OFFERS",
        "REQS",
        "QUOTES",
        "REVIEWS",
        "VIEWER",
        "IDEMPOTENCY",
    }
)


def sharded() -> dict[str, int]:
    """Families written in N shards (the prefix -> N), from the key design."""
    from chalicelib.store import keys

    out = {"CONNS": keys.CONNECTION_SHARDS, "DEVICES": keys.DEVICE_SHARDS}
    if hasattr(keys, "DUE_SHARDS"):
        out["DUE"] = keys.DUE_SHARDS
    if hasattr(keys, "METRIC_SHARDS"):
        out["METRICS"] = keys.METRIC_SHARDS
    if hasattr(keys, "OPEN_SHARDS"):
        out["OPEN"] = keys.OPEN_SHARDS
    return out


def family(label: str, key: str) -> tuple[str, str]:
    """(family, how it spreads: ``shared`` | ``entity`` | ``sharded:N`` | ``geo`` |
    ``none``) of a partition key. A shared family is one partition for everyone (the busiest
    is all of it); an unknown prefix counts as shared (the safe side); ``none``: an update
    of projected attributes of an item that is not in the index (``devstack.capacity``
    gives its key as ``?<pk> <sk>``)."""
    if label not in ("table", "lsi1") and not label.startswith("gsi"):
        return "IDEMPOTENCY#<id>", "entity"  # the idempotency table: one key per call
    if key.startswith("?"):  # an update of projected attributes: "?<item pk> <item sk>"
        from chalicelib.store import keys

        pk, _, sk = key[1:].partition(" ")
        if label in GEO_INDEXES and pk.startswith(keys.user("")) and sk == keys.PROVIDER:
            return GEO_COUNTERS, "geo"  # a provider's counters: in the index if online
        return "<not in the index>", "none"
    prefix = key.split("#", 1)[0]
    if prefix == "GEO":
        return "GEO#<place>", "geo"
    shards = sharded()
    if prefix in shards:
        name = re.sub(r"#\d{2}$", "#<shard>", key)
        name = re.sub(r"\d{4}-\d{2}-\d{2}", "<day>", name)
        return name, f"sharded:{shards[prefix]}"
    if prefix in ENTITY_PREFIXES:
        return f"{prefix}#<id>", "entity"
    name = re.sub(r"\d{4}-\d{2}-\d{2}", "<day>", key)
    name = re.sub(r"\d{4}-\d{2}$", "<month>", name)
    return name, "shared"


def routes_from(records: Iterable[Mapping[str, Any]]) -> dict[str, Route]:
    """Average per-route figures from meter records (successful invocations only)."""
    from bench.cost_per_job import cloud_ms

    sums: dict[str, Route] = {}
    for r in records:
        if r.get("error") or (r["kind"] == "http" and (r.get("status") or 500) >= 400):
            continue
        route = sums.setdefault(r["name"], Route(r["name"], r["kind"]))
        ddb = r["dynamodb"]
        route.n += 1
        route.calls += ddb["calls"]
        route.read_units += ddb["read_units"]
        route.write_units += ddb["write_units"]
        route.durations.append(cloud_ms(r))
        route.ws_in += 1 if r["kind"] == "ws" and r["name"].startswith("$default") else 0
        route.ws_out += r.get("ws_messages", 0)
        route.push += r.get("push", 0)
        largest: dict[tuple[str, str], float] = defaultdict(float)
        for where, (reads, writes) in (ddb.get("partitions") or {}).items():
            label, _, key = where.partition(" ")
            label = "table" if label == "lsi1" else label  # an LSI shares its table's partition
            name, spread = family(label, key)
            if spread == "none":
                continue
            fam = (label, name)
            entry = route.partitions.setdefault(fam, [0.0, 0.0, 0.0])
            entry[0] += reads
            entry[1] += writes
            largest[fam] = max(largest[fam], reads + writes)
        for fam, units in largest.items():
            route.partitions[fam][2] += units
    for route in sums.values():
        n = route.n
        route.calls /= n
        route.read_units /= n
        route.write_units /= n
        route.cloud_ms = statistics.median(route.durations)
        route.ws_in /= n
        route.ws_out /= n
        route.push /= n
        route.partitions = {k: [v / n for v in vs] for k, vs in route.partitions.items()}
    return sums


# --- the geography of a metro ---------------------------------------------------------


@dataclass(frozen=True)
class Geography:
    """Shares of a metro's geo traffic on its busiest partitions, per index label."""

    write_share: dict[str, float]
    """Of every provider's index entries, the share in the busiest partition."""
    read_share: dict[str, float]
    """Of every match, the share whose reads touch the busiest partition."""
    busiest: dict[str, str]


def _gauss_point(s: Scenario, rng: random.Random) -> tuple[float, float]:
    lat0, lng0 = s.centre
    dlat = rng.gauss(0, s.spread_km) / 111.2
    dlng = rng.gauss(0, s.spread_km) / (111.2 * math.cos(math.radians(lat0)))
    return lat0 + dlat, lng0 + dlng


def geography(s: Scenario, sample: int = 20_000, matches: int = 2_000, seed: int = 15) -> Geography:
    """Where a metro's providers land in the geo indexes (``keys.geo_index``) and which
    partitions its matches read (``geo.ranges_to_query``; ``geo.fine_ranges`` to
    :data:`RING_KM`). Shares, so a sample stands for any number of providers."""
    from chalicelib.domain import geo
    from chalicelib.store import keys

    rng = random.Random(seed)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for n in range(sample):
        lat, lng = _gauss_point(s, rng)
        for attr, value in keys.geo_index(lat, lng, f"p{n:07d}").items():
            if attr.endswith("pk"):
                counts[attr.removesuffix("pk")][value] += 1
    reads: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _ in range(matches):
        lat, lng = _gauss_point(s, rng)
        for label, ranges in (
            ("gsi3", geo.ranges_to_query(lat, lng)),
            ("gsi4", geo.fine_ranges(lat, lng, RING_KM)),
        ):
            for partition in {keys.geo_partition(r.partition) for r in ranges}:
                reads[label][partition] += 1
    write_share, read_share, busiest = {}, {}, {}
    for label, per in counts.items():
        top = max(per, key=lambda k: per[k])
        write_share[label] = per[top] / sample
        busiest[label] = top
        read_share[label] = max(reads[label].values()) / matches if reads[label] else 0.0
    return Geography(write_share, read_share, busiest)


# --- the model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """A flow of the scenario: ``rate`` units of work a second, each ``routes`` (route name
    -> invocations per unit of work)."""

    name: str
    rate: float
    routes: Mapping[str, float]


def streams(s: Scenario, job_routes: Mapping[str, float]) -> list[Stream]:
    return [
        Stream(
            "availability",
            s.providers / s.report_every_s,
            {LEAVES: s.leaving_share, STAYS: 1.0 - s.leaving_share},
        ),
        Stream("requests (a job each)", s.requests_per_s, job_routes),
        Stream("chat", s.chat_per_s, {"$default chat.send": 1.0}),
        Stream(
            "sockets",
            s.sockets / (s.socket_minutes * 60),
            {"$connect": 1.0, "$disconnect": 1.0},
        ),
    ]


@dataclass(frozen=True)
class Line:
    what: str
    load: float
    limit: float
    unit: str
    note: str = ""

    @property
    def headroom(self) -> float:
        return self.limit / self.load if self.load else math.inf


@dataclass
class Result:
    scenario: Scenario
    lines: list[Line]
    monthly: dict[str, float]

    @property
    def over(self) -> list[Line]:
        return [line for line in self.lines if line.headroom < 1]


def _partition_loads(
    s: Scenario, routes: Mapping[str, Route], flows: list[Stream], geo_: Geography
) -> dict[str, dict[str, tuple[float, float, str]]]:
    """label -> family -> (busiest partition's read units/s, write units/s, how)."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    hottest: dict[tuple[str, str], float] = defaultdict(float)
    for flow in flows:
        for name, per in flow.routes.items():
            route = routes.get(name)
            if route is None:
                continue
            rate = flow.rate * per
            for fam, (reads, writes, largest) in route.partitions.items():
                totals[fam][0] += rate * reads
                totals[fam][1] += rate * writes
                hottest[fam] = max(hottest[fam], largest * min(rate, s.hot_entity_per_s))
    out: dict[str, dict[str, tuple[float, float, str]]] = defaultdict(dict)
    for label, name in list(totals):
        if name == GEO_COUNTERS:  # counted in the partitions of the provider's entries
            totals.setdefault((label, "GEO#<place>"), [0.0, 0.0])
    for (label, name), (reads, writes) in totals.items():
        spread = family(label, _example(name))[1]
        if spread == "shared":
            out[label][name] = (reads, writes, "one partition")
        elif spread.startswith("sharded:"):
            n = int(spread.split(":")[1])
            out[label][name] = (reads / n, writes / n, f"1 of {n} shards")
        elif spread == "entity":
            units = hottest[(label, name)]
            share = writes / (reads + writes) if reads + writes else 0.0
            how = f"one entity at {s.hot_entity_per_s:g}/s"
            out[label][name] = (units * (1 - share), units * share, how)
        elif name == GEO_COUNTERS:  # the same partitions: added to GEO#<place> below
            continue
        else:  # geo: the metro's busiest partition
            w = writes * geo_.write_share.get(label, 1.0)
            counted = totals.get((label, GEO_COUNTERS), [0.0, 0.0])[1]
            w += counted * s.counter_rewrite_share * geo_.write_share.get(label, 1.0)
            matches = s.requests_per_s * geo_.read_share.get(label, 1.0)
            if label == "gsi3":  # the probe: at most PROBE_ITEMS per range
                per_range = max(0.5, math.ceil(PROBE_ITEMS * GEO_ITEM_BYTES / 4096) * 0.5)
            else:  # rings: a dense match's reads beyond the probe, over its Queries
                probe = 2 * max(0.5, math.ceil(PROBE_ITEMS * GEO_ITEM_BYTES / 4096) * 0.5)
                per_range = (DENSE_MATCH["read_units"] - probe) / (DENSE_MATCH["queries"] - 2)
            r = matches * max(per_range, 0.5)
            out[label][name] = (r, w, f"{geo_.busiest.get(label, '?')} of the metro")
    return out


def _example(name: str) -> str:
    return name.replace("<shard>", "00").replace("<day>", "2026-01-01").replace("<id>", "x")


def model(
    s: Scenario,
    routes: Mapping[str, Route],
    job_routes: Mapping[str, float],
    geo_: Geography,
    mem_mb: int = 512,
) -> Result:
    """The scenario's load on every limit and its monthly cost. Pure."""
    flows = streams(s, job_routes)
    lines: list[Line] = []
    loads = _partition_loads(s, routes, flows, geo_)
    for label in sorted(loads, key=lambda x: (x != "table", x)):
        by = loads[label]
        rname = max(by, key=lambda k: by[k][0] / PARTITION_RCU)
        wname = max(by, key=lambda k: by[k][1] / PARTITION_WCU)
        rr, _, rhow = by[rname]
        _, ww, whow = by[wname]
        lines.append(Line(f"DynamoDB {label} reads: {rname}", rr, PARTITION_RCU, "RCU/s", rhow))
        lines.append(Line(f"DynamoDB {label} writes: {wname}", ww, PARTITION_WCU, "WCU/s", whow))
    invocations: dict[str, float] = defaultdict(float)
    for flow in flows:
        for name, per in flow.routes.items():
            invocations[name] += flow.rate * per
    known = {n: r for n, r in invocations.items() if n in routes}
    connects = known.get("$connect", 0.0)
    lines.append(
        Line("API Gateway new WebSocket connections", connects, WS_NEW_CONNECTIONS_PER_S, "/s")
    )
    rest = sum(rate for n, rate in known.items() if routes[n].kind == "http")
    ws_in = sum(rate * routes[n].ws_in for n, rate in known.items())
    lines.append(
        Line(
            "API Gateway requests (REST + WebSocket in)",
            rest + ws_in,
            API_REQUESTS_PER_S,
            "/s",
            f"REST {rest:,.0f}/s, WebSocket {ws_in:,.0f}/s",
        )
    )
    concurrency = sum(rate * routes[n].cloud_ms / 1000 for n, rate in known.items())
    lines.append(Line("Lambda concurrency", concurrency, LAMBDA_CONCURRENCY, "", "rate x duration"))
    per_s = {
        "apigw_rest": rest,
        "ws_message": ws_in + sum(rate * routes[n].ws_out for n, rate in known.items()),
        "ws_minute": s.sockets / 60,
        "lambda_request": sum(known.values()),
        "lambda_gb_s": concurrency * mem_mb / 1024,
        "ddb_read": sum(rate * routes[n].read_units for n, rate in known.items()),
        "ddb_write": sum(rate * routes[n].write_units for n, rate in known.items()),
        "sns_request": sum(rate * routes[n].push for n, rate in known.items()),
        "sns_push": sum(rate * routes[n].push for n, rate in known.items()),
    }
    monthly = {k: v * SECONDS_PER_MONTH * PRICES[k].usd / PRICES[k].per for k, v in per_s.items()}
    return Result(s, lines, monthly)


def render(result: Result) -> list[str]:
    s = result.scenario
    total = sum(result.monthly.values())
    verdict = "has headroom" if not result.over else f"{len(result.over)} lines over"
    lines = [
        f"capacity {s.name}: {s.providers:,} online providers reporting every "
        f"{s.report_every_s:g} s ({s.driving_share:.0%} driving at {s.speed_kmh:g} km/h: "
        f"{s.leaving_share:.0%} of reports leave their cell; "
        f"{s.counter_rewrite_share:.2%} of counts rewrite the indexed ranking copy, "
        f"a provider's first {s.history_days:g} days), "
        f"{s.requests_per_s:g} requests/s, {s.chat_per_s:,.0f} chat "
        f"messages/s, {s.sockets:,} sockets (open {s.socket_minutes:g} min on average): "
        f"{verdict}; ${total:,.0f} a month"
    ]
    lines.append(f"  {'line':62} {'load':>10} {'limit':>8} {'headroom':>9}")
    for line in result.lines:
        head = f"{line.headroom:8.1f}x" if math.isfinite(line.headroom) else "       -"
        flag = "  OVER" if line.headroom < 1 else ""
        lines.append(
            f"  {line.what[:62]:62} {line.load:10,.1f} {line.limit:8,.0f} {head}{flag}"
            + (f"  ({line.note})" if line.note else "")
        )
    parts = ", ".join(
        f"{PRICES[k].unit.split(' (')[0]} ${v:,.0f}"
        for k, v in sorted(result.monthly.items(), key=lambda kv: -kv[1])
        if v >= 0.5
    )
    lines.append(f"  monthly (30 days at these rates): {parts}")
    return lines


# --- measuring ------------------------------------------------------------------------


def measure() -> tuple[dict[str, Route], dict[str, float]]:
    """Per-route figures from the scripted job plus :data:`MOVES` reports of a provider that
    leave their cell and :data:`MOVES` that do not, on the metered local stack, and the
    job's invocations per route (chat and sockets apart)."""
    from bench import scenario
    from devstack import harness, meter

    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        meter_file = Path(tmp) / "meter.jsonl"
        with harness.running(meter_file=meter_file) as stack:
            scenario.warm_up(stack)
            who = scenario.cast(stack)
            run = scenario.run_job(stack, who, meter_file)
            provider = who.providers[2]

            def report(lat: float, lng: float) -> None:
                stack.ok(
                    "PUT",
                    "/me/provider/availability",
                    provider.token,
                    json={"online": True, "location": {"lat": lat, "lng": lng}},
                )

            windows = []
            lat, lng = who.where["lat"], who.where["lng"]
            time.sleep(0.5)
            start = _size(meter_file)
            for kind in (LEAVES, STAYS):
                for n in range(MOVES):
                    if kind == LEAVES:
                        lat, lng = lat + 0.01, lng + 0.013
                        report(lat, lng)
                    else:  # a phone's fix wandering 30-50 m around a waiting provider
                        report(lat + 0.0003 * (n % 2), lng + 0.0005 * ((n + 1) % 2))
                time.sleep(0.5)
                windows.append((kind, start, _size(meter_file)))
                start = windows[-1][2]
        records = meter.read(meter_file)[: _lines(meter_file, 0, windows[0][1])]
        for kind, start, end in windows:
            for r in meter.read(meter_file, start)[: _lines(meter_file, start, end)]:
                records.append({**r, "name": kind} if r["name"] == AVAILABILITY else r)
        records += meter.read(meter_file, windows[-1][2])
        job = meter.read(meter_file, run.start_offset)[: _count(meter_file, run)]
    routes = routes_from(r for r in records if r["kind"] != "schedule")
    per_job: dict[str, float] = defaultdict(float)
    for r in job:
        name = r["name"]
        if r["kind"] == "schedule" or name.startswith("$"):
            continue  # chat frames and sockets are streams of their own
        per_job[name] += 1
    return routes, dict(per_job)


def _count(path: Path, run: Any) -> int:
    """How many records lie in the job's byte window."""
    return _lines(path, run.start_offset, run.end_offset)


def _lines(path: Path, start: int, end: int) -> int:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end - start).count(b"\n")


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def geo_writes(
    s: Scenario, routes: Mapping[str, Route], job_routes: Mapping[str, float], where: Geography
) -> str:
    """The busiest geo partitions' writes (the providers' entries: ``GEO#<place>``) as the
    share of reports that leave their cell goes from none to all (all: every report
    re-indexed, the design before ADR 0023), and the counts' part of them."""

    def busiest(driving: float) -> str:
        t = replace(s, driving_share=driving)
        loads = _partition_loads(t, routes, streams(t, job_routes), where)
        return ", ".join(
            f"{label} {loads[label]['GEO#<place>'][1]:,.0f}"
            for label in GEO_INDEXES
            if "GEO#<place>" in loads.get(label, {})
        )

    return (
        f"geo index writes, busiest partition, WCU/s: {s.leaving_share:.0%} of reports leave "
        f"their cell (this scenario): {busiest(s.driving_share)}; none: {busiest(0.0)} (the "
        f"counts that rewrite the ranking copy); every report re-indexed: {busiest(1.0)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.capacity", description=__doc__)
    parser.add_argument("--factors", default="1,10", help="scenario multiples to print")
    parser.add_argument(
        "--driving-share",
        type=float,
        default=METRO.driving_share,
        help="share of online providers driving (their reports leave their cell)",
    )
    parser.add_argument(
        "--history-days",
        type=float,
        default=METRO.history_days,
        help="the counts of a provider's first N days in the market (their index writes)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    routes, job_routes = measure()
    base = replace(METRO, driving_share=args.driving_share, history_days=args.history_days)
    for factor in (float(f) for f in args.factors.split(",")):
        s = base.times(factor)
        where = geography(s)
        result = model(s, routes, job_routes, where)
        print("\n".join(render(result)), flush=True)
        print(f"  {geo_writes(s, routes, job_routes, where)}", flush=True)
    wanted = [LEAVES, STAYS, "POST /requests", "$default chat.send", "$connect"]
    shown = "; ".join(
        f"{n} {routes[n].calls:.1f} calls {routes[n].read_units:.1f}/{routes[n].write_units:.1f} "
        f"RU/WU {routes[n].cloud_ms:.0f} ms"
        for n in wanted
        if n in routes
    )
    print(f"  per route (measured on the local stack, cloud ms): {shown}")
    print(f"  a job = {sum(job_routes.values()):g} invocations besides chat and sockets")
    print(f"  limits: {QUOTAS_SOURCE}; prices: bench.cost_per_job.PRICES")
    print(f"  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
