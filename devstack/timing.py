"""Opt-in per-stage timings of the local stack's WebSocket path, for ``bench.chat_latency``.

Set ``DEVSTACK_TIMING_FILE=<path>`` and the WebSocket gateway and the AWS emulator append
one JSON line per event to that file; nothing changes otherwise (no request, response or
frame is altered, except one extra ``x-devstack-trace`` request header on the app's AWS
calls, which no service reads). Every time is ``time.monotonic()`` in seconds: on Linux
that is ``CLOCK_MONOTONIC``, one clock for every process of the machine, so the records of
different processes (and the bench's own send and receive times) can be subtracted.

Records (``p``: process, ``k``: kind; ``key``: the frame's ``client_msg_id``, ``id``: the
trace id of one AWS call, ``<key>#<n>``)::

    {"p": "gw",  "k": "frame",   "key", "rx"}                # event built for the frame
    {"p": "gw",  "k": "handler", "key", "t0", "t1", "cpu"}   # the handler in a pool thread
    {"p": "gw",  "k": "call",    "key", "id", "op", "t0", "t1"}  # botocore before/after-call
    {"p": "gw",  "k": "post",    "id", "t0", "t1"}           # @connections POST served
    {"p": "aws", "k": "dynamodb", "id", "op", "arrive", "locked", "released", "journal"}

``cpu`` is the handler thread's CPU seconds (``time.thread_time``); ``locked``/``released``
are when the emulator's DynamoDB lock was taken and given back (``locked - arrive``: the
wait behind other calls), ``journal`` the seconds spent appending the call to the
write-ahead journal (``devstack/persist.py``) inside the lock. Only frames with a
``client_msg_id`` and the calls made while handling them are recorded.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

ENV = "DEVSTACK_TIMING_FILE"
HEADER = "x-devstack-trace"

_key: contextvars.ContextVar[str | None] = contextvars.ContextVar("devstack_timing", default=None)
_files: dict[str, int] = {}
_files_lock = threading.Lock()


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def record(process: str, kind: str, **fields: Any) -> None:
    """Append one line (one ``write``: lines of concurrent writers do not interleave)."""
    path = os.environ[ENV]
    fd = _files.get(path)
    if fd is None:
        with _files_lock:
            fd = _files.get(path)
            if fd is None:
                fd = _files[path] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    line = json.dumps({"p": process, "k": kind, **fields}, separators=(",", ":")) + "\n"
    os.write(fd, line.encode())


def frame_key(body: Any) -> str | None:
    """The ``client_msg_id`` of a frame's JSON body, if it has one."""
    if not isinstance(body, str) or "client_msg_id" not in body:
        return None
    try:
        value = json.loads(body).get("client_msg_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


# --- the gateway process (the app's handlers and their AWS calls) ------------------------


def install_gateway(gateway: Any) -> None:
    """Hook the frame routing, handler calls and ``@connections`` service of ``gateway``
    (the ``WebSocketGateway`` class: ``python -m`` runs its module as ``__main__``) and
    every botocore client created from now on. Call before the app loads; once."""
    from devstack import events, patches

    patches.copy_context_into_pools(lambda: _key.get() is not None)
    _hook_botocore()
    received: dict[str, float] = {}
    build = events.ws_message_event

    def ws_message_event(conn: Any, *, route_key: str, body: str | bytes) -> dict[str, Any]:
        rx = time.monotonic()
        event = build(conn, route_key=route_key, body=body)
        if frame_key(event["body"]) is not None:
            received[event["requestContext"]["requestId"]] = rx
        return event

    events.ws_message_event = ws_message_event

    call_handler = gateway._call_handler

    def timed_call_handler(self: Any, route_key: str, event: dict[str, Any]) -> Any:
        key = frame_key(event.get("body"))
        if key is None:
            return call_handler(self, route_key, event)
        rx = received.pop(event["requestContext"]["requestId"], None)
        if rx is not None:
            record("gw", "frame", key=key, rx=rx)
        token = _key.set(key)
        t0, cpu0 = time.monotonic(), time.thread_time()
        try:
            return call_handler(self, route_key, event)
        finally:
            cpu = time.thread_time() - cpu0
            record("gw", "handler", key=key, t0=t0, t1=time.monotonic(), cpu=cpu)
            _key.reset(token)

    gateway._call_handler = timed_call_handler

    management = gateway._management

    async def timed_management(self: Any, connection: Any, request: Any, path: str) -> Any:
        trace = request.headers.get(HEADER)
        t0 = time.monotonic()
        try:
            return await management(self, connection, request, path)
        finally:
            if trace:
                record("gw", "post", id=trace, t0=t0, t1=time.monotonic())

    gateway._management = timed_management


_calls = itertools.count()


def _on_call(event_name: str, **kwargs: Any) -> None:
    key = _key.get()
    if key is None:
        return
    context = kwargs.get("context")
    if context is None:
        return
    if event_name.startswith("before-call"):
        trace = f"{key}#{next(_calls)}"
        kwargs["params"].setdefault("headers", {})[HEADER] = trace
        context["devstack_trace"] = (trace, time.monotonic())
        return
    started = context.pop("devstack_trace", None)
    if started is not None:
        op = ".".join(event_name.split(".")[1:3])
        record("gw", "call", key=key, id=started[0], op=op, t0=started[1], t1=time.monotonic())


def _hook_botocore() -> None:
    from devstack import patches

    patches.on_every_client_call(_on_call, "devstack-timing")


# --- the emulator process ------------------------------------------------------------------


class _Call(threading.local):
    trace: str | None = None
    locked: float = 0.0
    released: float = 0.0
    journal: float = 0.0


_current = _Call()


class _TimedLock:
    """The emulator's DynamoDB lock, noting when the current traced call took and left it."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.__enter__()
        _current.locked = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        _current.released = time.monotonic()
        self._lock.__exit__(*exc)


def wrap_emulator(app: Any) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """Time the traced DynamoDB calls of the emulator's app (an ``AtomicDynamoDB``): the
    lock's wait and hold, and the journal's appends in it. ``app`` otherwise unchanged."""
    from devstack.persist import Journal

    app.lock = _TimedLock(app.lock)
    append = Journal._append
    if not hasattr(append, "devstack_timing"):  # once per process

        def timed_append(self: Journal, entry: Any) -> None:
            t0 = time.monotonic()
            append(self, entry)
            _current.journal += time.monotonic() - t0

        timed_append.devstack_timing = True  # type: ignore[attr-defined]
        Journal._append = timed_append  # type: ignore[method-assign]

    def timed(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        trace = environ.get("HTTP_X_DEVSTACK_TRACE")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not trace or not target.startswith("DynamoDB_"):
            return app(environ, start_response)  # type: ignore[no-any-return]
        arrive = time.monotonic()
        _current.locked = _current.released = _current.journal = 0.0
        out = app(environ, start_response)
        record(
            "aws",
            "dynamodb",
            id=trace,
            op=target.partition(".")[2],
            arrive=arrive,
            locked=_current.locked,
            released=_current.released,
            journal=_current.journal,
        )
        return out  # type: ignore[no-any-return]

    return timed


def maybe_wrap_emulator(app: Any) -> Any:
    """:func:`wrap_emulator` when ``DEVSTACK_TIMING_FILE`` is set; else ``app`` itself."""
    return wrap_emulator(app) if enabled() else app
