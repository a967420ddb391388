"""The single publishing port of domain events.

Every state change emits one :class:`Event` through :func:`publish`. Sinks added with
:func:`add_sink` do the rest: the notification feed records it (when ``feed``), the live
sender delivers it to the recipients' sockets, and the push sender reaches the ones with
no live socket. A failing sink is logged and never undoes the state change that emitted
the event (the feed is the catch-up path)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import ids

log = logging.getLogger("summon.events")


@dataclass(frozen=True)
class Event:
    type: str
    recipients: tuple[str, ...]
    data: dict[str, Any]
    feed: bool = True
    id: str = field(default_factory=ids.new_id)
    at: str = field(default_factory=ids.iso)

    def frame(self) -> dict[str, Any]:
        """The server → client frame / feed entry of this event."""
        return {"type": self.type, "id": self.id, "at": self.at, "data": self.data}


Sink = Callable[[Event], None]
OfflineHandler = Callable[[Event, list[str]], None]
_sinks: list[tuple[str, Sink]] = []
_offline: list[tuple[str, OfflineHandler]] = []


def add_sink(name: str, sink: Sink) -> None:
    """Register a sink once (by name); the composition root (app.py) calls this."""
    if all(n != name for n, _ in _sinks):
        _sinks.append((name, sink))


def publish(event: Event) -> None:
    for name, sink in list(_sinks):
        try:
            sink(event)
        except Exception:
            log.exception("event sink %s failed for %s %s", name, event.type, event.id)


def add_offline_handler(name: str, handler: OfflineHandler) -> None:
    """Register (once, by name) what happens to an event for users with no live connection
    (the push sender). The live sink calls :func:`deliver_offline`."""
    if all(n != name for n, _ in _offline):
        _offline.append((name, handler))


def deliver_offline(event: Event, user_ids: list[str]) -> None:
    """Hand an event to the offline handlers for ``user_ids`` (who have no live socket)."""
    if not user_ids:
        return
    for name, handler in list(_offline):
        try:
            handler(event, user_ids)
        except Exception:
            log.exception("offline handler %s failed for %s %s", name, event.type, event.id)
