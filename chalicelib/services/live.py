"""Live delivery: frames to every live socket of a user, the ``live`` event sink, the
offline fallback, pages of broadcasts (announcements), and live job location.

:func:`deliver` is registered in ``app.py`` as the ``live`` sink of the events port: every
domain event (``offer.new``, ``job.updated``, ``chat.message`` ...) reaches every live
connection of each recipient as its frame (``Event.frame()``); recipients none of whose
sockets took it go to :func:`events.deliver_offline_many` (mobile push), except for the
ephemeral types (:data:`EPHEMERAL`) and the user who caused the event (``Event.actor``,
``data.sender_id`` or ``data.actor_id``: nobody gets a push about their own doing, and
push looks nobody up for them).

Cost of one delivery (all the events of one change, :func:`events.batched`): 1 BatchGetItem
(per 100 keys) of the sockets of every recipient *and* of what the offline handler would
need for the recipients it could reach (:func:`events.offline_keys`: push's settings and
devices of each non-actor recipient of a push type), so a recipient found offline costs
no further read; then one ``@connections`` POST per socket and event, the sockets of an
event in parallel. A socket that answers Gone (or has expired) is
forgotten: 1 UpdateItem per user + 1 DeleteItem per socket.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from chalicelib import ids, runtime
from chalicelib.adapters import websocket
from chalicelib.domain.jobs import TERMINAL_STATES, JobState
from chalicelib.errors import Conflict, Forbidden, NotFound, TooFrequent
from chalicelib.schemas.realtime import JobLocation, LocationFrame
from chalicelib.services import events
from chalicelib.store import connections as store
from chalicelib.store import keys, locations

log = logging.getLogger("summon.live")

EPHEMERAL = frozenset({"chat.typing", "chat.read", "presence", "job.location"})
"""Frame types that only make sense live: never handed to the offline (push) handlers."""

ACTOR_FIELDS = ("sender_id", "actor_id")
"""Fields of ``Event.data`` naming the user who caused the event (no push to them)."""


GONE_GRACE_S = 10.0
"""A socket is recorded during its ``$connect``, before API Gateway lets anyone send to it:
until then ``@connections`` answers Gone. So Gone only removes sockets older than this;
a young one just misses the frame (and is cleaned up by its ``$disconnect`` if it really
is gone)."""


def sender() -> websocket.Sender:
    """This container's ``@connections`` sender (the runtime's ``sender``; tests:
    ``runtime.use(sender=fake)``)."""
    sender: websocket.Sender = runtime.get().memo("sender", websocket.ApiGatewaySender)
    return sender


def frame(type_: str, data: BaseModel) -> dict[str, Any]:
    """A server → client frame that is not a domain event (same shape as ``Event.frame``);
    ``data`` is its model (``schemas/realtime.py``: ``frames()``)."""
    body = data.model_dump(mode="json")
    return {"type": type_, "id": ids.new_id(), "at": ids.iso(), "data": body}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


# --- sending --------------------------------------------------------------------------


def send_to_users(user_ids: Iterable[str], payload: dict[str, Any]) -> set[str]:
    """Send one frame to every live socket of each user; the users at least one socket of
    whom took it. 1 BatchGetItem per 100 users (+ cleanup of dead sockets)."""
    live, dead, _ = _sockets_of(user_ids)
    reached, gone = _send_sockets([s for socks in live.values() for s in socks], payload)
    if gone or dead:
        _forget([*gone, *dead])
    return reached


def _sockets_of(
    user_ids: Iterable[str], extra: Sequence[events.Key] = ()
) -> tuple[dict[str, list[store.Socket]], list[store.Socket], events.Prefetched]:
    """The live sockets of each user (users with none are absent), the expired ones, and
    the items at ``extra`` read in the same request. 1 BatchGetItem per 100 keys."""
    found, prefetched = store.sockets_and_items(user_ids, extra)
    return (*_split(found), prefetched)


def _split(
    found: dict[str, list[store.Socket]],
) -> tuple[dict[str, list[store.Socket]], list[store.Socket]]:
    """The live sockets of each user (users with none are absent) and the expired ones."""
    now = time.time()
    live: dict[str, list[store.Socket]] = {}
    dead: list[store.Socket] = []
    for user_id, sockets in found.items():
        for sock in sockets:
            if sock.alive(now):
                live.setdefault(user_id, []).append(sock)
            else:
                dead.append(sock)
    return live, dead


def _send_sockets(
    live: list[store.Socket], payload: dict[str, Any]
) -> tuple[set[str], list[store.Socket]]:
    """One frame to these sockets in parallel: the users reached, and the sockets that
    answered Gone (older than :data:`GONE_GRACE_S`) for the caller to forget."""
    if not live:
        return set(), []
    by_target = {websocket.Target(s.connection_id, s.endpoint): s for s in live}
    result = sender().send(list(by_target), _encode(payload))
    now = time.time()
    gone = [s for s in (by_target[t] for t in result.gone) if s.connected_for(now) > GONE_GRACE_S]
    return {by_target[t].user_id for t in result.delivered}, gone


def _forget(sockets: list[store.Socket]) -> None:
    """Best effort: a failed clean-up is retried by the next send (or TTL), and must never
    keep a frame from the others or an event from the offline handlers."""
    try:
        store.drop_sockets(sockets)
    except Exception:
        log.exception("could not forget %d dead sockets", len(sockets))


def close_user_sockets(user_id: str) -> int:
    """Close every socket of the user and forget them; how many were open. 1 BatchGetItem
    + 1 write per socket."""
    socks = store.sockets_of([user_id]).get(user_id, [])
    closed = sender().close([websocket.Target(s.connection_id, s.endpoint) for s in socks])
    _forget(socks)
    return closed


def online(user_ids: Iterable[str]) -> set[str]:
    """The users with at least one live (unexpired) socket. 1 BatchGetItem per 100 users."""
    return set(_sockets_of(user_ids)[0])


def send_to_connection(connection_id: str, endpoint: str, payload: dict[str, Any]) -> bool:
    """One frame to one socket (replies: ``pong``, ``error``, acks). 0 DynamoDB calls."""
    target = websocket.Target(connection_id, endpoint)
    return bool(sender().send([target], _encode(payload)).delivered)


def _actors(event: events.Event) -> set[str | None]:
    return {event.actor, *(event.data.get(f) for f in ACTOR_FIELDS)}


def _candidates(batch: Sequence[events.Event]) -> list[events.Delivery]:
    """Each stored event with those of its recipients push could reach (not its actors)."""
    candidates: list[events.Delivery] = []
    for event in batch:
        if event.type not in EPHEMERAL:
            actors = _actors(event)
            people = [u for u in dict.fromkeys(event.recipients) if u not in actors]
            if people:
                candidates.append((event, people))
    return candidates


def keys_for(batch: Sequence[events.Event]) -> list[events.Key]:
    """The items :func:`deliver` looks up for these events: every recipient's sockets and
    what push would need for those it could reach. A change that reads them ahead (in a
    look-up it makes anyway) passes them as each event's ``read``. No I/O."""
    users = (u for event in batch for u in event.recipients)
    return [*store.sockets_keys(users), *events.offline_keys(_candidates(batch))]


