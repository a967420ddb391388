"""Routes and handler of data exports (GDPR art. 20): start an export, read its status and
download URL, and the exports queue's handler that builds the archive
(``chalicelib/services/exports.py``)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from chalice.app import Blueprint, SQSEvent

from chalicelib import config, lazy
from chalicelib.schemas.exports import ExportOut
from chalicelib.web import Call, route

if TYPE_CHECKING:
    from chalicelib.services import exports as svc
else:  # imported on first use (runtime.py: late imports)
    svc = lazy.module("chalicelib.services.exports")

bp = Blueprint(__name__)
log = logging.getLogger("summon.exports")


@route(bp, "POST /me/exports", status=202, idempotent=True, calls=3)
def post_export(call: Call) -> ExportOut:
    """Export my data: one zip of JSON files and my uploads, built in the background (export.ready
    when done); while one is being built, that one is answered."""
    return svc.start(call.principal)


@route(bp, "GET /me/exports/{export_id}", calls=1)
def get_export(call: Call) -> ExportOut:
    """One of my exports: its status and, when ready, a download URL valid 15 minutes."""
    return svc.get(call.principal, call.params["export_id"])


@bp.on_sqs_message(queue=config.import_time(config.EXPORTS_QUEUE), batch_size=1)
def export_archives(event: SQSEvent) -> None:
    """Build each export asked for. A message that is not an export request is logged and
    dropped; a failure fails the message, which SQS redelivers (and dead-letters after the
    queue's maxReceiveCount): building is idempotent."""
    for record in event:
        try:
            doc = json.loads(record.body)
            user_id, export_id = str(doc["user_id"]), str(doc["export_id"])
        except (ValueError, TypeError, KeyError, RecursionError):
            log.error("exports queue: not an export request: %.200s", record.body)
            continue
        log.info("export %s of %s: %s", export_id, user_id, svc.build(user_id, export_id))
