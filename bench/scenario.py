"""One scripted complete job on the running local stack, over real HTTP and WebSocket.

The cast (:func:`cast`, not part of the job: accounts, provider profiles, devices): a
customer and K = 3 providers online at one spot far from the seeded ones, so matching
offers the request to exactly these K. The customer and providers A and B run the app
(a live socket each); provider C is offline with a registered phone; the customer and A
have phones too.

The job (:func:`run_job`), what the issue lists and a client does for it:

1. the customer and providers A and B connect (``$connect``);
2. the customer creates an instant request (``POST /requests``): A and B get
   ``offer.new`` live, C gets a push;
3. A accepts (``POST /offers/{id}/accept``): the customer sees ``job.updated`` live, B's
   offer is withdrawn; B closes the app (``$disconnect``);
4. A takes the job ``en_route`` and ``arrived`` (``POST /jobs/{id}/transitions``);
5. 20 chat messages over the WebSocket, alternating customer / A, each awaited on the
   other side (``chat.send`` frames; every message goes to both parties' sockets);
6. A starts the work (``in_progress``); the customer closes the app; A marks it
   ``completed``, which reaches the customer's phone as a push;
7. both review (``POST /jobs/{id}/reviews``); A closes the app.

:func:`run_job` returns where in the meter file the job's invocations are (byte offsets)
and how long each socket was open (WebSocket connection minutes).
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from devstack import meter
from devstack.harness import Stack

WAIT_S = 20.0
CHAT_MESSAGES = 20
TRANSITIONS = ("en_route", "arrived", "in_progress", "completed")
CATEGORY = "plumbing"


class Socket:
    """A real WebSocket client that keeps every frame it received and its open time."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.conn: ClientConnection = connect(f"{stack.ws}/?token={token}", open_timeout=10)
        self.opened = time.monotonic()
        self.closed: float | None = None
        self.frames: list[dict[str, Any]] = []
        self.sent = 0

    def send(self, **frame: Any) -> None:
        self.conn.send(json.dumps(frame))
        self.sent += 1

    def wait_for(
        self,
        type_: str,
        where: Callable[[dict[str, Any]], bool] = lambda d: True,
        timeout: float = WAIT_S,
    ) -> dict[str, Any]:
        """The first frame of ``type_`` (matching ``where``), received now or earlier."""
        for frame in self.frames:
            if frame.get("type") == type_ and where(frame.get("data") or {}):
                return dict(frame["data"])
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [f.get("type") for f in self.frames]
                raise RuntimeError(f"no {type_} frame within {timeout:.0f} s; got {seen}")
            try:
                frame = json.loads(self.conn.recv(timeout=left))
            except TimeoutError:
                continue
            self.frames.append(frame)
            if frame.get("type") == type_ and where(frame.get("data") or {}):
                return dict(frame["data"])

    def ping(self) -> None:
        ref = uuid.uuid4().hex
        self.send(action="ping", ref=ref)
        self.wait_for("pong", lambda d: d.get("ref") == ref)

    def close(self) -> float:
        """Close; the seconds it was open."""
        if self.closed is None:
            self.conn.close()
            self.closed = time.monotonic()
        return self.closed - self.opened


@dataclass
class Party:
    email: str
    token: str
    user_id: str
    device: bool = False


@dataclass
class Cast:
    where: dict[str, float]
    customer: Party
    providers: list[Party]  # A (accepts), B (live, loses), C (offline, phone)


@dataclass
class JobRun:
    start_offset: int
    end_offset: int
    wall_s: float
    job_id: str
    socket_seconds: list[float] = field(default_factory=list)
    frames_sent: int = 0
    pushes_expected: int = 0


def spot() -> dict[str, float]:
    """A place far from the seeded providers (around Lisbon) and from other runs."""
    rng = secrets.SystemRandom()
    return {"lat": round(rng.uniform(45, 55), 5), "lng": round(rng.uniform(5, 25), 5)}


def _device(stack: Stack, token: str, platform: str) -> None:
    push_token = f"bench-{secrets.token_hex(40)}" if platform == "fcm" else secrets.token_hex(32)
    stack.ok("POST", "/devices", token, json={"platform": platform, "token": push_token})


def _party(stack: Stack, group: str) -> Party:
    email, token = stack.new_account(group)
    me = stack.ok("GET", "/me", token)
    return Party(email, token, str(me["id"]))


