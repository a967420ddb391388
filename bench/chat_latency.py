"""chat_latency: delivery latency of chat messages on the local stack, with 50 and 200
concurrent sockets, beside a bare ``websockets`` relay measured in the same run as the floor,
five consecutive runs per size, and where the time goes.

``python -m bench.chat_latency [--sizes 50,200] [--runs 5] [--seconds 10] [--rate 0.25]
[--timings FILE] [--attach]``

Each size opens that many sockets as pairs of users, one conversation per pair (connecting
in waves of :data:`WAVE` pairs). After a warm-up message per pair, for ``--seconds`` the
first of each pair sends ``chat.send`` at ``--rate`` messages per second (open loop,
jittered; 200 sockets at 0.25/s is 25 messages/s, about what the emulator sustains on two
cores); latency is the time from that send to the ``chat.message`` frame arriving on the
other user's socket: the gateway, the app's handler (4 DynamoDB calls on the emulator), the
``@connections`` POSTs back through the gateway. The floor is the same traffic through a
relay that only forwards frames (a separate process, same machine, measured in the same
run). Each size runs ``--runs`` times in a row (new messages in the same conversations);
each run's p50/p99 and their spread are printed, then the per-stage breakdown of all the
runs' messages (``bench/chat_stages.py``, from the ``devstack/timing.py`` records the stack
writes to ``--timings``, a temporary file by default). The stack is started on free ports
(``python -m devstack``, 20 seeded providers) unless ``--attach`` uses the one ``make dev``
runs (``.devstack/env``, ports 8000/8001; no breakdown). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import chat_stages
from devstack import harness, timing
from devstack.harness import Stack

ROOT = Path(__file__).resolve().parent.parent
WAVE = 10
"""Pairs connecting at once: each ``$connect`` is 4 DynamoDB calls on the emulator, and the
gateway, like API Gateway, gives an upgrade 10 s to complete."""
SETTLE_S = 2.0


@contextmanager
def local_stack(attach: bool, timings: Path | None = None) -> Iterator[harness.Stack]:
    """The running ``make dev`` stack, or a fresh one on free ports (stopped afterwards),
    writing per-stage timings to ``timings`` (``devstack/timing.py``)."""
    if attach:
        yield harness.Stack(
            http="http://127.0.0.1:8000",
            ws="ws://127.0.0.1:8001",
            endpoint="http://127.0.0.1:5000",
            env=harness.read_env(ROOT / ".devstack/env"),
            log=ROOT / ".devstack/stack.log",
        )
        return
    env = {timing.ENV: str(timings.resolve())} if timings is not None else {}
    with harness.running(providers=20, schedule_period=5.0, env=env) as stack:
        yield stack


@dataclass
class User:
    user_id: str
    token: str


def make_users(stack: Stack, count: int) -> list[User]:
    """``count`` accounts made by an admin in the emulator's user pool, signed in."""
    import jwt

    def one(_: int) -> User:
        _, token = stack.new_account()
        sub = jwt.decode(token, options={"verify_signature": False})["sub"]
        return User(str(sub), token)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(count)))


def open_conversations(stack: Stack, pairs: list[tuple[User, User]]) -> list[str]:
    """One conversation per pair, written the way the marketplace opens them."""
    os.environ.update({k: v for k, v in stack.env.items() if k.startswith(("AWS_", "SUMMON_"))})
    from chalicelib.store import conversations

    return [
        conversations.open_conversation([a.user_id, b.user_id], "job", "bench") for a, b in pairs
    ]


# --- the load -------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float]
    """Milliseconds from send to arrival, one per delivered message."""
    lost: int
    messages: dict[str, tuple[float, float]]
    """client_msg_id → (sent, received), ``time.monotonic()`` (for the breakdown)."""


