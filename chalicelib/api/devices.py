"""Routes and handlers of the push capability: devices, the announcements topic and its
fan-out queue."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from chalice.app import Blueprint, SNSEvent, SQSEvent

from chalicelib import config, lazy
from chalicelib.schemas.common import Page
from chalicelib.schemas.devices import DeviceIn, DeviceOut
from chalicelib.web import Call, Reply, route

if TYPE_CHECKING:
    from chalicelib.services import announcements
    from chalicelib.services import devices as svc
else:  # imported on first use: a cold start of another capability skips them (lazy.py)
    announcements = lazy.module("chalicelib.services.announcements")
    svc = lazy.module("chalicelib.services.devices")

bp = Blueprint(__name__)
log = logging.getLogger("summon.announcements")


@route(bp, "POST /devices", body=DeviceIn, status=201, idempotent=True, calls=2, also=(200,))
def post_device(call: Call) -> Reply[DeviceOut]:
    """Register a push token (201 new, 200 already registered; moves between accounts)."""
    device, created = svc.register(call.principal, call.body)
    return Reply(status=201 if created else 200, body=device)


@route(bp, "GET /devices", calls=1)
def get_devices(call: Call) -> Page[DeviceOut]:
    """My push devices."""
    return Page[DeviceOut](items=svc.list_devices(call.principal))


@route(bp, "DELETE /devices/{device_id}", status=204, calls=2)
def delete_device(call: Call) -> Reply[None]:
    """Remove a push device."""
    svc.remove(call.principal, call.params["device_id"])
    return Reply(status=204)


@bp.on_sns_message(topic=config.import_time(config.ANNOUNCEMENTS_TOPIC))
def announcements_topic(event: SNSEvent) -> None:
    """Queue the announcement's fan-out, one message per shard (services/announcements.py)."""
    message_id = str(event.to_dict()["Records"][0]["Sns"]["MessageId"])
    announcements.start(message_id, event.subject, event.message)


@bp.on_sqs_message(
    queue=config.import_time(config.FANOUT_QUEUE), batch_size=1, maximum_concurrency=5
)
def announcement_pages(event: SQSEvent) -> None:
    """One page of an announcement's fan-out per invocation: its audience's sockets live,
    the rest by push (services/announcements.py). A message that is not a page is logged
    and dropped; a failure raises, so SQS redelivers that page (then dead-letters it)."""
    for record in event:
        try:
            page = announcements.Page.of(json.loads(record.body))
        except (ValueError, TypeError, KeyError, RecursionError):
            log.error("fan-out queue: not a page: %.200s", record.body)
            continue
        announcements.deliver_page(page)
