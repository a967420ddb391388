"""The media queue's handler over real S3 objects and real S3 → SQS notifications (moto):
real type and size checks, thumbnails, redelivery, re-uploads and deletions."""

from __future__ import annotations

import io
import json

import pytest
from chalice.test import Client
from PIL import Image

from tests import pushmedia
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.integration

OWNER = "owner-1"


def _png(w: int = 900, h: int = 600) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


class Harness:
    def __init__(self, client: Client, names: dict[str, str], published: list) -> None:
        self.client = client
        self.bucket = names["SUMMON_MEDIA_BUCKET"]
        self.s3 = pushmedia.client("s3")
        self.sqs = pushmedia.client("sqs")
        self.queue = self.sqs.get_queue_url(QueueName=names["SUMMON_MEDIA_QUEUE"])["QueueUrl"]
        self.published = published
        self.drain()  # the s3:TestEvent of the notification configuration

    def start(self, purpose="request_photo", content_type="image/png", size=None, data=b""):
        from chalicelib.auth import Principal
        from chalicelib.schemas.media import UploadIn
        from chalicelib.services import media

        out = media.start_upload(
            Principal(OWNER, "o@example.com", frozenset()),
            UploadIn(purpose=purpose, content_type=content_type, size_bytes=size or len(data)),
        )
        return out.id, out.fields["key"]

    def put(self, key: str, data: bytes, content_type="image/png") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def drain(self) -> list[str]:
        bodies = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            messages = got.get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def deliver(self, bodies: list[str]) -> None:
        event = self.client.events.generate_sqs_event(bodies, queue_name="media")
        self.client.lambda_.invoke("media_events", event)

    def record(self, media_id: str):
        from chalicelib.store import media

        return media.get(media_id, consistent=True)

    def exists(self, key: str) -> bool:
        return self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key).get("KeyCount", 0) > 0


@pytest.fixture
def h(aws, monkeypatch):
    from app import app
    from chalicelib import runtime

    names = pushmedia.provision(monkeypatch)
    published: list = []
    runtime.use(sinks=[("capture", published.extend)])
    with Client(app) as client:
        yield Harness(client, names, published)


def test_a_real_png_becomes_ready_with_a_smaller_thumbnail(h):
    data = _png()
    media_id, key = h.start(data=data)
    h.put(key, data)
    bodies = h.drain()
    assert len(bodies) == 1
    h.deliver(bodies)
    item = h.record(media_id)
    assert item.status == "ready"
    assert (item.width, item.height, item.size) == (900, 600, len(data))
    thumb = h.s3.get_object(Bucket=h.bucket, Key=item.thumb_key)["Body"].read()
    assert Image.open(io.BytesIO(thumb)).size == (320, 213)
    assert len(thumb) < len(data)
    assert h.s3.get_object(Bucket=h.bucket, Key=key)["Body"].read() == data
    [event] = h.published
    assert (event.type, event.recipients, event.feed) == ("media.ready", (OWNER,), False)
    assert event.data["status"] == "ready" and event.data["id"] == media_id
    # the thumbnail's own object-created notification is ignored
    h.deliver(h.drain())
    assert len(h.published) == 1


def test_duplicate_delivery_has_one_effect(h):
    data = _png(50, 50)
    media_id, key = h.start(data=data)
    h.put(key, data)
    bodies = h.drain()
    h.deliver(bodies)
    first = h.record(media_id)
    with count_dynamodb_calls() as calls:
        h.deliver(bodies)
        h.deliver(bodies + bodies)
    assert calls.calls == ["GetItem"] * 3
    assert h.record(media_id).updated_at == first.updated_at
    assert len(h.published) == 1