def _read_ahead(
    batch: Sequence[events.Event],
) -> tuple[dict[str, list[store.Socket]], list[store.Socket], events.Prefetched] | None:
    """The sockets (live, expired) and push's items from the events' ``read``, or None
    when some event has none or lacks a recipient's sockets."""
    merged: dict[events.Key, Any] = {}
    for event in batch:
        if event.read is None:
            return None
        merged.update(event.read)
    found = store.sockets_in(merged, (u for event in batch for u in event.recipients))
    return None if found is None else (*_split(found), merged)


def deliver(batch: Sequence[events.Event]) -> None:
    """The ``live`` sink: each event's frame to its recipients' sockets, in order, and the
    recipients none of whose sockets took it to the offline handlers (push), all the
    events of one change together. 1 BatchGetItem (per 100 keys) for the sockets of every
    recipient of every event and what push would need for those it could reach
    (:func:`keys_for`; 0 when every event carries them as ``read``), then the sends; dead
    sockets are forgotten once."""
    ahead = _read_ahead(batch)
    if ahead is not None:
        live, dead, prefetched = ahead
    else:
        live, dead, prefetched = _sockets_of(
            (u for event in batch for u in event.recipients),
            events.offline_keys(_candidates(batch)),
        )
    gone: dict[str, store.Socket] = {}
    offline: list[events.Delivery] = []
    for event in batch:
        people = list(dict.fromkeys(event.recipients))
        targets = [s for u in people for s in live.get(u, ()) if s.connection_id not in gone]
        reached, lost = _send_sockets(targets, event.frame())
        gone.update((s.connection_id, s) for s in lost)
        if event.type in EPHEMERAL:
            continue
        actors = _actors(event)
        missed = [u for u in people if u not in reached and u not in actors]
        if missed:
            offline.append((event, missed))
    if gone or dead:
        _forget([*gone.values(), *dead])
    events.deliver_offline_many(offline, prefetched)


