"""The operators' live figures (``GET /admin/metrics``): counters kept in the very writes
that change what they count, so reading them is one call whatever the traffic.

| item                   | key                               | counters                        |
|------------------------|-----------------------------------|---------------------------------|
| live gauges (a shard)  | pk=METRICS#<00..15>, sk=LIVE      | providers_online, open_requests |
| a UTC day's (a shard)  | pk=METRICS#<00..15>, sk=DAY#<day> | jobs, accept_<s> (TTL 35 days)  |
| open request (its own) | gsi3pk=OPEN#<band>#<00..03>       | the map (:func:`open_requests_in`) |

A counter is ADDed in the transaction of the change it counts (the marketplace's unit of
work: a request opened or closed, a job created; a provider going on- or offline), in the
shard of the counted thing's id (``keys.metrics``): the writes spread over 16 partitions and
two concurrent changes rarely touch one item (when they do, the transaction is cancelled
and retried like any lost race). Each such change writes 1 item more (1 write unit, 2 in a
transaction). The time to accept (job created - request created) is kept as a histogram of
:data:`ACCEPT_BUCKETS`; its median is interpolated inside its bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from chalicelib import ids
from chalicelib.domain import geo
from chalicelib.store import keys
from chalicelib.store.models import Entity, ProviderItem, transaction

ACCEPT_BUCKETS = (
    *(5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600),
    *(5400, 7200, 10800, 14400, 21600, 43200, 86400, 172800, 604800),
)
"""Upper bounds (seconds) of the time-to-accept histogram; longer waits count in the last."""
DAY_TTL = timedelta(days=35)
PROVIDERS_ONLINE, OPEN_REQUESTS, JOBS = "providers_online", "open_requests", "jobs"


class MetricsItem(Entity, discriminator="metrics"):
    """A counter shard; its counters are plain numbers ADDed by name (:func:`_add`)."""


def _bucket(seconds: float) -> str:
    upper = next((b for b in ACCEPT_BUCKETS if seconds <= b), ACCEPT_BUCKETS[-1])
    return f"accept_{upper}"


def _add(ref: str, sk: str, counts: dict[str, int]) -> tuple[MetricsItem, list[Action]]:
    actions: list[Action] = [Path(name).add(n) for name, n in counts.items()]
    actions.append(Path("kind").set("metrics"))
    if sk != keys.METRICS_LIVE:
        expires = int((ids.now() + DAY_TTL).timestamp())
        actions += [Path("ttl").set(expires)]
    return MetricsItem(keys.metrics(ref), sk), actions


def live_change(ref: str, **counts: int) -> tuple[MetricsItem, list[Action]]:
    """The update (item, actions) that moves the live gauges of ``ref``'s shard by
    ``counts`` (``providers_online``, ``open_requests``), for a transaction."""
    return _add(ref, keys.METRICS_LIVE, counts)


def job_made(
    job_id: str, created_at: datetime, request_created_at: datetime
) -> tuple[MetricsItem, list[Action]]:
    """The update that counts a new job on its UTC day with its time to accept."""
    waited = max(0.0, (created_at - request_created_at).total_seconds())
    day = created_at.date().isoformat()
    return _add(job_id, keys.metrics_day(day), {JOBS: 1, _bucket(waited): 1})


def set_online(provider_id: str, online: bool, actions: list[Action], *, was: int) -> bool:
    """Apply ``actions`` to a provider's profile, still ``online == was``, and move the
    online gauge by the change: 1 TransactWriteItems (again when a concurrent change of
    the gauge's shard came first). False (nothing written) when the profile changed
    meanwhile: the caller reads it again."""
    item = ProviderItem(keys.user(provider_id), keys.PROVIDER)
    gauge, gauge_actions = live_change(provider_id, **{PROVIDERS_ONLINE: 1 if online else -1})
    for _ in range(5):
        try:
            with transaction() as tx:
                tx.update(item, actions=actions, condition=ProviderItem.online == was)
                tx.update(gauge, actions=gauge_actions)
            return True
        except TransactWriteError as exc:
            reasons = list(exc.cancellation_reasons or [])
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                return False
            if getattr(exc, "cause_response_code", None) != "TransactionCanceledException":
                raise
    return False


def add_online(changes: dict[str, int]) -> None:
    """Move the online gauge by a number per provider id, for providers written without
    :func:`set_online` (the local seed). 1 UpdateItem per shard touched (at most 16)."""
    by_shard: dict[str, tuple[str, int]] = {}
    for provider_id, n in changes.items():
        shard = keys.metrics(provider_id)
        first, total = by_shard.get(shard, (provider_id, 0))
        by_shard[shard] = (first, total + n)
    for provider_id, total in by_shard.values():
        if total:
            item, actions = live_change(provider_id, **{PROVIDERS_ONLINE: total})
            item.update(actions=actions)


@dataclass(frozen=True)
class Figures:
    providers_online: int
    open_requests: int
    jobs_today: int
    median_accept_s: float | None
    day: str


def _median(histogram: dict[int, int]) -> float | None:
    total = sum(histogram.values())
    if not total:
        return None
    half, seen, lower = total / 2, 0, 0.0
    for upper in ACCEPT_BUCKETS:
        n = histogram.get(upper, 0)
        if n and seen + n >= half:
            return round(lower + (upper - lower) * (half - seen) / n, 1)
        seen += n
        lower = float(upper)
    return float(ACCEPT_BUCKETS[-1])


def figures(now: datetime) -> Figures:
    """Every shard's gauges and today's figures summed. 1 BatchGetItem (32 keys; again
    for keys left unprocessed when throttled)."""
    day = now.date().isoformat()
    wanted = [
        {"pk": pk, "sk": sk}
        for pk in keys.metric_shards()
        for sk in (keys.METRICS_LIVE, keys.metrics_day(day))
    ]
    connection = Entity._get_connection()
    found: list[dict[str, Any]] = []
    for _ in range(3):  # unprocessed keys (throttling) are read again: rare
        answer = connection.batch_get_item(wanted)  # type: ignore[arg-type]  # pynamodb types keys as str
        found += answer.get("Responses", {}).get(connection.table_name, [])
        left = answer.get("UnprocessedKeys", {}).get(connection.table_name, {}).get("Keys")
        if not left:
            break
        wanted = [{name: value["S"] for name, value in key.items()} for key in left]
    sums: dict[str, float] = {}
    for item in found:
        for name, value in item.items():
            if "N" in value:
                sums[name] = sums.get(name, 0) + float(value["N"])
    histogram = {b: int(sums.get(f"accept_{b}", 0)) for b in ACCEPT_BUCKETS}
    return Figures(
        providers_online=max(0, int(sums.get(PROVIDERS_ONLINE, 0))),
        open_requests=max(0, int(sums.get(OPEN_REQUESTS, 0))),
        jobs_today=int(sums.get(JOBS, 0)),
        median_accept_s=_median(histogram),
        day=day,
    )


@dataclass(frozen=True)
class Spot:
    """A provider online or an open request on the operators' map."""

    id: str
    lat: float
    lng: float


def open_requests_in(ranges: list[geo.IndexRange], limit: int) -> tuple[list[Spot], bool]:
    """The open requests in these ranges of the band index (``keys.open_requests``), at
    most ``limit`` per range (the westernmost), and whether some range held more.
    1 Query per range and write shard (:data:`keys.OPEN_SHARDS`)."""
    spots: list[Spot] = []
    more = False
    prefix = keys.request("")
    for found in ranges:
        hits: list[tuple[str, Spot]] = []
        for pk in keys.open_requests_shards(found.partition):
            result = Entity.gsi3.query(
                pk, Entity.gsi3sk.between(found.lo_key, found.hi_key + "~"), limit=limit
            )
            for item in result:
                if item.pk.startswith(prefix):
                    where = (float(item.lat), float(item.lng))  # type: ignore[attr-defined]
                    hits.append((str(item.gsi3sk), Spot(item.pk.removeprefix(prefix), *where)))
            more = more or result.last_evaluated_key is not None
        hits.sort(key=lambda hit: hit[0])
        more = more or len(hits) > limit
        spots += [spot for _, spot in hits[:limit]]
    return spots, more
