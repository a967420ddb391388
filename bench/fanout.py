"""fanout: what an announcement costs per invocation, and to reach 100,000 users.

Measured on the metered local stack (``devstack/meter.py``): users are added to the
emulator the way the app writes them (a profile with roles, push devices with real SNS
platform endpoints in the emulator), plus accounts with a real WebSocket open through the
local gateway; then one announcement to ``all`` goes through the topic, the fan-out queue
and the event pump, at two user-base sizes. For each size: the pages (invocations of
``announcement_pages``), the DynamoDB calls of each (the figure that must not grow), the
pushes and frames sent, and the wall time from the publish to the last page's end.

Modelled up to 100,000 users (:func:`model`, pure): pages = for each of the 16 shards of
each index, ceil(its items / 100); calls = pages x the measured calls of a page of that
index (the most measured); time = the longer of (a) the total page time spread over the
consumer's maximum concurrency and (b) the longest chain of one shard's pages, each
enqueued as the page before it starts (one SQS-to-Lambda hop, :data:`HOP_MS`, per page).
A full page's time is each measured page's at cloud latencies (``cost_per_job.cloud_ms``:
the emulator's waits replaced by typical cloud ones, parallel sends counted as serial, so
an upper bound) with the sends it lacked to reach 100 added at the cloud latency of one
send; the median over the pages of each index.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cost_per_job import CLOUD_MS, cloud_ms
from devstack import harness, meter

SHARDS = 16
PAGE = 100
HOP_MS = 100.0
"""One SQS hop to the next invocation (message sent -> the event source mapping's poller
hands it to Lambda): tens of ms when the poller is busy; taken as 100 ms."""
CONCURRENCY = (5, 50)
"""The consumer's maximum concurrency: the default ``sqsMaxConcurrency`` and a raised one."""
TARGET_USERS = 100_000
SIZES = (400, 2000)
LIVE = 40
"""Accounts with a real socket open (the rest have devices only, or nothing)."""
DEVICE_SHARE = 0.8
LIVE_SHARE = 0.2
"""The 100,000 users' mix in the model: 80 % with a push device, 20 % with a socket open."""


@dataclass(frozen=True)
class Page:
    index: str  # live | push
    calls: int
    ms: float  # at cloud latencies
    sends: int  # pushes + frames


def full_page_ms(pages: Sequence[Page], send_ms: float = CLOUD_MS["aws"]) -> float:
    """A page of :data:`PAGE` sends: the median of the measured pages, each with the sends
    it lacked added at ``send_ms``. Pure."""
    if not pages:
        return 0.0
    return statistics.median(p.ms + max(PAGE - p.sends, 0) * send_ms for p in pages)


@dataclass(frozen=True)
class Estimate:
    pages: int
    calls: int
    seconds: dict[int, float]  # by maximum concurrency


def model(
    users: int,
    per_page: Mapping[str, tuple[float, float]],
    *,
    device_share: float = DEVICE_SHARE,
    live_share: float = LIVE_SHARE,
    concurrency: Sequence[int] = CONCURRENCY,
    hop_ms: float = HOP_MS,
) -> Estimate:
    """Pages, DynamoDB calls and seconds to reach ``users`` (module doc). ``per_page``:
    index -> (calls, cloud ms) of one page of it. Pure."""
    items = {"push": users * device_share, "live": users * live_share}
    chains = {i: math.ceil(n / SHARDS / PAGE) for i, n in items.items()}
    pages = {i: SHARDS * c for i, c in chains.items()}
    calls = sum(pages[i] * per_page[i][0] for i in pages)
    busy_ms = sum(pages[i] * per_page[i][1] for i in pages)
    chain_ms = max(chains[i] * hop_ms + per_page[i][1] for i in chains)
    seconds = {c: max(busy_ms / c, chain_ms) / 1000 for c in concurrency}
    return Estimate(sum(pages.values()), math.ceil(calls), seconds)


def _seed(stack: harness.Stack, count: int, rng_tag: str) -> int:
    """``count`` users written as the app writes them: a profile (customers, providers or
    both), and for :data:`DEVICE_SHARE` of them an APNs device with an emulator endpoint.
    The devices added."""
    from chalicelib.auth import CUSTOMERS, PROVIDERS
    from chalicelib.store import devices, profiles

    sns = stack.client("sns")
    app_arn = stack.env["SUMMON_PUSH_APNS_ARN"]
    added = 0
    for n in range(count):
        user_id = f"bench-{rng_tag}-{n:06d}"
        roles = [[CUSTOMERS], [PROVIDERS], [CUSTOMERS, PROVIDERS]][n % 3]
        profiles.get_or_create_user(user_id, f"{user_id}@example.com", roles)
        if (n % 10) < DEVICE_SHARE * 10:
            token = secrets.token_hex(32)
            arn = sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token=token)[
                "EndpointArn"
            ]
            devices.add(user_id, "apns", devices.token_hash(token), arn, None)
            added += 1
    return added


