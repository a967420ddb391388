"""cost_per_job: the USD cost of one scripted complete job at AWS list prices, from what
the run actually made on the metered local stack.

The job is ``bench/scenario.py`` (request → offers to K = 3 providers → accept → four
transitions → 20 chat frames → two reviews, with live sockets and phones). It runs
:data:`JOBS` times (each with a fresh cast); the median job is priced and broken down.
Every app invocation between the job's first socket and the last ``$disconnect`` counts
(``devstack/meter.py``): API Gateway requests, Lambda requests and GB-seconds from the
measured handler time times the configured memory (``.chalice/config.json``), WebSocket
messages in and out (32 KB units) and connection minutes (the job's sockets, each rounded
up to a minute), DynamoDB request units from item sizes, SNS mobile pushes. The
scheduled sweep is not per job: its idle cost is printed as a monthly figure.

The job is measured once and priced for each deployment choice: the REST API ($3.50 per
million requests) or the HTTP API front door ($1.00, ``summon:apiType``), x86_64 or arm64
Lambda GB-seconds (arm64 20 % cheaper; ``infra/`` deploys arm64). The headline is REST/x86
(the figure tracked against the target) and HTTP API/arm64; arm64 is priced at the handler
time measured here, not measured on Graviton.

Not priced: CloudWatch Logs and metrics, data transfer, Cognito, S3/CloudFront, storage,
Lambda's INIT phase (cold starts), the free tiers. Handler time is measured against the
local emulator (its per-call wait is printed): DynamoDB in the cloud answers in a few ms.
"""

from __future__ import annotations

import json
import math
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import scenario
from devstack import harness, meter

ROOT = Path(__file__).resolve().parent.parent
TARGET_USD = 0.0003
JOBS = 3
SCHEDULE_RUNS_PER_MONTH = 30 * 24 * 60  # marketplace_timers: rate(1 minute)


@dataclass(frozen=True)
class Price:
    usd: float
    per: float
    unit: str
    source: str