async def _drive(
    links: list[tuple[str, str, Any]],
    seconds: float,
    rate: float,
    tag: str = "",
) -> Run:
    """``links``: (sender url, receiver url, frame factory(n, key) -> str). ``tag``
    prefixes the keys (each run sends new ``client_msg_id``s: a repeated one is a retry)."""
    from websockets.asyncio.client import connect

    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    messages: dict[str, tuple[float, float]] = {}

    async def _open(url: str) -> Any:
        return await connect(url, max_size=None, open_timeout=60)

    async def receive(ws: Any, measure: bool) -> None:
        async for raw in ws:
            if not measure:
                continue  # the sender's own acknowledgements
            frame = json.loads(raw)
            key = _key_of(frame)
            started = sent_at.pop(key, None) if key else None
            if started is not None:
                now = time.monotonic()
                latencies.append((now - started) * 1000)
                messages[f"b-{key}"] = (started, now)

    async def open_all() -> list[tuple[Any, Any, Any]]:
        out = []
        for chunk in range(0, len(links), WAVE):  # in waves, as clients would
            batch = links[chunk : chunk + WAVE]
            opened = await asyncio.gather(
                *(asyncio.gather(_open(s), _open(r)) for s, r, _ in batch)
            )
            out += [(a, b, make) for (a, b), (_, _, make) in zip(opened, batch, strict=True)]
        return out

    sockets = await open_all()
    await asyncio.sleep(SETTLE_S)  # let the presence frames of the connects go by
    readers = [asyncio.create_task(receive(b, True)) for _, b, _ in sockets]
    readers += [asyncio.create_task(receive(a, False)) for a, _, _ in sockets]

    # Warm-up, not measured: one message per pair, all delivered before the clock starts
    # (first frames of a socket, first use of each code path in the stack's processes).
    for index, (a, _, make) in enumerate(sockets):
        sent_at[f"{tag}warm-{index}"] = time.monotonic()
        await a.send(make(-1, f"{tag}warm-{index}"))
    deadline = time.monotonic() + 30
    while sent_at and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    sent_at.clear()
    latencies.clear()
    messages.clear()

    async def talk(index: int, ws: Any, make: Any) -> None:
        rng = random.Random(index)
        await asyncio.sleep(rng.uniform(0, 1 / rate))
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            key = f"{tag}{index}-{n}"
            sent_at[key] = time.monotonic()
            await ws.send(make(n, key))
            n += 1
            await asyncio.sleep(rng.uniform(0.5, 1.5) / rate)

    await asyncio.gather(*(talk(i, a, make) for i, (a, _, make) in enumerate(sockets)))
    deadline = time.monotonic() + 10
    while sent_at and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    lost = len(sent_at)
    for task in readers:
        task.cancel()
    for a, b, _ in sockets:
        await a.close()
        await b.close()
    return Run(latencies, lost, messages)


def _key_of(frame: dict[str, Any]) -> str | None:
    if frame.get("type") == "chat.message":
        cid = frame["data"].get("client_msg_id", "")
        return str(cid).removeprefix("b-") if str(cid).startswith("b-") else None
    if "relay" in frame:
        return str(frame["relay"])
    return None


def stack_links(stack: Stack, users: list[User]) -> list[tuple[str, str, Any]]:
    pairs = list(zip(users[0::2], users[1::2], strict=True))
    convs = open_conversations(stack, pairs)
    links = []
    for (a, b), cid in zip(pairs, convs, strict=True):

        def make(n: int, key: str, cid: str = cid) -> str:
            return json.dumps(
                {"action": "chat.send", "conversation_id": cid, "client_msg_id": f"b-{key}",
                 "text": f"message {n}"}
            )  # fmt: skip

        links.append((f"{stack.ws}/?token={a.token}", f"{stack.ws}/?token={b.token}", make))
    return links


def relay_links(url: str, sockets: int) -> list[tuple[str, str, Any]]:
    links = []
    for i in range(sockets // 2):
        peer = f"r{i}"

        def make(n: int, key: str, peer: str = peer) -> str:
            return json.dumps({"to": peer, "relay": key, "text": f"message {n}"})

        links.append((f"{url}/?id=s{i}", f"{url}/?id={peer}", make))
    return links


# --- the floor: a relay that only forwards ----------------------------------------------


async def _relay(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    peers: dict[str, ServerConnection] = {}

    async def handler(ws: ServerConnection) -> None:
        query = urllib.parse.urlsplit(ws.request.path if ws.request else "").query
        name = urllib.parse.parse_qs(query).get("id", [""])[0]
        peers[name] = ws
        try:
            async for raw in ws:
                target = peers.get(json.loads(raw).get("to", ""))
                if target is not None:
                    await target.send(raw)
        finally:
            peers.pop(name, None)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None):
        await asyncio.Future()


@contextmanager
def relay_server() -> Iterator[str]:
    port = harness.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.chat_latency", "--relay-server", str(port)], cwd=ROOT
    )
    try:
        harness.wait_port(port, 30)
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the machine: is anything else using it? ------------------------------------------


