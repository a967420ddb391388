"""Announcements: a message published to the announcements SNS topic reaches every
connected user live and the rest by push.

1. Live: the real-time capability's broadcast (wired by app.py as the runtime's
   ``live_broadcast``) sends the ``announcement`` frame to every live socket (its
   connection index is sharded, no Scan) and answers the users it reached.
2. Push: every user who has a device and was not reached live gets it through the events
   port's offline handlers (the push sender, which applies mute settings). Device owners
   are enumerated without a Scan: each device is also indexed in one of 16 shard
   partitions (``DEVICES#00..15`` on gsi1, see ``store/devices.py``): 16 paginated Queries.

Without a live broadcast registered nobody counts as live and every device owner gets the
push. Not in the feed (``feed=False``): one feed item per user per announcement is not
worth it.

SNS retries a failed delivery: a claim item per SNS message id makes a redelivered message
change nothing (a failure releases the claim so the retry sends; a crash that could not
release it is retried once its lease runs out).

Message format on the topic: JSON ``{"title": ..., "body": ..., "data": {...}}`` or plain
text (the SNS ``Subject`` is then the title).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from chalicelib import ids, runtime
from chalicelib.schemas.realtime import AnnouncementData
from chalicelib.services import events
from chalicelib.store import devices as repo

log = logging.getLogger("summon.announcements")

CHUNK = 100
LEASE_S = 300


def parse(subject: str | None, message: str) -> dict[str, Any]:
    """The announcement's ``title``/``body``/``data`` from a topic message. Pure."""
    try:
        doc = json.loads(message)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and ("body" in doc or "title" in doc):
        data = doc.get("data")
        return {
            "title": str(doc.get("title") or subject or "Summon"),
            "body": str(doc.get("body") or ""),
            "data": data if isinstance(data, dict) else {},
        }
    return {"title": subject or "Summon", "body": message.strip(), "data": {}}


def _chunks(user_ids: Iterable[str], skip: set[str]) -> Iterator[tuple[str, ...]]:
    chunk: list[str] = []
    for user_id in user_ids:
        if user_id in skip:
            continue
        chunk.append(user_id)
        if len(chunk) == CHUNK:
            yield tuple(chunk)
            chunk = []
    if chunk:
        yield tuple(chunk)


def broadcast(message_id: str, subject: str | None, message: str) -> int:
    """The topic handler's work; the number of users reached live or handed to push (0 for
    a duplicate delivery). DynamoDB: 1 conditional PutItem + 16 Queries on the device
    shards (+ pages) + 1 UpdateItem, plus the live broadcast's and push's own costs."""
    if not repo.claim_announcement(message_id, LEASE_S):
        log.info("announcement %s already sent", message_id)
        return 0
    event_id = ids.new_id()
    data = AnnouncementData.model_validate(
        {"id": message_id, **parse(subject, message)}
    ).model_dump()

    def event(recipients: tuple[str, ...]) -> events.Event:
        return events.Event(
            type="announcement", recipients=recipients, data=data, feed=False, id=event_id
        )

    count = 0
    try:
        reached: set[str] = set()
        live = runtime.get().live_broadcast
        if live is not None:
            reached = live(event(()).frame())
            count += len(reached)
        for chunk in _chunks(repo.device_owners(), reached):
            events.deliver_offline(event(chunk), list(chunk))
            count += len(chunk)
    except Exception:
        repo.release_announcement(message_id)  # let SNS's retry send it again
        raise
    repo.finish_announcement(message_id)
    log.info("announcement %s reached %d users", message_id, count)
    return count
