"""Announcements: a message on the announcements topic reaches its audience's connected
users live and the rest by push, one bounded page per invocation.

1. The topic's handler (:func:`start`) enqueues one message per shard of each of two
   indexes on the fan-out queue (``SUMMON_FANOUT_QUEUE``): the 16 shards of the live
   connections (``CONNS#00..15``, part ``live-<nn>``) and the 16 of the push devices
   (``DEVICES#00..15``, part ``push-<nn>``). 0 DynamoDB calls; 4 SendMessageBatch.
2. The queue's consumer (:func:`deliver_page`) takes one page: claims it, reads at most
   :data:`PAGE` items of its shard, enqueues the shard's next page (if any) *before*
   delivering (so a shard's pages are delivered in parallel, each by its own invocation),
   delivers, and marks the page done.

   * ``push-<nn>`` page: the owners of up to 100 devices; with an audience other than
     ``all``, their profiles' roles (1 BatchGetItem) keep its members; those get the
     ``announcement`` event through the live sink (``live.deliver``: 1 BatchGetItem per
     100 keys of their sockets and push settings and devices, 3 keys a user), which sends
     the frame to every socket of theirs and pushes to whoever no socket took it.
   * ``live-<nn>`` page: up to 100 sockets; their users' profiles and push items (1
     BatchGetItem per 50 users) keep the audience's users *without* a push device (a
     device owner's sockets are its ``push`` page's to reach, so nobody gets it twice);
     their sockets in this page get the frame.

So one invocation makes at most 2 + 1 + 4 = 7 DynamoDB calls on a ``push`` page and
2 + 1 + 2 on a ``live`` page, plus the clean-up of sockets found dead and of push
endpoints found gone, whatever the number of users.

Audience: ``all`` (everyone with a live socket or a push device), ``customers`` or
``providers``: users whose profile's roles (``UserItem.roles``, written by
``POST /me/roles`` and ``GET /me``) hold that group; a user with both roles is in both.

Retries: each page is claimed by a conditional write keyed by the announcement (the SNS
message id), its part and its page number, so a redelivered message or a second copy of
the topic's message changes nothing; a page that fails (a read, or enqueuing the next
page) releases its claim and raises, and SQS redelivers that page alone (then its
dead-letter queue). A crash after sending and before marking the page done re-sends that
one page once its lease (:data:`LEASE_S`) has run out.

Message format on the topic: JSON ``{"title": ..., "body": ..., "audience"?: ...,
"data": {...}}`` (``audience`` also read from ``data.audience``, as ``POST
/admin/announcements`` sends it; default ``all``) or plain text (the SNS ``Subject`` is
then the title).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from typing import Any

from chalicelib import runtime
from chalicelib.adapters import sqs
from chalicelib.auth import CUSTOMERS, PROVIDERS
from chalicelib.schemas.realtime import AnnouncementData
from chalicelib.services import events, live
from chalicelib.store import connections as sockets_repo
from chalicelib.store import devices as repo
from chalicelib.store import keys

log = logging.getLogger("summon.announcements")

PAGE = 100
"""Items (devices or sockets) one invocation reads and delivers to."""
LEASE_S = 45
"""How long a claimed page is another copy's to skip: longer than an invocation may run
(30 s), shorter than the queue's visibility timeout, so a crashed page's redelivery
finds its claim expired."""
AUDIENCES = {"all": None, "customers": CUSTOMERS, "providers": PROVIDERS}
"""Audience → the role (Cognito group) its members hold (None: everyone)."""
INDEXES = {"live": keys.CONNECTION_SHARDS, "push": keys.DEVICE_SHARDS}
"""The two indexes a fan-out walks and their shards."""


def parse(subject: str | None, message: str) -> dict[str, Any]:
    """The announcement's ``title``/``body``/``data``/``audience`` from a topic message.
    Pure."""
    try:
        doc = json.loads(message)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, dict) and ("body" in doc or "title" in doc):
        data = doc.get("data")
        data = data if isinstance(data, dict) else {}
        return {
            "title": str(doc.get("title") or subject or "Summon"),
            "body": str(doc.get("body") or ""),
            "data": data,
            "audience": str(doc.get("audience") or data.get("audience") or "all"),
        }
    return {"title": subject or "Summon", "body": message.strip(), "data": {}, "audience": "all"}


@dataclass(frozen=True)
class Page:
    """One message of the fan-out queue: a page of one shard of one index."""

    id: str
    """The announcement (the topic message's id)."""
    event: dict[str, Any]
    """The ``announcement`` event every page sends: ``id``, ``at``, ``data``."""
    audience: str
    index: str
    shard: int
    page: int = 0
    cursor: dict[str, Any] | None = None
    skip: str | None = None
    """``push`` pages: the previous page's last device owner (already reached)."""

    @property
    def part(self) -> str:
        return f"{self.index}-{self.shard:02d}"

    @classmethod
    def of(cls, body: dict[str, Any]) -> Page:
        """Raises ValueError (or KeyError, TypeError) for a message that is not a page."""
        page = cls(**body)
        if page.index not in INDEXES or page.audience not in AUDIENCES:
            raise ValueError(f"not a fan-out page: {page.index} / {page.audience}")
        if not 0 <= int(page.shard) < INDEXES[page.index]:
            raise ValueError(f"no shard {page.shard} of {page.index}")
        return page


def start(message_id: str, subject: str | None, message: str) -> int:
    """The topic handler's work: one page message per shard of each index on the fan-out
    queue; how many (0 for an audience that does not exist, which is logged and dropped).
    0 DynamoDB calls; 1 SendMessageBatch per 10 messages (+1 GetQueueUrl per container)."""
    note = parse(subject, message)
    audience = note.pop("audience")
    if audience not in AUDIENCES:
        log.error("announcement %s: no audience %r; dropped", message_id, audience)
        return 0
    data = AnnouncementData.model_validate({"id": message_id, **note}).model_dump()
    event = events.Event(type="announcement", recipients=(), data=data)
    frame = {"id": event.id, "at": event.at, "data": event.data}
    pages = [
        Page(message_id, frame, audience, index, shard)
        for index, shards in INDEXES.items()
        for shard in range(shards)
    ]
    sqs.send_all(runtime.settings().fanout_queue, [asdict(p) for p in pages])
    log.info("announcement %s to %s: %d shards queued", message_id, audience, len(pages))
    return len(pages)


def deliver_page(page: Page) -> int:
    """The fan-out queue's consumer, one page (module doc): the users it reached live or
    handed to push (0 for a page already sent). Raises (the claim released) when it could
    not read its page or enqueue the next one, for SQS to redeliver it."""
    if not repo.claim_page(page.id, page.part, page.page, LEASE_S):
        log.info("announcement %s %s page %d already sent", page.id, page.part, page.page)
        return 0
    try:
        count = _push_page(page) if page.index == "push" else _live_page(page)
    except Exception:
        repo.release_page(page.id, page.part, page.page)
        raise
    repo.finish_page(page.id, page.part, page.page)
    return count


def _next(page: Page, cursor: dict[str, Any] | None, skip: str | None = None) -> None:
    if cursor:
        after = replace(page, page=page.page + 1, cursor=cursor, skip=skip)
        sqs.send_all(runtime.settings().fanout_queue, [asdict(after)])


def _event(page: Page, recipients: list[str]) -> events.Event:
    return events.Event(
        type="announcement",
        recipients=tuple(recipients),
        data=page.event["data"],
        feed=False,
        id=page.event["id"],
        at=page.event["at"],
    )


def _push_page(page: Page) -> int:
    """Device owners: live to their sockets, push to those no socket took it."""
    owners, cursor, last = repo.owner_page(page.shard, PAGE, page.cursor, page.skip)
    _next(page, cursor, last)
    role = AUDIENCES[page.audience]
    if role is not None and owners:
        profiles = repo.audience_profiles(owners, devices=False)
        owners = [u for u in owners if role in profiles[u][0]]
    if owners:
        live.deliver([_event(page, owners)])
    return len(owners)


def _live_page(page: Page) -> int:
    """Sockets of the audience's users who have no push device (the others are reached
    by their ``push`` page)."""
    found, cursor = sockets_repo.connection_page(page.shard, PAGE, page.cursor)
    _next(page, cursor)
    if not found:
        return 0
    role = AUDIENCES[page.audience]
    profiles = repo.audience_profiles((s.user_id for s in found), devices=True)
    targets = [
        s
        for s in found
        if not profiles[s.user_id][1] and (role is None or role in profiles[s.user_id][0])
    ]
    return len(live.send_to_sockets(targets, _event(page, []).frame()))