#: AWS list prices, us-east-1, no free tier, as published on these pages in 2025
#: (DynamoDB on-demand after its 2024-11-01 reduction). Check them before relying on them.
PRICES: dict[str, Price] = {
    "apigw_rest": Price(
        3.50,
        1e6,
        "REST API request (first 333M/month)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "apigw_http": Price(
        1.00,
        1e6,
        "HTTP API request (first 300M/month)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "ws_message": Price(
        1.00,
        1e6,
        "WebSocket message, 32 KB units (first 1B/month)",
        "https://aws.amazon.com/api-gateway/pricing/",
    ),
    "ws_minute": Price(
        0.25, 1e6, "WebSocket connection minute", "https://aws.amazon.com/api-gateway/pricing/"
    ),
    "lambda_request": Price(0.20, 1e6, "Lambda request", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": Price(
        0.0000166667, 1, "Lambda GB-second (x86_64)", "https://aws.amazon.com/lambda/pricing/"
    ),
    "lambda_gb_s_arm64": Price(
        0.0000133334, 1, "Lambda GB-second (arm64)", "https://aws.amazon.com/lambda/pricing/"
    ),
    "ddb_read": Price(
        0.125,
        1e6,
        "DynamoDB on-demand read request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "ddb_write": Price(
        0.625,
        1e6,
        "DynamoDB on-demand write request unit",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "sns_request": Price(0.50, 1e6, "SNS publish request", "https://aws.amazon.com/sns/pricing/"),
    "sns_push": Price(
        0.50, 1e6, "SNS mobile push notification", "https://aws.amazon.com/sns/pricing/"
    ),
}


#: Typical in-region latencies (ms) for the estimate at cloud speed: DynamoDB single-item
#: and batch calls, transactions, other AWS calls (SNS publish, @connections post).
CLOUD_MS = {"*": 6.0, "TransactWriteItems": 15.0, "TransactGetItems": 12.0, "aws": 15.0}


def memory_mb() -> int:
    """``lambda_memory_size`` of the dev stage (or the top level), as deployed."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config.get("stages", {}).get("dev", {})
    return int(stage.get("lambda_memory_size", config.get("lambda_memory_size", 128)))


def quantities(
    records: list[dict[str, Any]], socket_seconds: list[float], mem_mb: int
) -> dict[str, float]:
    """What one job used, in the units of :data:`PRICES`."""
    job = [r for r in records if r["kind"] != "schedule"]
    http = [r for r in job if r["kind"] == "http"]
    frames = [r for r in job if r["kind"] == "ws" and r["name"].startswith("$default")]
    billed_ms = sum(math.ceil(r["ms"]) for r in job)  # Lambda bills each invocation per 1 ms
    return {
        "apigw_rest": len(http),
        "ws_message": sum(max(1, math.ceil(r["in_bytes"] / meter.WS_MESSAGE_BYTES)) for r in frames)
        + sum(r["ws_messages"] for r in job),
        "ws_minute": sum(max(1, math.ceil(s / 60)) for s in socket_seconds),
        "lambda_request": len(job),
        "lambda_gb_s": billed_ms / 1000 * mem_mb / 1024,
        "ddb_read": sum(r["dynamodb"]["read_units"] for r in job),
        "ddb_write": sum(r["dynamodb"]["write_units"] for r in job),
        "sns_request": sum(r["push"] for r in job),
        "sns_push": sum(r["push"] for r in job),
    }


def _rate(p: Price) -> str:
    return f"${p.usd:g}/M" if p.per == 1e6 else f"${p.usd:.10f}".rstrip("0")


def cloud_ms(r: dict[str, Any]) -> float:
    """The invocation's time with the emulator's waits replaced by typical cloud latencies
    (:data:`CLOUD_MS`); parallel fan-out is counted as serial, so this is an upper bound."""
    own = max(r["ms"] - r["dynamodb"]["ms"] - r.get("aws_ms", 0.0), 0.0)
    ddb = sum(CLOUD_MS.get(op, CLOUD_MS["*"]) for op in r["dynamodb"]["ops"])
    return own + ddb + CLOUD_MS["aws"] * sum(r.get("aws", {}).values())


def price(q: dict[str, float]) -> dict[str, float]:
    """USD per quantity of :func:`quantities` (measured as REST API and x86_64)."""
    return {k: q[k] * PRICES[k].usd / PRICES[k].per for k in q}


FRONT_DOORS = {"REST": "apigw_rest", "HTTP API": "apigw_http"}
ARCHITECTURES = {"x86": "lambda_gb_s", "arm64": "lambda_gb_s_arm64"}
"""The deployment choices (``summon:apiType``; every function on arm64 in ``infra/``) and
the price each bills the same requests and GB-seconds at."""


def deployed_as(usd: dict[str, float], q: dict[str, float], front_door: str, arch: str) -> float:
    """The job's total with its API requests and GB-seconds billed as ``front_door`` /
    ``arch`` (the same handler time: arm64 is priced, not re-measured)."""
    api, gb_s = PRICES[FRONT_DOORS[front_door]], PRICES[ARCHITECTURES[arch]]
    return (
        sum(usd.values())
        - usd["apigw_rest"]
        - usd["lambda_gb_s"]
        + q["apigw_rest"] * api.usd / api.per
        + q["lambda_gb_s"] * gb_s.usd / gb_s.per
    )


@dataclass
class Measured:
    records: list[dict[str, Any]]
    run: scenario.JobRun
    quantities: dict[str, float]
    usd: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.usd.values())


def measure(jobs: int = JOBS) -> tuple[list[Measured], list[dict[str, Any]]]:
    mem = memory_mb()
    out: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
        meter_file = Path(tmp) / "meter.jsonl"
        with harness.running(meter_file=meter_file) as stack:
            scenario.warm_up(stack)
            for _ in range(jobs):
                who = scenario.cast(stack)
                run = scenario.run_job(stack, who, meter_file)
                with open(meter_file, "rb") as f:  # exactly the job's window
                    f.seek(run.start_offset)
                    chunk = f.read(run.end_offset - run.start_offset)
                records = [json.loads(line) for line in chunk.splitlines() if line.strip()]
                q = quantities(records, run.socket_seconds, mem)
                out.append(Measured(records, run, q, price(q)))
        timers = [r for r in meter.read(meter_file) if r["kind"] == "schedule"]
    return out, timers


def report(jobs: list[Measured], timers: list[dict[str, Any]], mem_mb: int) -> list[str]:
    ranked = sorted(jobs, key=lambda m: m.total)
    m = ranked[len(ranked) // 2]
    verdict = "meets" if m.total <= TARGET_USD else "misses"
    cheap = deployed_as(m.usd, m.quantities, "HTTP API", "arm64")
    lines = [
        f"cost_per_job: ${m.total:.6f} per job as REST/x86, ${cheap:.6f} as HTTP API/arm64 "
        f"({cheap / m.total - 1:+.0%}) (median of {len(jobs)}: "
        + ", ".join(f"${j.total:.6f}" for j in jobs)
        + f"; target <= ${TARGET_USD}: {verdict})"
    ]
    for key, usd in sorted(m.usd.items(), key=lambda kv: -kv[1]):
        p = PRICES[key]
        qty = m.quantities[key]
        shown = f"{qty:.3f}" if key == "lambda_gb_s" else f"{qty:g}"
        lines.append(
            f"  {p.unit:50} {shown:>9} x {_rate(p):>16} = ${usd:.7f} ({usd / m.total:5.1%})"
        )
    job = [r for r in m.records if r["kind"] != "schedule"]
    ms = sum(r["ms"] for r in job)
    waits = sum(r["dynamodb"]["ms"] + r.get("aws_ms", 0.0) for r in job)
    calls = sum(r["dynamodb"]["calls"] for r in job)
    lines.append(
        f"  ({len(job)} invocations, {calls} DynamoDB calls, handler time {ms:.0f} ms at "
        f"{mem_mb} MB, of which {min(waits / ms, 1):.0%} waiting on the local emulator; "
        f"job wall time {m.run.wall_s:.1f} s)"
    )
    cloud = sum(math.ceil(cloud_ms(r)) for r in job) / 1000 * mem_mb / 1024
    at_cloud = m.total - m.usd["lambda_gb_s"] + cloud * PRICES["lambda_gb_s"].usd
    lines.append(
        f"  (at cloud latencies -- {CLOUD_MS['*']:g} ms a DynamoDB call, "
        f"{CLOUD_MS['TransactWriteItems']:g} ms a transaction, {CLOUD_MS['aws']:g} ms an SNS "
        f"or @connections call -- Lambda would be {cloud:.3f} GB-s and the job ${at_cloud:.6f})"
    )
    cloud_q = {**m.quantities, "lambda_gb_s": cloud}
    cloud_usd = price(cloud_q)
    rows = [
        f"{front}/{arch} ${deployed_as(m.usd, m.quantities, front, arch):.6f} "
        f"(cloud latencies ${deployed_as(cloud_usd, cloud_q, front, arch):.6f})"
        for front in FRONT_DOORS
        for arch in ARCHITECTURES
    ]
    lines.insert(1, "  by front door and architecture: " + "; ".join(rows))
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in job:
        by_name.setdefault(r["name"], []).append(r)
    lines.append("  by invocation: n, DynamoDB calls, read/write units, handler ms, posts, pushes")
    for name, rs in sorted(by_name.items(), key=lambda kv: -sum(r["ms"] for r in kv[1])):
        lines.append(
            f"    {name:36} {len(rs):3} {sum(r['dynamodb']['calls'] for r in rs):4} "
            f"{sum(r['dynamodb']['read_units'] for r in rs):6.1f}/"
            f"{sum(r['dynamodb']['write_units'] for r in rs):<6.1f} "
            f"{sum(r['ms'] for r in rs):7.0f} {sum(r['ws_posts'] for r in rs):4} "
            f"{sum(r['push'] for r in rs):3}"
        )
    if timers:
        idle = statistics.median(
            sum(price(quantities([{**r, "kind": "timer"}], [], mem_mb)).values()) for r in timers
        )
        lines.append(
            f"  not per job: the timer sweep (rate 1 minute) costs ${idle:.8f} a run, "
            f"${idle * SCHEDULE_RUNS_PER_MONTH:.4f} a month"
        )
    return lines


def main() -> None:
    jobs, timers = measure()
    print("\n".join(report(jobs, timers, memory_mb())), flush=True)


if __name__ == "__main__":
    main()
