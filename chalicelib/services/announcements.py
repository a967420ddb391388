"""Announcements: a message published to the announcements SNS topic reaches every
connected user live and the rest by push.

How "every user" is enumerated without a Scan: each device is also indexed in one of 16
shard partitions (``DEVICES#00..15`` on gsi1, see ``store/devices.py``), so the owners of
all devices are 16 paginated Queries. More audiences (e.g. users with a live socket but no
device) plug in with :func:`add_audience`. The recipients go through the ordinary events
port in chunks of :data:`CHUNK` as one ``announcement`` event (same id in every chunk): the
live sender delivers to sockets and hands the users without one to the push sender. Not
in the feed (``feed=False``): one feed item per user per announcement is not worth it.

Considered and not taken: subscribing every platform endpoint to the topic, so SNS fans
out natively. It needs no enumeration, but SNS would also push to users who are looking
at the app (no "live users get the frame, not a push"), mute settings could not apply,
and every token move or clean-up would have to keep subscriptions in step.

SNS retries a failed delivery: a claim item per SNS message id makes a redelivered message
change nothing (a failure releases the claim so the retry sends; a crash that could not
release it is retried once its lease runs out).

Message format on the topic: JSON ``{"title": ..., "body": ..., "data": {...}}`` or plain
text (the SNS ``Subject`` is then the title).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from chalicelib import ids
from chalicelib.services import events
from chalicelib.store import devices as repo

log = logging.getLogger("summon.announcements")

CHUNK = 100
LEASE_S = 300
Audience = Callable[[], Iterable[str]]
_audiences: list[tuple[str, Audience]] = [("devices", repo.device_owners)]


def add_audience(name: str, audience: Audience) -> None:
    """Register (once, by name) another source of announcement recipients."""
    if all(n != name for n, _ in _audiences):
        _audiences.append((name, audience))


def parse(subject: str | None, message: str) -> dict[str, Any]:
    """The announcement's ``title``/``body``/``data`` from a topic message. Pure."""
    try:
        doc = json.loads(message)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and ("body" in doc or "title" in doc):
        data = doc.get("data")
        return {
            "title": str(doc.get("title") or subject or "Summon"),
            "body": str(doc.get("body") or ""),
            "data": data if isinstance(data, dict) else {},
        }
    return {"title": subject or "Summon", "body": message.strip(), "data": {}}


def recipients() -> Iterator[str]:
    """Every user of every audience, each once."""
    seen: set[str] = set()
    for name, audience in list(_audiences):
        try:
            for user_id in audience():
                if user_id not in seen:
                    seen.add(user_id)
                    yield user_id
        except Exception:
            log.exception("announcement audience %s failed", name)
            raise


def broadcast(message_id: str, subject: str | None, message: str) -> int:
    """The topic handler's work; the number of recipients (0 for a duplicate delivery).
    DynamoDB: 1 conditional PutItem + 16 Queries (+ pages) + 1 UpdateItem, then the
    sinks' own costs per chunk."""
    if not repo.claim_announcement(message_id, LEASE_S):
        log.info("announcement %s already sent", message_id)
        return 0
    parsed = parse(subject, message)
    event_id = ids.new_id()
    data = {"id": message_id, **parsed}
    count = 0
    chunk: list[str] = []
    try:
        for user_id in recipients():
            chunk.append(user_id)
            if len(chunk) == CHUNK:
                _publish(event_id, data, chunk)
                count += len(chunk)
                chunk = []
        if chunk:
            _publish(event_id, data, chunk)
            count += len(chunk)
    except Exception:
        repo.release_announcement(message_id)  # let SNS's retry send it again
        raise
    repo.finish_announcement(message_id)
    log.info("announcement %s sent to %d users", message_id, count)
    return count


def _publish(event_id: str, data: dict[str, Any], users: list[str]) -> None:
    events.publish(
        events.Event(
            type="announcement", recipients=tuple(users), data=data, feed=False, id=event_id
        )
    )
