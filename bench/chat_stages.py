"""Where a chat message's time goes: the per-stage breakdown of ``bench.chat_latency``,
from the records of ``devstack/timing.py`` and the bench's own send and receive times
(all ``time.monotonic()``, one clock for every process of the machine).

Per measured message, in ms: client → gateway (the frame read and routed), the wait for a
handler thread, the handler's wall time and, inside it, the app's own work (wall minus
the time its AWS calls were in flight) and its thread's CPU; each DynamoDB operation as
the app sees it, split into the wait for the emulator's lock, moto's work holding it, the
journal append (``devstack/persist.py``) and the rest (HTTP, botocore, werkzeug); the
``@connections`` POSTs; the last hop from the gateway's socket write to the client's read.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _union(intervals: Iterable[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line cut short by a process stopping
    return out


def stages(path: Path, messages: dict[str, tuple[float, float]]) -> dict[str, list[float]]:
    """Stage name → one value (ms) per message of ``messages`` (client_msg_id → (sent,
    received)) the records cover whole."""
    frames: dict[str, float] = {}
    handlers: dict[str, dict[str, Any]] = {}
    calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
    posts: dict[str, dict[str, Any]] = {}
    emulated: dict[str, dict[str, Any]] = {}
    for r in _load(path):
        kind = r.get("k")
        if kind == "frame":
            frames[r["key"]] = r["rx"]
        elif kind == "handler":
            handlers[r["key"]] = r
        elif kind == "call":
            calls[r["key"]].append(r)
        elif kind == "post":
            posts[r["id"]] = r
        elif kind == "dynamodb":
            emulated[r["id"]] = r
    out: dict[str, list[float]] = defaultdict(list)
    for key, (sent, received) in messages.items():
        h = handlers.get(key)
        rx = frames.get(key)
        if h is None or rx is None:
            continue
        own = calls.get(key, [])
        row: dict[str, float] = defaultdict(float)
        row["client → gateway (frame read, routed)"] = rx - sent
        row["gateway → handler thread (pool wait)"] = h["t0"] - rx
        row["handler wall time"] = h["t1"] - h["t0"]
        in_flight = _union((c["t0"], c["t1"]) for c in own if h["t0"] <= c["t0"] <= h["t1"])
        row["  app's own work (wall minus AWS in flight)"] = h["t1"] - h["t0"] - in_flight
        row["  app CPU (handler thread)"] = h["cpu"]
        dynamo = [c for c in own if c["op"].startswith("dynamodb.")]
        row["  DynamoDB calls (app side, all)"] = 0.0
        for c in dynamo:
            row["  DynamoDB calls (app side, all)"] += c["t1"] - c["t0"]
            e = emulated.get(c["id"])
            if e is None or not e["locked"]:
                continue
            row["    wait for the emulator's lock"] += e["locked"] - e["arrive"]
            row["    moto, lock held (excl. journal)"] += e["released"] - e["locked"] - e["journal"]
            row["    journal append (persist.py)"] += e["journal"]
            row["    HTTP + botocore + werkzeug"] += (c["t1"] - c["t0"]) - (
                e["released"] - e["arrive"]
            )
        for c in dynamo:
            row[f"    {c['op'].removeprefix('dynamodb.')} (app side)"] += c["t1"] - c["t0"]
        sends = [c for c in own if c["op"].startswith("apigatewaymanagementapi.")]
        if sends:
            row["  @connections POSTs (app side, first start → last end)"] = max(
                c["t1"] for c in sends
            ) - min(c["t0"] for c in sends)
            served = [posts[c["id"]] for c in sends if c["id"] in posts]
            if served:
                row["    gateway serving the POST (max)"] = max(p["t1"] - p["t0"] for p in served)
                after = [received - p["t1"] for p in served if p["t1"] <= received]
                if after:
                    row["gateway socket write → client read"] = min(after)
        row["end to end"] = received - sent
        for name, seconds in row.items():
            out[name].append(seconds * 1000)
    return dict(out)


ORDER = (
    "client → gateway (frame read, routed)",
    "gateway → handler thread (pool wait)",
    "handler wall time",
    "  app's own work (wall minus AWS in flight)",
    "  app CPU (handler thread)",
    "  DynamoDB calls (app side, all)",
    "    wait for the emulator's lock",
    "    moto, lock held (excl. journal)",
    "    journal append (persist.py)",
    "    HTTP + botocore + werkzeug",
    "    (each operation)",
    "  @connections POSTs (app side, first start → last end)",
    "    gateway serving the POST (max)",
    "gateway socket write → client read",
    "end to end",
)


def _rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else ORDER.index("    (each operation)")


def print_table(table: dict[str, list[float]], pct: Any) -> None:
    """p50, p99 and mean per stage, and the mean's share of the mean end to end."""
    total = table.get("end to end") or [float("nan")]
    whole = sum(total) / len(total)
    print(
        f"chat_latency: breakdown of {len(total)} messages (ms)"
        f"{'':<24}{'p50':>8}{'p99':>8}{'mean':>8}{'share':>8}"
    )
    for name in sorted(table, key=_rank):
        values = table[name]
        mean = sum(values) / len(values)
        print(
            f"chat_latency:   {name:<56}{pct(values, 0.5):8.2f}{pct(values, 0.99):8.2f}"
            f"{mean:8.2f}{100 * mean / whole:7.0f}%",
            flush=True,
        )
