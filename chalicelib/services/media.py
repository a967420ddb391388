"""Media: presigned uploads, processing of stored files, reads for owner and participants.

Flow: ``POST /uploads`` records a ``pending`` media and answers a presigned POST to
``uploads/<owner>/<media id>``. S3 sends object-created/removed notifications to the media
queue; :func:`on_storage_event` (the ``@on_sqs_message`` handler's work) checks the real
size and type (the POST policy is enforced by S3 in the cloud, but not by the local
emulator, and a presigned POST can be replayed until it expires), makes a thumbnail,
settles the record ``ready`` or ``rejected`` with a reason and sends ``media.ready`` to
the uploader. Every step is keyed on the object's ETag, so a redelivered event changes
nothing. Rejected files are deleted from the bucket.

Other capabilities check what they attach with :func:`check_attachable` (the marketplace
checks a request's photos in its own transaction and calls it for the 400 that names them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from chalicelib import ids
from chalicelib.adapters import s3
from chalicelib.auth import Principal
from chalicelib.domain import media as rules
from chalicelib.errors import Invalid, NotFound
from chalicelib.schemas.media import MediaOut, UploadIn, UploadOut
from chalicelib.schemas.realtime import MediaReadyData
from chalicelib.services import events
from chalicelib.store import media as repo
from chalicelib.store.media import MediaItem

log = logging.getLogger("summon.media")

UPLOAD_TTL_S = 10 * 60
UPLOADS_PREFIX = "uploads/"
THUMBNAILS_PREFIX = "thumbnails/"
DELETED = "deleted"


def upload_key(owner_id: str, media_id: str) -> str:
    return f"{UPLOADS_PREFIX}{owner_id}/{media_id}"


def thumbnail_key(owner_id: str, media_id: str) -> str:
    return f"{THUMBNAILS_PREFIX}{owner_id}/{media_id}.jpg"


def clean_key(owner_id: str, media_id: str) -> str:
    """The copy without metadata: a derived image, beside the thumbnail (the prefix the
    stack lets this handler write)."""
    return f"{THUMBNAILS_PREFIX}{owner_id}/{media_id}.clean"


def start_upload(principal: Principal, body: UploadIn) -> UploadOut:
    """A pending media record and the presigned POST to upload it with (signed locally);
    :class:`Invalid` when the purpose, type or size is not allowed."""
    problem = rules.upload_problem(body.purpose, body.content_type, body.size_bytes)
    if problem:
        field = problem.split(":", 1)[0]
        raise Invalid(problem, errors=[{"field": field, "message": problem}])
    media_id = ids.new_id()
    key = upload_key(principal.user_id, media_id)
    repo.create(media_id, principal.user_id, body.purpose, body.content_type, body.size_bytes, key)
    url, fields = s3.presigned_post(key, body.content_type, body.size_bytes, UPLOAD_TTL_S)
    return UploadOut(
        id=media_id,
        url=url,
        fields=fields,
        expires_at=ids.iso(ids.now() + timedelta(seconds=UPLOAD_TTL_S)),
        max_bytes=body.size_bytes,
    )


def _out(item: MediaItem, reader_id: str = "") -> MediaOut:
    out = MediaOut(
        id=item.media_id,
        purpose=item.purpose,  # type: ignore[arg-type]
        content_type=item.content_type,
        status=item.status,  # type: ignore[arg-type]
        reason=item.reason,
        size_bytes=int(item.size) if item.size is not None else None,
        width=int(item.width) if item.width is not None else None,
        height=int(item.height) if item.height is not None else None,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )
    if item.status == repo.READY:
        # The owner reads the original; everyone else an image's copy without metadata
        # (no EXIF GPS position): originals stay private to their owner.
        key = item.key if reader_id == item.owner_id or not item.clean_key else item.clean_key
        out.url = s3.read_url(key, content_type=item.content_type)
        out.thumbnail_url = (
            s3.read_url(item.thumb_key, content_type="image/jpeg") if item.thumb_key else None
        )
        out.urls_expire_at = ids.iso(ids.now() + timedelta(seconds=s3.READ_URL_TTL_S))
    return out


def get(principal: Principal, media_id: str) -> MediaOut:
    """A media's status and read URLs. The owner and the users it was shared with
    (participants of its request/job/conversation) may read it; anyone else gets the same
    404 as for an unknown id."""
    if not ids.is_id(media_id):
        raise NotFound("No such media.")
    item, granted = repo.get_with_grant(media_id, principal.user_id)
    if item is None or (item.owner_id != principal.user_id and not granted):
        raise NotFound("No such media.")
    return _out(item, principal.user_id)


def check_attachable(
    owner_id: str,
    media_ids: Iterable[str],
    purposes: Iterable[str] | None = None,
    *,
    ready: bool = False,
    field: str = "media_ids",
) -> None:
    """For other capabilities: raise a 400 naming each media id that is unknown, not the
    owner's, rejected, of another purpose or (``ready``) not processed yet. Request photos
    may be attached while pending (they become readable when ready); a chat image and an
    avatar must be ready (``ready=True``). 1 BatchGetItem."""
    wanted = list(dict.fromkeys(media_ids))
    if not wanted:
        return
    allowed = set(purposes) if purposes is not None else None
    found = repo.get_many(wanted)
    bad: list[dict[str, str]] = []
    for media_id in wanted:
        item = found.get(media_id)
        if item is None or item.owner_id != owner_id:
            bad.append({"field": field, "message": f"{media_id}: no such media of yours"})
        elif item.status == repo.REJECTED:
            bad.append({"field": field, "message": f"{media_id}: rejected ({item.reason})"})
        elif allowed is not None and item.purpose not in allowed:
            bad.append(
                {
                    "field": field,
                    "message": f"{media_id}: uploaded as {item.purpose}, "
                    f"expected {' or '.join(sorted(allowed))}",
                }
            )
        elif ready and item.status != repo.READY:
            bad.append(
                {"field": field, "message": f"{media_id}: not ready yet (wait for media.ready)"}
            )
    if bad:
        raise Invalid(f"{field}: " + "; ".join(b["message"] for b in bad), errors=bad)


def share(media_id: str, user_ids: Iterable[str], ref_type: str, ref_id: str) -> None:
    """Let ``user_ids`` read a media (e.g. a chat image: the conversation's other
    participants). 1 BatchWriteItem (≤ 25 users)."""
    grants = repo.grant_items([media_id], user_ids, ref_type, ref_id)
    if grants:
        repo.grant(grants)


# --- processing (the media queue's handler) -----------------------------------------------


def parse_key(key: str) -> tuple[str, str] | None:
    """(owner id, media id) of an original's key, None for any other key."""
    if not key.startswith(UPLOADS_PREFIX):
        return None
    parts = key[len(UPLOADS_PREFIX) :].split("/")
    if len(parts) != 2 or not parts[0] or not ids.is_id(parts[1]):
        return None
    return parts[0], parts[1]


