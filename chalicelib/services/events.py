"""The single publishing port of domain events.

Every state change emits its events (:class:`Event`) through :func:`publish`, inside
:func:`batched` when it emits several (the sinks then get them together). The sinks app.py
wires into the runtime (``runtime.compose``) do the rest: the notification feed records
them (when ``feed`` and not ``recorded``), the live sender delivers them to the
recipients' sockets, and the offline handlers (push) reach the recipients with no live
socket. A failing sink or handler is logged and never undoes the state change that
emitted the event (the feed is the catch-up path)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from chalicelib import ids, runtime

log = logging.getLogger("summon.events")


@dataclass(frozen=True)
class Event:
    type: str
    recipients: tuple[str, ...]
    data: dict[str, Any]
    feed: bool = True
    """Whether it belongs in the recipients' notification feed at all."""
    recorded: bool = False
    """Its feed entries are already written, in the same transaction as the change that
    emitted it (the marketplace's unit of work, ADR 0012): the feed sink must not
    write them again. Only meaningful with ``feed``."""
    actor: str | None = None
    """The user who caused it (not part of the frame): they get it live on their other
    sockets, but never as a push."""
    read: Prefetched | None = field(default=None, compare=False, repr=False)
    """What the live sink would look up for it (``live.keys_for``), read ahead with the
    change that caused it: the sink then makes no look-up of its own."""
    id: str = field(default_factory=ids.new_id)
    at: str = field(default_factory=ids.iso)

    def frame(self) -> dict[str, Any]:
        """The server → client frame / feed entry of this event."""
        return {"type": self.type, "id": self.id, "at": self.at, "data": self.data}


Sink = Callable[[Sequence[Event]], None]
"""Takes the events of one change, in the order they were published (a single event
outside :func:`batched`), so it can look up what all their recipients need at once."""

Delivery = tuple[Event, Sequence[str]]
"""An event and those of its recipients it is to reach offline (no live socket took it)."""

Key = tuple[str, str]
"""A table item's (pk, sk)."""

Prefetched = Mapping[Key, Any]
"""Items an offline handler said it would need (its ``keys`` function), read ahead by the
live sink in the same look-up as the recipients' sockets: the item, or None when there is
none. A key that is absent was not read (the handler reads it itself)."""

OfflineHandler = Callable[[Sequence[Delivery], Prefetched], None]
KeysFor = Callable[[Sequence[Delivery]], Iterable[Key]]
"""The items an offline handler would read for these (event, candidate users) pairs."""

_local = threading.local()


def publish(event: Event) -> None:
    """Hand one event to every sink (inside :func:`batched`: at the end of the block)."""
    publish_many([event])


def publish_many(batch: Iterable[Event]) -> None:
    """Hand the events of one change to every sink together (inside :func:`batched`: at
    the end of the block, with the block's other events)."""
    pending = list(batch)
    buffer: list[Event] | None = getattr(_local, "buffer", None)
    if buffer is not None:
        buffer.extend(pending)
    elif pending:
        _dispatch(pending)


@contextmanager
def batched() -> Iterator[None]:
    """Hold the events published inside the block and hand them to the sinks together at
    its end, so one state change that tells several people several things costs each sink
    one round of look-ups (the feed: one BatchWriteItem of the entries not already
    written with their change, none for a marketplace change; live: one BatchGetItem of
    sockets; push: one BatchGetItem of settings and devices), not one per event. Nested
    blocks join the outer one. The events go out even when the block raises after them:
    they describe changes already committed."""
    if getattr(_local, "buffer", None) is not None:
        yield
        return
    _local.buffer = []
    try:
        yield
    finally:
        pending: list[Event] = _local.buffer
        _local.buffer = None
        if pending:
            _dispatch(pending)


def _dispatch(batch: list[Event]) -> None:
    for name, sink in list(runtime.get().sinks):
        try:
            sink(batch)
        except Exception:
            kinds = ", ".join(dict.fromkeys(e.type for e in batch))
            log.exception("event sink %s failed for %d events (%s)", name, len(batch), kinds)


def offline_keys(candidates: Sequence[Delivery]) -> list[Key]:
    """The items the offline handlers would read if ``candidates`` (each event with those
    of its recipients who might turn out to be offline) all were: for the live sink to read
    in its own look-up of sockets. Pure (no I/O)."""
    wanted: dict[Key, None] = {}
    for name, _, keys in list(runtime.get().offline):
        if keys is None or not candidates:
            continue
        try:
            wanted.update(dict.fromkeys(keys(candidates)))
        except Exception:
            log.exception("offline handler %s could not say what it needs", name)
    return list(wanted)


def deliver_offline_many(
    deliveries: Iterable[Delivery], prefetched: Prefetched | None = None
) -> None:
    """Hand the events of one change to the offline handlers together, each with its
    recipients who have no live socket (events with nobody offline are left out), and the
    items read ahead for them (:func:`offline_keys`), if any."""
    batch = [(event, list(users)) for event, users in deliveries if users]
    if not batch:
        return
    for name, handler, _ in list(runtime.get().offline):
        try:
            handler(batch, prefetched or {})
        except Exception:
            log.exception("offline handler %s failed for %d events", name, len(batch))