def test_text_bytes_named_png_are_rejected_and_deleted(h):
    data = b"definitely not a picture, just text pretending to be one"
    media_id, key = h.start(data=data)
    h.put(key, data)
    h.deliver(h.drain())
    item = h.record(media_id)
    assert item.status == "rejected"
    assert "not a image/png" in item.reason
    assert not h.exists(key)
    assert h.published[0].data == {
        "id": media_id,
        "purpose": "request_photo",
        "status": "rejected",
        "reason": item.reason,
    }
    # our own deletion's notification keeps the first reason
    h.deliver(h.drain())
    assert h.record(media_id).reason == item.reason
    assert len(h.published) == 1


def test_a_file_larger_than_announced_is_rejected_without_reading_it(h):
    data = _png()
    media_id, key = h.start(size=1000)
    h.put(key, data)  # the local emulator does not enforce the POST policy
    h.deliver(h.drain())
    item = h.record(media_id)
    assert item.status == "rejected"
    assert f"The file is {len(data)} bytes, more than the 1000 bytes" in item.reason


def test_a_jpeg_announced_as_png_is_rejected(h):
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="JPEG")
    media_id, key = h.start(data=out.getvalue())
    h.put(key, out.getvalue())
    h.deliver(h.drain())
    assert (
        h.record(media_id).reason
        == "The file was announced as image/png but its content is image/jpeg."
    )


def test_a_pdf_document_is_ready_without_thumbnail(h):
    data = b"%PDF-1.4\n" + b"0" * 500
    media_id, key = h.start(purpose="document", content_type="application/pdf", data=data)
    h.put(key, data, "application/pdf")
    h.deliver(h.drain())
    item = h.record(media_id)
    assert (item.status, item.thumb_key) == ("ready", None)


def test_a_document_that_is_not_a_pdf_is_rejected_and_deleted(h):
    data = b"MZ\x90\x00 an executable, announced as a PDF" + b"0" * 200
    media_id, key = h.start(purpose="document", content_type="application/pdf", data=data)
    h.put(key, data, "application/pdf")
    h.deliver(h.drain())
    item = h.record(media_id)
    assert item.status == "rejected"
    assert "not a known file type" in item.reason
    assert not h.exists(key)


def test_a_replayed_upload_with_other_bytes_is_checked_again(h):
    good = _png(40, 40)
    media_id, key = h.start(size=len(good) + 100, data=good)
    h.put(key, good)
    h.deliver(h.drain())
    assert h.record(media_id).status == "ready"
    h.put(key, b"now some text instead of the picture")
    h.deliver(h.drain())
    item = h.record(media_id)
    assert item.status == "rejected"
    assert not h.exists(key) and not h.exists(f"thumbnails/{OWNER}/{media_id}")
    assert [e.data["status"] for e in h.published] == ["ready", "rejected"]


def test_a_deleted_original_updates_its_record(h):
    data = _png(40, 40)
    media_id, key = h.start(data=data)
    h.put(key, data)
    h.deliver(h.drain())
    h.s3.delete_object(Bucket=h.bucket, Key=key)
    bodies = h.drain()
    assert any("ObjectRemoved" in b for b in bodies)
    h.deliver(bodies)
    item = h.record(media_id)
    assert (item.status, item.reason) == ("rejected", "The file was deleted.")
    assert not h.exists(f"thumbnails/{OWNER}/{media_id}")
    h.deliver(bodies)  # again: nothing more
    assert h.record(media_id).updated_at == item.updated_at


def test_objects_without_a_pending_upload_are_removed(h):
    key = f"uploads/{OWNER}/01HZZZZZZZZZZZZZZZZZZZZZZZ"
    h.put(key, _png(10, 10))
    h.deliver(h.drain())
    assert not h.exists(key)
    assert h.published == []


def test_an_upload_under_someone_elses_prefix_is_removed(h):
    data = _png(10, 10)
    media_id, _ = h.start(data=data)
    stolen = f"uploads/intruder/{media_id}"
    h.put(stolen, data)
    h.deliver(h.drain())
    assert not h.exists(stolen)
    assert h.record(media_id).status == "pending"