def send_to_sockets(sockets: Sequence[store.Socket], payload: dict[str, Any]) -> set[str]:
    """One frame to these sockets in parallel (a page of a broadcast: announcements); the
    users reached. Expired sockets and those that answer Gone are forgotten (1 UpdateItem per
    user + 1 DeleteItem per socket); no other DynamoDB call."""
    now = time.time()
    live = [s for s in sockets if s.alive(now)]
    dead = [s for s in sockets if not s.alive(now)]
    reached, gone = _send_sockets(live, payload)
    if gone or dead:
        _forget([*gone, *dead])
    return reached


# --- live location --------------------------------------------------------------------

LOCATION_INTERVAL_MS = 1000
"""At most one position per job per second is kept and forwarded; faster updates are
refused with an ``error`` frame (status 429) and dropped."""

LOCATION_STATES = frozenset({JobState.EN_ROUTE, JobState.ARRIVED})


@dataclass(frozen=True)
class _Job:
    customer_id: str
    provider_id: str | None
    state: str


def _job_of_participant(user_id: str, job_id: str) -> _Job:
    job = locations.job_parties(job_id)
    if job is None or user_id not in (job.customer_id, job.provider_id):
        raise NotFound(f"No job {job_id} of yours.")
    return _Job(job.customer_id, job.provider_id, job.state)


def update_location(user_id: str, update: LocationFrame) -> JobLocation:
    """``location.update`` from the job's provider while it is ``en_route`` or ``arrived``:
    keep it as the job's last position and send ``job.location`` to the customer only.
    1 GetItem (job) + 1 conditional PutItem (throttle) + 1 BatchGetItem (the customer's
    sockets)."""
    job = _job_of_participant(user_id, update.job_id)
    if user_id != job.provider_id:
        raise Forbidden("Only the job's provider sends its location.")
    if job.state not in LOCATION_STATES:
        raise Conflict(
            f"The job is {job.state}: location is shared only while it is en_route or arrived."
        )
    now_ms = int(time.time() * 1000)
    item = locations.LocationItem(
        *keys.job_location(update.job_id),
        job_id=update.job_id,
        provider_id=user_id,
        lat=update.lat,
        lng=update.lng,
        heading=update.heading,
        speed_mps=update.speed_mps,
        accuracy_m=update.accuracy_m,
        at_ms=now_ms,
        updated_at=ids.iso(),
    )
    if not locations.put_location(item, LOCATION_INTERVAL_MS):
        raise TooFrequent(
            f"Location updates are kept at most once every {LOCATION_INTERVAL_MS} ms per job; "
            "this one was dropped."
        )
    out = _location(item)
    send_to_users([job.customer_id], frame("job.location", out))
    return out


def _location(item: locations.LocationItem) -> JobLocation:
    return JobLocation(
        job_id=item.job_id,
        lat=float(item.lat),
        lng=float(item.lng),
        heading=None if item.heading is None else float(item.heading),
        speed_mps=None if item.speed_mps is None else float(item.speed_mps),
        accuracy_m=None if item.accuracy_m is None else float(item.accuracy_m),
        at=str(item.updated_at),
    )


def last_location(user_id: str, job_id: str) -> JobLocation:
    """The job's last position, for its customer or provider. 1 GetItem (job) + 1 GetItem."""
    job = _job_of_participant(user_id, job_id)
    if job.state in TERMINAL_STATES:  # the provider's position is the job's, not the customer's
        raise NotFound(f"Job {job_id} ended: its provider's position is not shared any more.")
    item = locations.location(job_id)
    if item is None:
        raise NotFound(f"Job {job_id} has no position yet.")
    return _location(item)
