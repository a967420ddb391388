"""Routes and handlers of the media capability: presigned uploads, media reads, and the
media queue's handler (S3 object-created/removed notifications go S3 → SQS → here, the
path ``chalice deploy``, ``chalice package`` and CDK all support; ``@app.on_s3_event``
cannot be packaged for CloudFormation)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from chalice.app import Blueprint, SQSEvent

from chalicelib import config, lazy
from chalicelib.schemas.media import MediaOut, UploadIn, UploadOut
from chalicelib.web import Call, route

if TYPE_CHECKING:
    from chalicelib.services import media as svc
else:  # imported on first use: a cold start of another capability skips it (lazy.py)
    svc = lazy.module("chalicelib.services.media")

bp = Blueprint(__name__)
log = logging.getLogger("summon.media")


@route(bp, "POST /uploads", body=UploadIn, status=201, idempotent=True, calls=1)
def post_upload(call: Call) -> UploadOut:
    """Start an upload: a presigned POST (key, type and size fixed by its policy)."""
    return svc.start_upload(call.principal, call.body)


@route(bp, "GET /media/{media_id}", calls=1)
def get_media(call: Call) -> MediaOut:
    """A media's status and time-limited URLs (owner, or participants it is shared with)."""
    return svc.get(call.principal, call.params["media_id"])


def s3_records(body: str) -> list[dict[str, Any]]:
    """The S3 records of one queue message (S3 → SQS directly, or through SNS); the
    ``s3:TestEvent`` S3 sends when notifications are configured has none."""
    doc = json.loads(body)
    if isinstance(doc, dict) and doc.get("Type") == "Notification" and "Message" in doc:
        doc = json.loads(doc["Message"])
    if not isinstance(doc, dict):
        return []
    return [r for r in doc.get("Records", []) if isinstance(r, dict) and "s3" in r]


@bp.on_sqs_message(queue=config.import_time(config.MEDIA_QUEUE), batch_size=5)
def media_events(event: SQSEvent) -> None:
    """Process each stored/removed original. A message that is not an S3 notification is
    logged and dropped; a processing error fails the batch, which SQS redelivers (and
    dead-letters after the queue's maxReceiveCount): processing is idempotent."""
    for record in event:
        try:
            records = s3_records(record.body)
        except (ValueError, TypeError, RecursionError):
            log.error("media queue: not an S3 notification: %.200s", record.body)
            continue
        for s3_record in records:
            name = str(s3_record.get("eventName", ""))
            key = unquote_plus(str(s3_record["s3"]["object"]["key"]))
            outcome = svc.on_storage_event(name, key)
            log.info("media event %s %s: %s", name, key, outcome)
