"""Simulated app users over the real local stack: a customer and a provider per pair, each
with a live socket, doing complete jobs the way the mobile app does, with its retry
contract (docs/realtime.md#the-client-retry-contract):

* an HTTP call answered 5xx, 429 or not at all is sent again after ``Retry-After`` (or a
  short back-off), the same call with the same ``Idempotency-Key``; a 409 to a retried
  state change means "look": the client reads the job and carries on if it is done;
* a ``chat.send`` is sent again with the same ``client_msg_id`` until its ack (the
  ``chat.message`` with that id on the sender's socket) comes back; an ``error`` frame
  with a 5xx status or no ack within :data:`ACK_S` means "again";
* a dropped socket reconnects and catches up (``GET /conversations/{id}/messages?after=``
  the last sequence number it saw with none missing before it); so does a socket that
  receives a ``chat.message`` whose ``seq`` skips one (a live frame can be lost while the
  socket stays open).

The pair's job (:meth:`Pair.job`): request → accept → four chat messages each → en_route,
arrived, in_progress → the customer closes the app → completed (a push) → the customer
comes back and catches up → both review. Every user waits ``think`` seconds (mean, random)
between actions, so a user makes well under one call a second.

Used by ``tests/e2e/test_faults.py`` (jobs under injected faults) and ``bench/soak.py``.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from devstack.harness import Stack

ATTEMPTS = 12
"""Tries of one call before the script gives up (and says so)."""
ACK_S = 5.0
"""How long a sender waits for its message's ack before sending it again."""
WAIT_S = 30.0
KEEPALIVE_S = 240.0
CHAT_EACH = 4
TRANSITIONS = ("en_route", "arrived", "in_progress", "completed")


class GaveUp(Exception):
    """A call kept failing after :data:`ATTEMPTS` tries (the client says so to its user)."""


@dataclass
class Tally:
    """What the simulated clients saw, all users together."""

    calls: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    frames_sent: int = 0
    error_frames: Counter[int] = field(default_factory=Counter)
    reconnects: int = 0
    jobs_done: int = 0
    failures: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def server_errors(self) -> int:
        """Answers a user saw as 5xx: HTTP statuses and ``error`` frames."""
        http = sum(n for status, n in self.statuses.items() if status >= 500)
        return http + sum(n for status, n in self.error_frames.items() if status >= 500)


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session  # type: ignore[no-any-return]


