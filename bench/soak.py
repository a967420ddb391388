"""``make soak``: a bounded soak of the local stack. Not part of ``make bench``.

``--users`` simulated users (half customers, half providers, in pairs at a place of their
own; ``bench/users.py``) keep their sockets open (a ping every 4 min, as the app does) and
do complete jobs for ``--seconds``: request → accept → 8 chat messages → en_route, arrived,
in_progress → the customer closes the app → completed (a push) → back, catch-up → both
review. Each user waits ``--think`` seconds (mean) between actions, as a person does; at
most ``--active`` jobs run at once, the other pairs rest online (``--rest`` seconds on
average between a pair's jobs). That bounds the offered load: the stack on one shared
machine serves a few calls a second, and an unbounded closed loop of 500 users would only
measure its queue (offers expire in the wait). Then no new job starts; the jobs under way
finish (bounded), every user catches up, and it prints:

* ``5xx``: HTTP answers and ``error`` frames with a 5xx status the users got (target 0);
* ``lost``: chat messages acked to their sender but not stored, stored twice, or never
  delivered to a participant, live or by catch-up (target 0); ``live_missed``: stored
  messages a participant with an open socket got only by catch-up;
* the RSS of the WebSocket gateway, the HTTP API, the event pump and the emulator, sampled
  every ``--sample`` seconds: start (after the set-up), peak, end, and the growth over the
  first and the second half of the load (``flat``: the second half grows by about
  nothing; a warm-up grows in the first half only, a leak in both);
* calls, frames and jobs, and their rates.

Run: ``.venv/bin/python -m bench.soak [--users 500] [--seconds 600] [--think 3] [--active 10]``
(``make soak``; ``SOAK_ARGS="--users 50 --seconds 30" make soak`` for a quick one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import users
from devstack.harness import Stack, running

PROCESSES = {
    "ws": "devstack.ws_gateway",
    "http": "devstack.http_api",
    "pump": "devstack.pump",
    "aws": "devstack.emulator",
}
DRAIN_S = 180.0
"""How long the jobs under way at the end may take to finish."""


def children(root: int) -> dict[str, int]:
    """The stack's processes under the supervisor ``root``, by name (``PROCESSES``)."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        for name, module in PROCESSES.items():
            if ppid == root and f"-m {module}" in cmdline:
                found[name] = int(entry.name)
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Memory:
    """RSS samples (MB) per process, with when each was taken (``time.monotonic``)."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    start: float = 0.0
    stop: float = 0.0
    """The soak's load: from the first sample (every socket open) to the last job start."""

    def sample(self, pids: dict[str, int]) -> None:
        now = time.monotonic()
        for name, pid in pids.items():
            try:
                self.samples.setdefault(name, []).append(rss_mb(pid))
                self.times.setdefault(name, []).append(now)
            except OSError:
                pass

    def halves(self, name: str) -> tuple[float, float]:
        """RSS growth (MB) over the first and the second half of the load, each between
        the samples nearest its ends: a leak grows in both, a warm-up only in the first."""
        got = list(zip(self.times.get(name, []), self.samples.get(name, []), strict=True))
        if len(got) < 3:
            return 0.0, 0.0

        def at(moment: float) -> float:
            return min(got, key=lambda sample: abs(sample[0] - moment))[1]

        middle = (self.start + self.stop) / 2
        return at(middle) - at(self.start), at(self.stop) - at(middle)

    def line(self, name: str) -> str:
        got = self.samples.get(name) or [0.0]
        first, second = self.halves(name)
        return (
            f"{name} {got[0]:.0f} → peak {max(got):.0f} → end {got[-1]:.0f} MB; "
            f"under load: first half {first:+.1f}, second half {second:+.1f} MB"
        )