def test_messages_that_are_not_s3_notifications_are_skipped(h):
    data = _png(10, 10)
    media_id, key = h.start(data=data)
    h.put(key, data)
    real = h.drain()
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": h.bucket})
    sns_wrapped = json.dumps({"Type": "Notification", "Message": real[0]})
    h.deliver(["not json", test_event, sns_wrapped])
    assert h.record(media_id).status == "ready"


@pytest.mark.parametrize(
    "key",
    [
        f"uploads/{OWNER}/not-an-id",
        f"uploads/{OWNER}/01HZZZZZZZZZZZZZZZZZZZZZZZ/extra",
        "uploads/stray.png",
        f"uploads//{OWNER}",
    ],
)
def test_objects_under_keys_it_never_issued_are_removed(h, key):
    h.put(key, _png(10, 10))
    h.deliver(h.drain())
    assert not h.exists(key)
    assert h.published == []


@pytest.mark.parametrize("stored_as", ["text/html", "image/svg+xml", "image/jpeg", ""])
def test_an_object_stored_with_another_content_type_is_rejected_and_deleted(h, stored_as):
    data = _png(40, 40)
    media_id, key = h.start(data=data)
    h.s3.put_object(
        Bucket=h.bucket, Key=key, Body=data, **({"ContentType": stored_as} if stored_as else {})
    )
    h.deliver(h.drain())
    record = h.record(media_id)
    assert record.status == "rejected"
    assert "content_type" in record.reason
    assert not h.exists(key)


def test_read_urls_fix_the_content_type_they_are_served_with(h):
    from chalicelib.auth import Principal
    from chalicelib.services import media

    data = _png(40, 40)
    media_id, key = h.start(data=data)
    h.put(key, data)
    h.deliver(h.drain())
    out = media.get(Principal(OWNER, "o@example.com", frozenset()), media_id)
    assert "response-content-type=image%2Fpng" in (out.url or "")
    assert "response-content-type=image%2Fjpeg" in (out.thumbnail_url or "")


def _jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the clean copy applies it
    exif[0x8825] = {1: "N", 2: (38.0, 43.0, 20.52), 3: "W", 4: (9.0, 8.0, 21.6)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("purpose", ["request_photo", "chat_image", "avatar"])
def test_others_are_served_a_copy_without_exif_and_the_owner_the_original(h, purpose):
    from urllib.parse import urlparse

    from chalicelib.auth import Principal
    from chalicelib.services import media
    from chalicelib.store import media as repo

    data = _jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # GPS in the original
    media_id, key = h.start(purpose=purpose, content_type="image/jpeg", data=data)
    h.put(key, data, "image/jpeg")
    h.deliver(h.drain())
    repo.grant(repo.grant_items([media_id], ["viewer"], "request", "R1"))

    def served(user: str) -> bytes:
        out = media.get(Principal(user, f"{user}@example.com", frozenset()), media_id)
        path = urlparse(out.url or "").path.split(f"/{h.bucket}/", 1)[-1].lstrip("/")
        path = path.removeprefix(f"{h.bucket}/")
        return h.s3.get_object(Bucket=h.bucket, Key=path)["Body"].read()

    assert served(OWNER) == data
    copy = Image.open(io.BytesIO(served("viewer")))
    assert copy.format == "JPEG" and copy.size == (48, 64)  # orientation applied
    assert dict(copy.getexif()) == {} and "exif" not in copy.info
    h.deliver(h.drain())  # the copy's own notification is ignored
    assert h.record(media_id).status == "ready"


def test_deleting_an_original_deletes_its_clean_copy(h):
    data = _jpeg_with_gps()
    media_id, key = h.start(content_type="image/jpeg", data=data)
    h.put(key, data, "image/jpeg")
    h.deliver(h.drain())
    clean = h.record(media_id).clean_key
    assert clean and h.exists(clean)
    h.s3.delete_object(Bucket=h.bucket, Key=key)
    h.deliver(h.drain())
    assert not h.exists(clean)
