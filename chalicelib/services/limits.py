"""Per-user limits (docs/api.md "Limits"; ADR 0020): what one user may do however many IP
addresses they call from (the WAF limits per IP). Each over-limit call is refused with
:class:`TooFrequent` (HTTP 429 + ``Retry-After``; an ``error`` frame with ``retry_after``)
before it changes anything. The numbers are settings (``config.LIMIT_*``).

- **Sockets per user** (``$connect``): the conditional ADD that records the socket
  (``store/connections.add_connection``), so the cap costs no extra call.
- **Chat frames per socket** (``chat.send``): a fixed-window counter in DynamoDB, one
  conditional UpdateItem per frame (:func:`chat_frame`); a socket's frames reach many
  containers.
- **HTTP calls per user** (:func:`http_call`): a token bucket in this container (no call)
  and a coarse shared counter per user and minute that each container adds its count to
  every :data:`SHARE_EVERY` calls it let through (1 UpdateItem then), so calls spread over
  many containers are caught too.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from chalicelib import runtime
from chalicelib.errors import TooFrequent
from chalicelib.store import limits as store

SHARE_EVERY = 25
"""A container adds a user's calls to the shared counter once per this many calls."""

SOCKETS_RETRY_S = 30
"""Retry-After of a refused ``$connect``: a slot frees when one of the user's sockets
closes, which nothing predicts."""


def chat_frame(connection_id: str, now: float | None = None) -> None:
    """Count one ``chat.send`` frame of a socket, or raise :class:`TooFrequent` (nothing
    counted) when the socket has sent its burst in this window. Windows last
    ``burst / per_second`` seconds and hold ``burst`` frames. 1 UpdateItem."""
    s = runtime.settings()
    burst = s.limit_chat_burst
    length = burst / s.limit_chat_per_second
    at = time.time() if now is None else now
    window = math.floor(at / length)
    ends = (window + 1) * length
    counted = store.take_chat_frame(connection_id, window, most=burst, expires=math.ceil(ends))
    if counted is None:
        raise TooFrequent(
            f"At most {burst} chat messages per {length:g} s on one connection; this one was "
            "not sent: send it again after retry_after seconds.",
            retry_after=math.ceil(ends - at),
        )


def too_many_sockets() -> TooFrequent:
    """The refusal of a ``$connect`` over :attr:`Settings.limit_sockets`."""
    most = runtime.settings().limit_sockets
    return TooFrequent(
        f"At most {most} live connections per user: close one first.",
        retry_after=SOCKETS_RETRY_S,
    )


@dataclass
class _Bucket:
    tokens: float
    at: float
    unshared: int = 0
    blocked_until: float = 0.0


_lock = threading.Lock()


def http_call(user_id: str, now: float | None = None) -> None:
    """Let one signed-in HTTP call of ``user_id`` through, or raise :class:`TooFrequent`.
    0 calls; 1 UpdateItem once every :data:`SHARE_EVERY` calls let through (the shared
    counter; like the per-container reads, left out of the route budgets)."""
    s = runtime.settings()
    rate = s.limit_http_per_minute / 60.0
    t = time.monotonic() if now is None else now
    buckets: runtime.Bounded[str, _Bucket] = runtime.get().memo("http_buckets", runtime.Bounded)
    with _lock:
        bucket = buckets.get(user_id)
        if bucket is None:
            bucket = buckets[user_id] = _Bucket(tokens=float(s.limit_http_burst), at=t)
        if t < bucket.blocked_until:
            raise _too_many_calls(bucket.blocked_until - t)
        bucket.tokens = min(float(s.limit_http_burst), bucket.tokens + (t - bucket.at) * rate)
        bucket.at = t
        if bucket.tokens < 1.0:
            raise _too_many_calls((1.0 - bucket.tokens) / rate)
        bucket.tokens -= 1.0
        bucket.unshared += 1
        share = bucket.unshared >= SHARE_EVERY
        if share:
            count, bucket.unshared = bucket.unshared, 0
    if share:
        _share(user_id, count, bucket, t)


def _share(user_id: str, count: int, bucket: _Bucket, t: float) -> None:
    """Add this container's ``count`` to the user's shared counter of this minute; past
    what one container could let through in a minute (burst + per minute), every container
    that sees it refuses the user until the minute ends."""
    s = runtime.settings()
    wall = time.time()
    minute = int(wall // 60)
    total = store.add_http_calls(user_id, minute, count, expires=(minute + 1) * 60)
    if total > s.limit_http_per_minute + s.limit_http_burst:
        with _lock:
            bucket.blocked_until = t + ((minute + 1) * 60 - wall)


def _too_many_calls(wait_s: float) -> TooFrequent:
    s = runtime.settings()
    return TooFrequent(
        f"At most {s.limit_http_per_minute} calls per minute per user (bursts of "
        f"{s.limit_http_burst}); this call did nothing: retry after the Retry-After seconds.",
        retry_after=math.ceil(wait_s),
    )