async def _soak(
    stack: Stack, pairs: list[users.Pair], seconds: float, every: float, active: int, rest: float
) -> Memory:
    memory = Memory()
    pids = children(stack.pid)
    for pair in pairs:
        await pair.customer.open()
        await pair.provider.open()
    memory.sample(pids)
    memory.start = time.monotonic()
    stop_at = memory.stop = memory.start + seconds

    busy = asyncio.Semaphore(active)

    async def loop(pair: users.Pair) -> None:
        await asyncio.sleep(pair.customer.env.rng.uniform(0, rest))  # not all at once
        while time.monotonic() < stop_at:
            async with busy:
                if time.monotonic() >= stop_at:
                    return
                try:
                    await pair.job()
                except Exception as exc:  # noqa: BLE001 - counted and reported; the pair goes on
                    pair.customer.tally.failures.append(repr(exc)[:300])
            await asyncio.sleep(pair.customer.env.rng.uniform(0.5, 1.5) * rest)

    async def sampler() -> None:
        while True:
            await asyncio.sleep(every)
            memory.sample(pids)

    sampling = asyncio.create_task(sampler())
    try:
        await asyncio.wait_for(
            asyncio.gather(*(loop(p) for p in pairs), return_exceptions=True),
            seconds + DRAIN_S,
        )
    except TimeoutError:
        pairs[0].customer.tally.failures.append("jobs still under way after the drain time")
    for pair in pairs:
        for record in pair.records:
            for user in (pair.customer, pair.provider):
                await user.catch_up(record.conversation_id)
    memory.sample(pids)
    sampling.cancel()
    for pair in pairs:
        await pair.customer.close()
        await pair.provider.close()
    return memory


async def _lost(stack: Stack, pairs: list[users.Pair]) -> tuple[int, int, int]:
    """(messages checked, lost, delivered only by catch-up to an open socket)."""
    checked = lost = missed = 0
    for pair in pairs:
        for record in pair.records:
            page = await pair.customer.ok(
                "GET", f"/conversations/{record.conversation_id}/messages?after=0&limit=100"
            )
            stored = {int(m["seq"]): m for m in page["items"]}
            ids = [m["client_msg_id"] for m in stored.values()]
            checked += len(record.sent)
            lost += len(set(record.sent) - set(ids)) + (len(ids) - len(set(ids)))
            for user in (pair.customer, pair.provider):
                seen = user.seen.get(record.conversation_id, {})
                lost += sum(1 for seq in stored if seq not in seen)
                missed += sum(1 for m in stored.values() if m["id"] not in user.live)
    return checked, lost, missed


def run(n_users: int, seconds: float, think: float, every: float, active: int, rest: float) -> int:
    pairs_n = max(n_users // 2, 1)
    with running(providers=40, schedule_period=5.0) as stack:
        tally = users.Tally()
        env = users.Env(think_s=think, workers=48)
        began = time.monotonic()
        pairs = users.cast(stack, pairs_n, tally, env)
        print(f"soak: {pairs_n * 2} users set up in {time.monotonic() - began:.0f} s", flush=True)
        tally = users.Tally()  # count the soak itself, not the set-up
        for pair in pairs:
            pair.customer.tally = pair.provider.tally = tally
        memory = asyncio.run(_soak(stack, pairs, seconds, every, active, rest))
        wall = time.monotonic() - tally.started
        checked, lost, missed = asyncio.run(_lost(stack, pairs))
    http_5xx = sum(n for status, n in tally.statuses.items() if status >= 500)
    print(
        f"soak: {pairs_n * 2} users, {seconds:.0f} s (+ drain, {wall:.0f} s in all), "
        f"think {think:g} s, {active} jobs at once, rest {rest:g} s: "
        f"5xx {tally.server_errors}, lost {lost} of {checked} messages"
    )
    print(
        f"  jobs {tally.jobs_done} ({tally.jobs_done / wall * 60:.0f}/min), HTTP calls "
        f"{tally.calls} ({tally.calls / wall:.1f}/s), frames sent {tally.frames_sent} "
        f"({tally.frames_sent / wall:.1f}/s), retries {tally.retries}, reconnects "
        f"{tally.reconnects}, live_missed {missed}"
    )
    print(
        f"  statuses {dict(sorted(tally.statuses.items()))} (5xx over HTTP {http_5xx}), "
        f"error frames {dict(tally.error_frames)}"
    )
    for name in PROCESSES:
        print(f"  RSS {memory.line(name)} ({len(memory.samples.get(name, []))} samples)")
    for failure in tally.failures[:10]:
        print(f"  failed: {failure}")
    print(f"  ({len(tally.failures)} jobs failed; load average {os.getloadavg()[0]:.1f})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--think", type=float, default=3.0, help="mean seconds between actions")
    parser.add_argument(
        "--active", type=int, default=10, help="jobs under way at once (the others wait, online)"
    )
    parser.add_argument("--rest", type=float, default=60.0, help="mean seconds between jobs")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    args = parser.parse_args(argv)
    return run(args.users, args.seconds, args.think, args.sample, args.active, args.rest)


if __name__ == "__main__":
    sys.exit(main())