def cast(stack: Stack, k: int = 3) -> Cast:
    """The customer and K providers online at a fresh spot, with their phones."""
    where = spot()
    customer = _party(stack, "customers")
    _device(stack, customer.token, "apns")
    customer.device = True
    providers = []
    for n in range(k):
        p = _party(stack, "providers")
        profile = {"categories": [CATEGORY], "location": where, "radius_km": 10}
        stack.ok("PUT", "/me/provider", p.token, json=profile)
        stack.ok("PUT", "/me/provider/availability", p.token, json={"online": True})
        if n != 1:  # A and C have phones; B only ever uses the app
            _device(stack, p.token, "fcm")
            p.device = True
        providers.append(p)
    return Cast(where, customer, providers)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def settle(meter_file: Path, offset: int, disconnects: int, timeout: float = WAIT_S) -> int:
    """Wait until ``disconnects`` ``$disconnect`` invocations are recorded after ``offset``
    and nothing but the timers ran for half a second; the file's size then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = meter.read(meter_file, offset)
        if sum(r["name"] == "$disconnect" for r in records) >= disconnects:
            break
        time.sleep(0.1)
    quiet_since, seen = time.monotonic(), _size(meter_file)
    while time.monotonic() - quiet_since < 0.5 and time.monotonic() < deadline:
        time.sleep(0.1)
        now = _size(meter_file)
        if now != seen:
            fresh = meter.read(meter_file, seen)
            seen = now
            if any(r["kind"] != "schedule" for r in fresh):
                quiet_since = time.monotonic()
    return _size(meter_file)


def run_job(stack: Stack, who: Cast, meter_file: Path) -> JobRun:
    """The scripted job (module doc); where its invocations are in the meter file."""
    customer, (a, b, _c) = who.customer, who.providers
    start = _size(meter_file)
    began = time.monotonic()
    c_ws, a_ws, b_ws = Socket(stack, customer.token), Socket(stack, a.token), Socket(stack, b.token)
    sockets = (c_ws, a_ws, b_ws)
    body = {
        "category": CATEGORY,
        "description": "Water everywhere under the kitchen sink",
        "location": who.where,
        "mode": "instant",
    }
    request = stack.ok("POST", "/requests", customer.token, json=body)
    rid = request["id"]
    offer = a_ws.wait_for("offer.new", lambda d: d.get("request_id") == rid)
    b_ws.wait_for("offer.new", lambda d: d.get("request_id") == rid)
    job = stack.ok("POST", f"/offers/{offer['id']}/accept", a.token)
    job_id, cid = job["id"], job["conversation_id"]
    c_ws.wait_for("job.updated", lambda d: d.get("id") == job_id)
    b_ws.wait_for("offer.withdrawn", lambda d: d.get("request_id") == rid)
    b_ws.close()

    def move(to: str) -> None:
        stack.ok("POST", f"/jobs/{job_id}/transitions", a.token, json={"to": to})

    for to in TRANSITIONS[:2]:
        move(to)
        c_ws.wait_for("job.updated", lambda d, to=to: d.get("id") == job_id and d["state"] == to)

    for n in range(CHAT_MESSAGES):
        sender, receiver = (c_ws, a_ws) if n % 2 == 0 else (a_ws, c_ws)
        msg_id = f"m-{n}"
        sender.send(
            action="chat.send", conversation_id=cid, client_msg_id=msg_id, text=f"message {n}"
        )
        receiver.wait_for("chat.message", lambda d, m=msg_id: d.get("client_msg_id") == m)

    move("in_progress")
    c_ws.wait_for("job.updated", lambda d: d.get("id") == job_id and d["state"] == "in_progress")
    c_ws.close()
    move("completed")  # the customer is away: this one is a push
    review = {"rating": 5, "text": "Quick, tidy, friendly."}
    stack.ok("POST", f"/jobs/{job_id}/reviews", a.token, json=review)
    stack.ok("POST", f"/jobs/{job_id}/reviews", customer.token, json=review)
    a_ws.close()
    wall = time.monotonic() - began
    end = settle(meter_file, start, disconnects=3)
    return JobRun(
        start_offset=start,
        end_offset=end,
        wall_s=wall,
        job_id=job_id,
        socket_seconds=[s.close() for s in sockets],
        frames_sent=sum(s.sent for s in sockets),
        pushes_expected=2,  # offer.new to C, job completed to the customer
    )


def warm_up(stack: Stack) -> None:
    """First calls in each process (imports, JWKS, caches), as a warm Lambda has them."""
    token = stack.sign_in("customer@summon.local")
    stack.ok("GET", "/me", token)
    ws = Socket(stack, token)
    ws.ping()
    ws.close()