class User:
    """One app user: an ID token, a socket that reconnects, what it received."""

    def __init__(self, stack: Stack, token: str, user_id: str, tally: Tally, env: Env) -> None:
        self.stack, self.token, self.user_id, self.tally, self.env = (
            stack,
            token,
            user_id,
            tally,
            env,
        )
        self.frames: list[dict[str, Any]] = []
        self.seen: dict[str, dict[int, str]] = {}  # conversation → seq → client_msg_id
        self.live: set[str] = set()  # message ids received live
        self.ws: ClientConnection | None = None
        self.online = False
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._keepalive: asyncio.Task[None] | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}  # gap catch-ups under way

    # --- HTTP, with the retry contract ------------------------------------------------

    async def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = None
    ) -> requests.Response:
        """The call, again while it answers 5xx/429 or nothing; the last answer."""
        headers = {"Authorization": self.token}
        if key:
            headers["Idempotency-Key"] = key
        url = self.stack.http + path
        for attempt in range(ATTEMPTS):
            if attempt:
                self.tally.retries += 1
            try:
                response = await self.env.run(
                    lambda: _session().request(method, url, json=body, headers=headers, timeout=30)
                )
            except requests.RequestException:
                await asyncio.sleep(min(0.5 * 2**attempt, 5))
                continue
            self.tally.calls += 1
            self.tally.statuses[response.status_code] += 1
            busy = response.status_code >= 500 or response.status_code == 429
            in_progress = response.status_code == 409 and key and "in progress" in response.text
            if not (busy or in_progress):
                return response
            wait = float(response.headers.get("Retry-After") or min(0.5 * 2**attempt, 5))
            await asyncio.sleep(wait * (1 + random.random() / 2))
        raise GaveUp(f"{method} {path}: no answer but 5xx/429 after {ATTEMPTS} tries")

    async def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        response = await self.call(method, path, body, **kw)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    # --- the socket ---------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (again until it works) and catch up every conversation it knows."""
        for attempt in range(ATTEMPTS):
            try:
                self.ws = await connect(f"{self.stack.ws}/?token={self.token}", open_timeout=15)
                break
            except (OSError, InvalidHandshake, TimeoutError):  # refused, or dropped mid-way
                await asyncio.sleep(min(0.5 * 2**attempt, 5))
        else:
            raise GaveUp("the socket does not connect")
        self.online = True
        self._reader = asyncio.create_task(self._read(self.ws))
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.create_task(self._ping())
        for conversation in list(self.seen):
            await self.catch_up(conversation)

    async def _ping(self) -> None:
        """A heartbeat every :data:`KEEPALIVE_S`, as the app sends: API Gateway closes a
        socket whose client sent nothing for 10 minutes."""
        while self.online:
            await asyncio.sleep(KEEPALIVE_S)
            if self.ws is not None and self.online:
                try:
                    await self.ws.send(json.dumps({"action": "ping"}))
                except ConnectionClosed:
                    pass  # the reader reconnects

    async def close(self) -> None:
        self.online = False
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                data = frame.get("data") or {}
                if frame.get("type") == "chat.message":
                    conversation = data["conversation_id"]
                    gap = int(data["seq"]) > self.upto(conversation) + 1
                    self._saw(data)
                    self.live.add(data["id"])
                    if gap and conversation not in self._tasks:  # a frame before it was lost
                        task = asyncio.create_task(self.catch_up(conversation))
                        self._tasks[conversation] = task
                        task.add_done_callback(lambda _, c=conversation: self._tasks.pop(c, None))
                elif frame.get("type") == "error":
                    self.tally.error_frames[int(data.get("status", 0))] += 1
                elif "message" in frame:  # the gateway's own error frame
                    self.tally.error_frames[500] += 1
                self.frames.append(frame)
                self._changed.set()
        except ConnectionClosed:
            pass
        if self.online:  # not closed by us: the network dropped it
            self.tally.reconnects += 1
            await self.open()

    def _saw(self, message: dict[str, Any]) -> None:
        self.seen.setdefault(message["conversation_id"], {})[int(message["seq"])] = message[
            "client_msg_id"
        ]

    def upto(self, conversation: str) -> int:
        """The highest ``seq`` seen in ``conversation`` with none missing before it."""
        known = self.seen.get(conversation, {})
        seq = 0
        while seq + 1 in known:
            seq += 1
        return seq

    async def catch_up(self, conversation: str) -> None:
        """What was stored after the last message seen with none missing before it (the
        app's resume, and its answer to a gap)."""
        self.seen.setdefault(conversation, {})
        after = self.upto(conversation)
        while True:
            page = await self.ok("GET", f"/conversations/{conversation}/messages?after={after}")
            for message in page["items"]:
                self._saw(message)
            if not page["items"]:
                self._changed.set()
                return
            after = max(int(m["seq"]) for m in page["items"])

    async def wait_for(
        self, type_: str, where: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S
    ) -> dict[str, Any] | None:
        """The first frame of ``type_`` matching ``where`` (now or earlier); None after
        ``timeout`` (a frame may be lost with its socket: the caller then looks over HTTP)."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for frame in self.frames[checked:]:
                if frame.get("type") == type_ and where(frame.get("data") or {}):
                    return dict(frame["data"])
            checked = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass

    async def say(self, conversation: str, text: str) -> str:
        """Send a chat message until acked; its ``client_msg_id``."""
        msg_id = uuid.uuid4().hex
        for _ in range(ATTEMPTS):
            if self.ws is None or not self.online:
                await asyncio.sleep(0.5)
                continue
            frame = {"action": "chat.send", "conversation_id": conversation}
            frame |= {"client_msg_id": msg_id, "text": text, "ref": msg_id}
            try:
                await self.ws.send(json.dumps(frame))
            except ConnectionClosed:
                await asyncio.sleep(0.5)  # the reader reconnects
                continue
            self.tally.frames_sent += 1
            acked = await self.wait_for(
                "chat.message", lambda d: d.get("client_msg_id") == msg_id, ACK_S
            )
            if acked is not None:
                return msg_id
            if msg_id in self.seen.get(conversation, {}).values():
                return msg_id  # seen in a catch-up after a reconnect
            self.tally.retries += 1
        raise GaveUp(f"chat message {msg_id} not acknowledged after {ATTEMPTS} tries")


class Env:
    """The event loop's helpers: blocking HTTP in a thread pool, think times."""

    def __init__(self, think_s: float, workers: int = 32, seed: int | None = None) -> None:
        self.think_s = think_s
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="user-http")
        self.rng = random.Random(seed)

    async def run(self, fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)


@dataclass
class Record:
    """One finished job, for the checks."""

    request_id: str
    job_id: str
    conversation_id: str
    sent: list[str]  # client_msg_ids acked


