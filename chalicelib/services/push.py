"""Mobile push: the offline handler of the events port (app.py registers it).

The live sender hands every event whose recipients have no live WebSocket to
:func:`send_to_users`, with the settings and devices of those recipients already read in
its own BatchGetItem of sockets (:func:`keys_to_prefetch` says which: app.py registers it
with the handler), so push reads nothing for the events of a change. Only the important
types become a push (:data:`PUSH_TYPES`), and never one the user muted in
``settings.notifications.muted``. Each device is sent to on its own: an endpoint SNS
reports disabled or gone is forgotten (device row and endpoint deleted), any other failure
is logged, and neither stops the other devices or users.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib import observability
from chalicelib.adapters import sns
from chalicelib.services import devices
from chalicelib.services.events import Delivery, Event, Key, Prefetched
from chalicelib.store import devices as repo

log = logging.getLogger("summon.push")

PUSH_TYPES = frozenset(
    {
        "offer.new",
        "request.updated",
        "quote.new",
        "chat.message",
        "job.updated",
        "announcement",
        "export.ready",
    }
)
"""What becomes a push when the user has no live socket (the rest waits in the feed)."""

ID_KEYS = (
    "id",
    "request_id",
    "offer_id",
    "quote_id",
    "job_id",
    "conversation_id",
    "message_id",
    "media_id",
    "seq",
    "status",
)
"""Scalar fields copied into the push's custom data, so a tap opens the right screen."""

_STATUS_TEXT = {
    "accepted": "A provider accepted your request.",
    "scheduled": "Your job is scheduled.",
    "offered": "Your request was sent to providers nearby.",
    "en_route": "Your provider is on the way.",
    "arrived": "Your provider has arrived.",
    "in_progress": "The job has started.",
    "completed": "The job is complete. How did it go?",
    "cancelled": "It was cancelled.",
    "expired": "Nobody was available this time. Try again?",
}


def _find(data: Mapping[str, Any], *names: str) -> Any:
    """A field at the top of the event data or one level down (``{"job": {...}}``)."""
    for name in names:
        if data.get(name) not in (None, ""):
            return data[name]
    for value in data.values():
        if isinstance(value, Mapping):
            for name in names:
                if value.get(name) not in (None, ""):
                    return value[name]
    return None


def _text(value: Any, default: str) -> str:
    return str(value) if isinstance(value, str | int | float) and str(value).strip() else default


def notification_for(event: Event, badge: int | None = None) -> sns.Notification | None:
    """What a phone shows for ``event``, or None when it is not a push type. Pure."""
    if event.type not in PUSH_TYPES:
        return None
    d = event.data
    status = _text(_find(d, "status", "state", "to"), "")
    title: str
    body: str
    collapse: str | None
    if event.type == "offer.new":
        category = _text(_find(d, "category_name", "category"), "")
        title = f"New job offer: {category}" if category else "New job offer"
        body = _text(_find(d, "description"), "A customer near you needs help. Tap to see it.")
        distance = _find(d, "distance_km")
        if isinstance(distance, int | float) and not isinstance(distance, bool):
            body = f"{body} · {distance:.1f} km away"
        collapse = f"offer:{_text(_find(d, 'offer_id', 'id'), event.id)}"
    elif event.type == "request.updated":
        title = "Your request"
        body = _STATUS_TEXT.get(status, f"Your request is now {status}." if status else "Updated.")
        collapse = f"request:{_text(_find(d, 'request_id', 'id'), event.id)}"
    elif event.type == "quote.new":
        price = _find(d, "price", "amount")
        if isinstance(price, Mapping):
            price = f"{price.get('amount')} {price.get('currency', '')}".strip()
        title = "New quote"
        body = f"A provider quoted {price}." if price is not None else "A provider sent a quote."
        collapse = f"quote:{_text(_find(d, 'quote_id', 'id'), event.id)}"
    elif event.type == "chat.message":
        title = _text(_find(d, "sender_name"), "New message")
        text = _find(d, "text")
        body = _text(text, "📷 Photo" if _find(d, "media_id") else "New message")
        collapse = f"chat:{_text(_find(d, 'conversation_id'), event.id)}"
    elif event.type == "job.updated":
        title = "Your job"
        body = _STATUS_TEXT.get(status, f"The job is now {status}." if status else "Updated.")
        collapse = f"job:{_text(_find(d, 'job_id', 'id'), event.id)}"
    elif event.type == "export.ready":
        title = "Your data export is ready"
        body = "Download it from the app within 7 days."
        collapse = f"export:{_text(d.get('id'), event.id)}"
    else:  # announcement
        title = _text(d.get("title"), "Summon")
        body = _text(d.get("body"), "")
        collapse = f"announcement:{_text(d.get('id'), event.id)}"
    data = {"event_id": event.id}
    for key in ID_KEYS:
        value = _find(d, key)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            data[key] = str(value)
    return sns.Notification(
        title=title, body=body, type=event.type, data=data, collapse_key=collapse, badge=badge
    )


def keys_to_prefetch(deliveries: Sequence[Delivery]) -> list[Key]:
    """The items :func:`send_to_users` would read for these deliveries (each user's
    settings and push devices, for the push types only), for the live sink to read with the
    sockets. No I/O."""
    return repo.push_profile_keys(
        u for event, users in deliveries if event.type in PUSH_TYPES for u in users
    )


def send_to_users(deliveries: Sequence[Delivery], prefetched: Prefetched | None = None) -> None:
    """The offline handler: push each event to every device of its users that did not mute
    its type, for all the events of one change together. DynamoDB: each user's settings
    and push devices (:func:`repo.push_profiles`) come from ``prefetched`` (the live
    sink's look-up: 0 calls), else 1 BatchGetItem per 50 users + 1 TransactWriteItems per
    dead endpoint. SNS: 1 Publish per device and event."""
    wanted: list[tuple[Event, sns.Notification, list[str]]] = []
    for event, user_ids in deliveries:
        notification = notification_for(event)
        users = list(dict.fromkeys(user_ids))
        if notification is not None and users:
            wanted.append((event, notification, users))
    if not wanted:
        return
    profiles = repo.push_profiles((u for _, _, users in wanted for u in users), prefetched)
    forgotten: set[str] = set()
    sent = 0
    for event, notification, users in wanted:
        for user_id in users:
            profile = profiles.get(user_id)
            if profile is None or event.type in profile.muted:
                continue
            for device in profile.devices:
                if device.device_id in forgotten:
                    continue
                try:
                    sns.send(device.endpoint_arn, device.platform, notification)
                except sns.EndpointGone:
                    log.info("push endpoint of device %s is gone; forgetting it", device.device_id)
                    forgotten.add(device.device_id)
                    try:
                        devices.forget(device)
                    except Exception:
                        log.exception("device %s could not be forgotten", device.device_id)
                except Exception:
                    log.exception("push %s to device %s failed", event.id, device.device_id)
                else:
                    sent += 1
    if sent:
        observability.count("PushesSent", sent)
