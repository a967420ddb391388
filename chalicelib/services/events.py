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
_sinks: list[tuple[str, Sink]] = []


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