class Pair:
    """A customer and a provider at a spot of their own (matching offers the customer's
    requests to this provider)."""

    def __init__(self, customer: User, provider: User, where: dict[str, float]) -> None:
        self.customer, self.provider, self.where = customer, provider, where
        self.records: list[Record] = []

    async def job(self) -> Record:
        c, p, env = self.customer, self.provider, self.customer.env
        body = {
            "category": "plumbing",
            "description": "The kitchen sink leaks",
            "location": self.where,
            "mode": "instant",
        }
        request = await c.ok("POST", "/requests", body, key=uuid.uuid4().hex)
        rid = request["id"]
        await p.wait_for("offer.new", lambda d: d.get("request_id") == rid, 5.0)
        await env.think()
        accepted = await p.call("POST", f"/offers/{rid}/accept")
        if accepted.status_code == 409:  # a retried accept: was it ours already?
            offer = await p.ok("GET", "/offers")
            mine = [o for o in offer["items"] if o["request_id"] == rid and o.get("job_id")]
            if not mine:
                raise RuntimeError(f"accept {rid}: {accepted.text}")
            job = await p.ok("GET", f"/jobs/{mine[0]['job_id']}")
        elif accepted.status_code >= 300:
            raise RuntimeError(f"accept {rid}: {accepted.status_code} {accepted.text}")
        else:
            job = accepted.json()
        record = Record(rid, job["id"], job["conversation_id"], [])
        for n in range(CHAT_EACH * 2):
            await env.think()
            who = c if n % 2 == 0 else p
            record.sent.append(await who.say(record.conversation_id, f"message {n}"))
        for to in TRANSITIONS:
            if to == "completed":
                await c.close()  # the customer closes the app: "completed" is a push
            await env.think()
            await self._move(p, record.job_id, to)
        await env.think()
        await c.open()
        await c.catch_up(record.conversation_id)
        for who, side in ((p, "provider"), (c, "customer")):
            await env.think()
            review = {"rating": 5, "text": "Quick, tidy, friendly."}
            done = await who.call("POST", f"/jobs/{record.job_id}/reviews", review)
            if done.status_code == 409:  # a retried review: already there?
                job = await who.ok("GET", f"/jobs/{record.job_id}")
                if not job["reviews"][f"{side}_reviewed"]:
                    raise RuntimeError(f"review of {record.job_id}: {done.text}")
            elif done.status_code >= 300:
                raise RuntimeError(f"review: {done.status_code} {done.text}")
        self.records.append(record)
        c.tally.jobs_done += 1
        return record

    @staticmethod
    async def _move(p: User, job_id: str, to: str) -> None:
        moved = await p.call("POST", f"/jobs/{job_id}/transitions", {"to": to})
        if moved.status_code == 409:  # a retried transition: did the first one land?
            job = await p.ok("GET", f"/jobs/{job_id}")
            if job["state"] != to:
                raise RuntimeError(f"{to} on {job_id}: {moved.text}")
        elif moved.status_code >= 300:
            raise RuntimeError(f"{to} on {job_id}: {moved.status_code} {moved.text}")


def spots(n: int, seed: int | None = None) -> list[dict[str, float]]:
    """``n`` places about 50 km apart, away from the seeded providers (around Lisbon)."""
    rng = random.Random(seed)
    lat0, lng0 = rng.uniform(45, 46), rng.uniform(5, 6)
    return [
        {"lat": round(lat0 + (i // 30) * 0.45, 5), "lng": round(lng0 + (i % 30) * 0.65, 5)}
        for i in range(n)
    ]


def cast(stack: Stack, pairs: int, tally: Tally, env: Env, workers: int = 12) -> list[Pair]:
    """``pairs`` customers and providers (accounts, provider profiles, online)."""
    places = spots(pairs)

    def ok(method: str, path: str, token: str, body: Any = None) -> Any:
        for attempt in range(ATTEMPTS):  # the retry contract, for the set-up too
            response = stack.call(method, path, token, json=body)
            if response.status_code < 300:
                return response.json() if response.content else None
            if response.status_code < 500 and response.status_code != 429:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            time.sleep(min(0.5 * 2**attempt, 5))
        raise GaveUp(f"{method} {path}: 5xx/429 after {ATTEMPTS} tries")

    def make(where: dict[str, float]) -> tuple[tuple[str, str], tuple[str, str]]:
        _, c_token = stack.new_account("customers")
        _, p_token = stack.new_account("providers")
        profile = {"categories": ["plumbing"], "location": where, "radius_km": 10}
        ok("PUT", "/me/provider", p_token, profile)
        ok("PUT", "/me/provider/availability", p_token, {"online": True})
        return (c_token, ok("GET", "/me", c_token)["id"]), (
            p_token,
            ok("GET", "/me", p_token)["id"],
        )

    with ThreadPoolExecutor(workers) as pool:
        made = list(pool.map(make, places))
    return [
        Pair(User(stack, ct, cid, tally, env), User(stack, pt, pid, tally, env), where)
        for ((ct, cid), (pt, pid)), where in zip(made, places, strict=True)
    ]