def _cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds the whole machine has been busy, CPU seconds used by this process and
    its descendants: the stack, the relay), from /proc; None where there is no /proc."""
    try:
        tick = os.sysconf("SC_CLK_TCK")
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        values = [int(v) for v in fields]
        busy = (sum(values) - values[3] - values[4]) / tick  # minus idle and iowait
        parents: dict[int, int] = {}
        used: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[1])
            used[int(entry.name)] = (int(stat[11]) + int(stat[12])) / tick
    except (OSError, ValueError, IndexError):
        return None
    ours = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in ours} - ours
        grew = bool(found)
        ours |= found
    return busy, sum(used[pid] for pid in ours)


class Machine:
    """How many cores other processes kept busy while a measurement ran (this machine is
    shared: the benchmark's figures are only comparable when that is near 0)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.at_start = _cpu_seconds()

    def others(self) -> float | None:
        at_end = _cpu_seconds()
        if self.at_start is None or at_end is None:
            return None
        wall = time.monotonic() - self.started
        busy = at_end[0] - self.at_start[0]
        ours = at_end[1] - self.at_start[1]  # descendants that exited are not counted
        return max(0.0, busy - ours) / wall


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(name: str, sockets: int, run: Run, seconds: float) -> None:
    latencies, lost, n = run.latencies, run.lost, len(run.latencies)
    print(
        f"chat_latency: {name:<17} {sockets:>4} sockets  p50 {_pct(latencies, 0.5):7.1f} ms  "
        f"p99 {_pct(latencies, 0.99):7.1f} ms  max {max(latencies, default=0):7.1f} ms  "
        f"({n} delivered, {lost} lost, {n / seconds:.0f} msg/s)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chat_latency", description=__doc__)
    parser.add_argument("--sizes", default="50,200", help="socket counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=0.25, help="messages/s per sending socket")
    parser.add_argument("--runs", type=int, default=5, help="consecutive runs per size")
    parser.add_argument("--attach", action="store_true", help="use the running make dev stack")
    parser.add_argument("--timings", type=Path, help="keep the stages' records in this file")
    parser.add_argument("--relay-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.relay_server:
        asyncio.run(_relay(args.relay_server))
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(
        f"chat_latency: {args.rate:g} msg/s per sender for {args.seconds:g} s, {args.runs} "
        "runs per size; half the sockets send, half receive (one process, monotonic clock)",
        flush=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chat-latency-") as tmp:
        timings = None if args.attach else (args.timings or Path(tmp) / "timings.jsonl")
        with local_stack(args.attach, timings) as stack, relay_server() as relay:
            users = make_users(stack, max(sizes))
            for size in sizes:
                measure(stack, relay, users[:size], args, timings)
    print(f"chat_latency: done in {time.monotonic() - started:.0f} s")
    return 0


def measure(
    stack: Stack, relay: str, users: list[User], args: argparse.Namespace, timings: Path | None
) -> None:
    """The floor once, then ``args.runs`` consecutive runs on the stack (new messages in
    the same conversations), their spread and the breakdown of all their messages."""
    size = len(users)
    floor = asyncio.run(_drive(relay_links(relay, size), args.seconds, args.rate))
    report("relay (floor)", size, floor, args.seconds)
    links = stack_links(stack, users)
    runs: list[Run] = []
    machine = Machine()
    for number in range(1, args.runs + 1):
        run = asyncio.run(_drive(links, args.seconds, args.rate, tag=f"s{size}r{number}-"))
        report(f"local stack run {number}", size, run, args.seconds)
        runs.append(run)
    p50s = [_pct(r.latencies, 0.5) for r in runs]
    p99s = [_pct(r.latencies, 0.99) for r in runs]
    print(
        f"chat_latency: {size} sockets, {len(runs)} runs: p50 {min(p50s):.1f} to {max(p50s):.1f} "
        f"ms (median {statistics.median(p50s):.1f}), p99 {min(p99s):.1f} to {max(p99s):.1f} ms "
        f"(median {statistics.median(p99s):.1f}, worst {max(p99s):.1f})",
        flush=True,
    )
    others = machine.others()
    if others is not None:
        print(
            f"chat_latency: {size} sockets: other processes kept {others:.2f} of "
            f"{os.cpu_count()} cores busy meanwhile",
            flush=True,
        )
    floor_p50 = statistics.median(floor.latencies) if floor.latencies else float("nan")
    print(
        f"chat_latency: {size} sockets: stack/floor p50 {statistics.median(p50s) / floor_p50:.0f}x"
    )
    if timings is not None:
        messages = {k: v for r in runs for k, v in r.messages.items()}
        chat_stages.print_table(chat_stages.stages(timings, messages), _pct)


if __name__ == "__main__":
    sys.exit(main())