def on_storage_event(event_name: str, key: str) -> str:
    """Handle one S3 notification for ``key``; returns what happened (for logs/tests).
    Works from the object's *current* state, so duplicates and out-of-order deliveries
    converge. DynamoDB: 1 GetItem + at most 1 conditional UpdateItem."""
    parsed = parse_key(key)
    if parsed is None:
        if not key.startswith(UPLOADS_PREFIX):
            return "ignored"  # thumbnails and clean copies: written by this handler
        if s3.head(key) is not None:  # under uploads/ but not a key this API issues
            log.warning("deleting %s: not a key an upload was offered for", key)
            s3.delete(key)
        return "unknown"
    owner_id, media_id = parsed
    item = repo.get(media_id, consistent=True)
    if item is None or item.owner_id != owner_id or item.key != key:
        if s3.head(key) is not None:
            log.warning("deleting %s: no pending upload of this user has that key", key)
            s3.delete(key)
        return "unknown"
    head = s3.head(key)
    if head is None:
        return _removed(item)
    if head.etag == item.etag:
        return "duplicate"
    return _check(item, head)


def _removed(item: MediaItem) -> str:
    if item.status == repo.REJECTED or item.etag is None:
        return "duplicate"  # already rejected (we delete rejected files) or never uploaded
    if not repo.settle(
        item.media_id,
        from_etag=item.etag,
        status=repo.REJECTED,
        etag=DELETED,
        reason="The file was deleted.",
    ):
        return "duplicate"
    delete_files(item, original=False)
    return "deleted"


def delete_files(item: MediaItem, *, original: bool = True) -> None:
    """Delete what storage holds of a media: the original (unless ``original=False``),
    its thumbnail and its copy without metadata."""
    for key in (item.key if original else None, item.thumb_key, item.clean_key):
        if key:
            s3.delete(key)


def _check(item: MediaItem, head: s3.Head) -> str:
    rule = rules.PURPOSES[item.purpose]
    limit = min(int(item.declared_size), rule.max_bytes)
    thumb: rules.Thumbnail | None = None
    clean: bytes | None = None
    etag = head.etag
    stored_type = head.content_type.split(";", 1)[0].strip().lower()
    if stored_type != item.content_type.lower():
        # S3 enforces the policy's Content-Type; an object stored with another one (a
        # form edited against a store that does not) would be served with it: refused.
        problem: str | None = (
            f"content_type: stored as {head.content_type or 'no type'}, "
            f"uploaded for {item.content_type}."
        )
        size = head.size
    elif head.size > limit:
        problem = rules.file_problem(
            item.purpose, item.content_type, int(item.declared_size), head.size, b""
        )
        size = head.size
    else:
        read = s3.read(item.key, limit + 1)
        if read is None:
            return _removed(item)
        data, etag = read
        size = len(data)
        problem = rules.file_problem(
            item.purpose, item.content_type, int(item.declared_size), size, data[:64]
        )
        if problem is None and rule.thumbnail:
            try:
                thumb = rules.thumbnail(data, item.content_type)
                clean = rules.without_metadata(data, item.content_type)
            except rules.NotAnImage as exc:
                problem = str(exc)
    if problem is not None:
        settled = repo.settle(
            item.media_id, from_etag=item.etag, status=repo.REJECTED, etag=etag, reason=problem
        )
        if settled:
            s3.delete(item.key)
            for derived in (item.thumb_key, item.clean_key):
                if derived:
                    s3.delete(derived)
    else:
        thumb_key = clean_copy = None
        if thumb is not None:
            thumb_key = thumbnail_key(item.owner_id, item.media_id)
            s3.put(thumb_key, thumb.jpeg, "image/jpeg")
        if clean is not None:
            clean_copy = clean_key(item.owner_id, item.media_id)
            s3.put(clean_copy, clean, item.content_type)
        settled = repo.settle(
            item.media_id,
            from_etag=item.etag,
            status=repo.READY,
            etag=etag,
            size=size,
            width=thumb.width if thumb else None,
            height=thumb.height if thumb else None,
            thumb_key=thumb_key,
            clean_key=clean_copy,
        )
    if not settled:
        return "duplicate"
    status = repo.REJECTED if problem else repo.READY
    log.info("media %s is %s%s", item.media_id, status, f": {problem}" if problem else "")
    events.publish(
        events.Event(
            type="media.ready",
            recipients=(item.owner_id,),
            data=MediaReadyData(
                id=item.media_id,
                purpose=item.purpose,
                status="rejected" if problem else "ready",
                reason=problem,
            ).model_dump(),
            feed=False,
        )
    )
    return status
