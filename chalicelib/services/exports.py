"""Data exports (GDPR art. 20): ``POST /me/exports`` starts one, the exports queue's handler
builds the archive, ``GET /me/exports/{id}`` answers its status and a download URL.

Flow: :func:`start` records a pending export (at most one being built per user: a second
POST meanwhile answers that one) and sends ``{user_id, export_id}`` to the exports queue;
if the message cannot be sent, the export is forgotten and the POST answers 503.
:func:`build` (the ``@on_sqs_message`` handler's work) gathers every item about the user
(``store/exports.py``, no Scan), writes one zip (the JSON files of
``domain/exports.py`` and the originals of the user's uploads) to
``exports/<user_id>/<export_id>.zip`` in the media bucket, marks the export ready and
sends ``export.ready`` to the user (live, or by push when offline; also in the feed).
A redelivered message finds the export ready and does nothing; a build that dies is
retried by SQS, and an export still pending after :data:`STALE_S` reads ``failed`` and
no longer keeps the user from starting another. The bucket's lifecycle deletes archives
after :data:`ARCHIVE_DAYS` days; the export record expires (TTL) with it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import zipfile
from datetime import datetime, timedelta

from chalicelib import ids, runtime
from chalicelib.adapters import s3, sqs
from chalicelib.auth import Principal
from chalicelib.domain import exports as rules
from chalicelib.domain.media import PURPOSES
from chalicelib.errors import NotFound, Unavailable
from chalicelib.schemas.exports import ExportOut
from chalicelib.services import events
from chalicelib.store import exports as repo

log = logging.getLogger("summon.exports")

EXPORTS_PREFIX = "exports/"
ARCHIVE_DAYS = 7
"""Archives are deleted this many days after they are made (the bucket's lifecycle rule)."""
URL_TTL_S = 15 * 60
STALE_S = 3600
"""A build still pending after this long has failed (SQS gave up on it)."""
MAX_MEDIA_BYTES = 256 * 1024 * 1024
"""Originals past this total stay out of the archive (``media.json`` lists them with
``file: null``; ``GET /media/{id}`` still serves them): the handler builds the zip in
Lambda's 512 MB ``/tmp``."""
MAX_FILE_BYTES = max(p.max_bytes for p in PURPOSES.values())


def archive_key(user_id: str, export_id: str) -> str:
    return f"{EXPORTS_PREFIX}{user_id}/{export_id}.zip"


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _out(item: repo.ExportItem, *, with_url: bool = False) -> ExportOut:
    status = str(item.status)
    if status == repo.PENDING and int(item.started_ms) < (time.time() - STALE_S) * 1000:
        status = "failed"
    out = ExportOut(id=str(item.export_id), status=status, created_at=str(item.created_at))  # type: ignore[arg-type]
    if status == repo.READY and item.ready_at:
        out.ready_at = str(item.ready_at)
        out.expires_at = ids.iso(_parse(item.ready_at) + timedelta(days=ARCHIVE_DAYS))
        out.size_bytes = int(item.size or 0)
        if with_url and item.key:
            day = str(item.ready_at)[:10]
            out.url = s3.download_url(str(item.key), URL_TTL_S, f"summon-export-{day}.zip")
            out.url_expires_at = ids.iso(ids.now() + timedelta(seconds=URL_TTL_S))
    return out


def start(principal: Principal) -> ExportOut:
    """``POST /me/exports``: a new pending export, or the one already being built.
    1 TransactWriteItems (+ 1 GetItem when one is being built); 1 SQS SendMessage."""
    user_id = principal.user_id
    export_id = ids.new_id()
    now_s = int(time.time())
    ttl = now_s + STALE_S + ARCHIVE_DAYS * 86400
    item = repo.start(user_id, export_id, (now_s - STALE_S) * 1000, ttl)
    if item.export_id == export_id:
        body = json.dumps({"user_id": user_id, "export_id": export_id})
        try:
            sqs.send(runtime.settings().exports_queue, body)
        except Exception as exc:
            log.exception("export %s of %s could not be queued", export_id, user_id)
            repo.forget(user_id, export_id)
            raise Unavailable("The export could not be started; try again shortly.") from exc
    return _out(item)


def get(principal: Principal, export_id: str) -> ExportOut:
    """``GET /me/exports/{id}``: the caller's export, with a fresh download URL when ready;
    404 for another user's, an unknown or an expired one. 1 GetItem."""
    item = repo.get(principal.user_id, export_id) if ids.is_id(export_id) else None
    if item is None:
        raise NotFound(f"No export {export_id} of yours.")
    out = _out(item, with_url=True)
    if out.expires_at is not None and out.expires_at <= ids.iso():
        raise NotFound(f"Export {export_id} has expired: start a new one.")
    return out


def build(user_id: str, export_id: str) -> str:
    """The exports handler's work: build the archive of a pending export, mark it ready,
    tell the user. Idempotent: an export that is not pending (built, or unknown) is left
    alone. The outcome, for the log."""
    item = repo.get(user_id, export_id)
    if item is None:
        return "unknown"
    if item.status != repo.PENDING:
        return "already built"
    gathered = repo.gather(user_id)
    key = archive_key(user_id, export_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "export.zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            included = _add_originals(archive, rules.media_files(gathered))
            for name, doc in rules.documents(gathered, included).items():
                text = json.dumps(doc, indent=2, ensure_ascii=False, default=str)
                archive.writestr(name, text + "\n")
            archive.writestr("README.txt", rules.README)
        size = os.path.getsize(path)
        s3.put_file(key, path, "application/zip")
    ttl = int(time.time()) + ARCHIVE_DAYS * 86400
    if not repo.finish(item, key, size, ttl):
        return "already built"
    done = repo.get(user_id, export_id) or item
    events.publish(
        events.Event(
            type="export.ready",
            recipients=(user_id,),
            data=_out(done).model_dump(mode="json"),
        )
    )
    return f"ready ({size} bytes)"


def _add_originals(archive: zipfile.ZipFile, media: list[rules.Item]) -> list[str]:
    """Write each ready upload's original into ``media/`` up to :data:`MAX_MEDIA_BYTES` in
    all; the ids written."""
    left = MAX_MEDIA_BYTES
    written = []
    for item in media:
        if int(item.get("size") or 0) > left:
            continue
        found = s3.read(str(item["key"]), MAX_FILE_BYTES)
        if found is None:  # deleted since
            continue
        body = found[0]
        archive.writestr(rules.file_name(item), body, compress_type=zipfile.ZIP_STORED)
        left -= len(body)
        written.append(str(item["media_id"]))
    return written
