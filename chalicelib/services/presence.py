"""Connections and presence: ``$connect`` / ``$disconnect``.

A user may hold several sockets (devices). When the **first** one opens, and when the
**last** one closes, the counterparts of the user's recent conversations (the people they
chat with about jobs and quotes) get a ``presence`` frame ``{"user_id", "online"}``. The
first/last test reads the set the atomic ``ADD``/``DELETE`` returned (see
``store/connections.py``), so two devices connecting at once never both announce.

A socket found dead by a send (Gone) or expired is removed without a ``presence`` frame: on
AWS ``$disconnect`` is best effort, and the counterparts see the user offline at their next
``GET /conversations`` (``counterpart_online``).
"""

from __future__ import annotations

import time

from chalicelib import runtime
from chalicelib.schemas.realtime import PresenceData
from chalicelib.services import limits, live
from chalicelib.store import connections, realtime

COUNTERPARTS = 50
"""Presence goes to the counterparts of the user's 50 most recent conversations."""


def _announce(user_id: str, online: bool) -> None:
    others = [u for u in realtime.counterparts(user_id, COUNTERPARTS) if u != user_id]
    if others:
        data = PresenceData(user_id=user_id, online=online)
        live.send_to_users(others, live.frame("presence", data))


def connected(connection_id: str, user_id: str, endpoint: str) -> None:
    """Record the socket, or raise :class:`TooFrequent` (nothing recorded) when the user
    holds ``limit_sockets`` live sockets already. 1 UpdateItem + 1 PutItem; when it is the
    user's only live socket, + 1 Query (counterparts) + 1 BatchGetItem (their sockets)."""
    now = time.time()
    most = runtime.settings().limit_sockets
    recorded = connections.add_connection(connection_id, user_id, endpoint, now, most=most)
    if recorded is None:
        raise limits.too_many_sockets()
    sockets = [s for s in recorded if s.alive(now)]
    if [s.connection_id for s in sockets] == [connection_id]:
        _announce(user_id, online=True)


def disconnected(connection_id: str) -> None:
    """Forget the socket. 1 DeleteItem + 1 UpdateItem; when it was the user's last live
    socket, + 1 Query + 1 BatchGetItem."""
    runtime.get().owners.pop(connection_id, None)
    removed = connections.remove_connection(connection_id)
    if removed is None:
        return
    user_id, remaining = removed
    now = time.time()
    if not any(s.alive(now) for s in remaining):
        _announce(user_id, online=False)


def user_of(connection_id: str) -> str | None:
    """Who holds a connection: 0 calls when this container saw it before, else 1 GetItem.
    (A connection id is never reused, so the answer never changes.)"""
    owners = runtime.get().owners
    cached = owners.get(connection_id)
    if cached is not None:
        return cached
    record = connections.connection(connection_id)
    if record is None:
        return None
    owners[connection_id] = record.user_id
    return record.user_id