def _pages(records: list[dict[str, Any]]) -> list[Page]:
    out = []
    for r in records:
        if r["name"] != "announcement_pages" or r["error"]:
            continue
        # the page's Query names its shard's partition: DEVICES#nn (push) or CONNS#nn (live)
        touched = " ".join(r["dynamodb"]["partitions"])
        index = "push" if "DEVICES#" in touched else "live"
        sends = r.get("push", 0) + r.get("ws_posts", 0)
        out.append(Page(index, r["dynamodb"]["calls"], cloud_ms(r), sends))
    return out


def _announce(stack: harness.Stack, meter_file: Path, title: str) -> list[dict[str, Any]]:
    import json

    offset = len(meter.read(meter_file))
    stack.client("sns").publish(
        TopicArn=stack.env["SUMMON_ANNOUNCEMENTS_TOPIC_ARN"],
        Message=json.dumps({"title": title, "body": "Benchmarks are running"}),
    )
    published = time.time()
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["SUMMON_FANOUT_QUEUE"])["QueueUrl"]

    def drained() -> bool:
        records = meter.read(meter_file)[offset:]
        if not any(r["name"] == "announcements_topic" for r in records):
            return False
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return all(v == "0" for v in attrs.values())

    harness.wait_until(drained, "the fan-out", timeout_s=600)
    time.sleep(1.0)  # the last invocation's meter line
    records = meter.read(meter_file)[offset:]
    for r in records:
        r["published"] = published
    return records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--live", type=int, default=LIVE)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    from websockets.sync.client import connect

    from devstack.provision import aws_env

    measured: dict[int, list[Page]] = {}
    details: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        meter_file = Path(tmp) / "meter.jsonl"
        with harness.running(meter_file=meter_file, providers=0) as stack:
            os.environ.update(aws_env(stack.endpoint))
            os.environ.update(stack.env)
            tokens = []
            for _ in range(args.live):
                _, token = stack.new_account("customers", "providers")
                stack.ok("GET", "/me", token)  # the profile holds the roles
                tokens.append(token)
            seeded, devices = 0, 0
            for size in sizes:
                devices += _seed(stack, size - seeded, f"{size}")
                seeded = size
                # opened now: a socket idle through a long seeding may have been dropped
                sockets = [connect(f"{stack.ws}/?token={t}") for t in tokens]
                try:
                    records = _announce(stack, meter_file, f"Bench {size}")
                    pages = _pages(records)
                    measured[size] = pages
                    end = max(r["end"] for r in records)
                    pushes = sum(r.get("push", 0) for r in records)
                    frames = sum(r.get("ws_posts", 0) for r in records)
                    details[size] = (
                        f"{size:,} users + {args.live} with a socket open ({devices:,} devices): "
                        f"{len(pages)} pages, {pushes:,} pushes + {frames} frames in "
                        f"{end - records[0]['published']:.1f} s on the local stack (busy "
                        f"machine); calls per page max {max(p.calls for p in pages)}, median "
                        f"{statistics.median(p.calls for p in pages):g}; total "
                        f"{sum(p.calls for p in pages)}"
                    )
                finally:
                    for ws in sockets:
                        ws.close()
    every = [p for ps in measured.values() for p in ps]
    worst = {
        i: (
            max((p.calls for p in every if p.index == i), default=0),
            full_page_ms([p for p in every if p.index == i]),
        )
        for i in ("push", "live")
    }
    estimate = model(TARGET_USERS, worst)
    per_size = ", ".join(f"{max(p.calls for p in ps)}" for ps in measured.values())
    times = ", ".join(f"{s:.0f} s at concurrency {c}" for c, s in estimate.seconds.items())
    print(
        f"fanout: DynamoDB calls per invocation (max) {per_size} at "
        f"{', '.join(f'{s:,}' for s in measured)} users: bounded; to reach "
        f"{TARGET_USERS:,} users ({DEVICE_SHARE:.0%} with a device, {LIVE_SHARE:.0%} with a "
        f"socket): {estimate.pages} pages, {estimate.calls:,} DynamoDB calls, {times} (model)"
    )
    for size in measured:
        print(f"  {details[size]}")
    print(
        f"  a full page ({PAGE} sends) at cloud latencies (upper bound: sends counted "
        f"serially): push {worst['push'][0]} calls {worst['push'][1]:.0f} ms, live "
        f"{worst['live'][0]} calls {worst['live'][1]:.0f} ms; SQS hop {HOP_MS:.0f} ms; "
        f"{SHARDS} shards per index"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
