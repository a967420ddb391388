"""Data exports (GDPR art. 20) through the routes, the exports queue and its handler, over
moto: every item of the table that names the user is in their archive, nothing private of
anyone else is, one export is built at a time, another user's export is a 404."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3
import pytest
import requests
from chalice.local import LambdaContext
from PIL import Image

from chalicelib import runtime
from chalicelib.services import media as media_svc
from tests import pushmedia
from tests.api.test_marketplace import become_provider, offers_of, request_body, walk
from tests.pushmedia import APNS_TOKEN
from tests.support import count_dynamodb_calls, route_calls

pytestmark = pytest.mark.api


class NoSockets:
    """Nobody is online: every event goes to push."""

    def send(self, targets: Any, data: Any) -> Any:
        from chalicelib.adapters.websocket import SendResult

        return SendResult()


@pytest.fixture
def api(aws, monkeypatch, client, as_user):
    pushmedia.provision(monkeypatch)
    runtime.use(sender=NoSockets())
    return as_user


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="PNG")
    return out.getvalue()


def upload(user: Any, purpose: str, body: bytes) -> str:
    """A real upload: the presigned POST's object in S3, processed by the media pipeline."""
    answer = user.call(
        "POST", "/uploads", {"purpose": purpose, "content_type": "image/png", "size_bytes": 4096}
    )
    assert answer.status_code == 201, answer.json_body
    key = answer.json_body["fields"]["key"]
    pushmedia.client("s3").put_object(
        Bucket=runtime.settings().media_bucket, Key=key, Body=body, ContentType="image/png"
    )
    assert media_svc.on_storage_event("ObjectCreated:Post", key).startswith("ready")
    return str(answer.json_body["id"])


def run_export_queue() -> int:
    """Deliver the exports queue's messages to the app's handler, as Lambda does."""
    from app import app

    sqs = pushmedia.client("sqs")
    url = sqs.get_queue_url(QueueName=runtime.settings().exports_queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    delivered = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            event = {
                "Records": [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": {},
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "eventSourceARN": arn,
                        "awsRegion": "us-east-1",
                    }
                ]
            }
            app.handler_map["export_archives"](event, LambdaContext("export_archives", 512))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            delivered += 1
    return delivered


TABLE_AT_BUILD: list[dict[str, Any]] = []


def export_of(user: Any) -> tuple[dict[str, Any], dict[str, Any], zipfile.ZipFile]:
    """Start an export, build it, read it: (the GET answer, the JSON files, the zip); the
    table as the build found it in :data:`TABLE_AT_BUILD`."""
    started = user.call("POST", "/me/exports")
    assert started.status_code == 202, started.json_body
    assert started.json_body["status"] == "pending"
    TABLE_AT_BUILD[:] = scan()
    assert run_export_queue() == 1
    ready = user.call("GET", f"/me/exports/{started.json_body['id']}")
    assert ready.status_code == 200
    body = ready.json_body
    assert body["status"] == "ready" and body["url"], body
    download = requests.get(body["url"], timeout=10)
    assert download.status_code == 200
    assert len(download.content) == body["size_bytes"]
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    docs = {n: json.loads(archive.read(n)) for n in archive.namelist() if n.endswith(".json")}
    return body, docs, archive


def scan() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table(runtime.settings().table)
    items: list[dict[str, Any]] = []
    page = table.scan()
    items += page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page["Items"]
    return items


def about(items: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    return [i for i in items if user_id in json.dumps(i, default=str)]


def where(item: dict[str, Any], uid: str) -> tuple[str, str] | None:
    """(archive file, the id that must be in it) of an item naming ``uid``; None for the
    items an export leaves out on purpose (someone else's: they blocked or reported the
    user, a review about them not yet published). Fails on a kind it does not know: a new
    kind of item must be placed in the archive (or ruled out) here and in
    ``domain/exports.py``."""
    kind, pk, sk = item.get("kind"), str(item["pk"]), str(item["sk"])
    mine = pk == f"USER#{uid}"
    simple = {
        "user": ("profile.json", uid),
        "settings": ("settings.json", "updated_at"),
        "provider": ("provider.json", "categories"),
        "approval": ("provider.json", "verification"),
        "device": ("devices.json", str(item.get("device_id"))),
        "device_token": ("devices.json", str(item.get("device_id"))),
        "push_targets": ("devices.json", "devices"),
        "sockets": ("devices.json", "connections"),
        "connection": ("devices.json", pk.removeprefix("CONN#")),
        "job": ("jobs.json", str(item.get("job_id"))),
        "job_member": ("jobs.json", str(item.get("job_id"))),
        "job_location": ("jobs.json", str(item.get("job_id"))),
        "conversation": ("messages.json", pk.removeprefix("CONV#")),
        "conversation_member": ("messages.json", str(item.get("conversation_id"))),
        "message": ("messages.json", str(item.get("message_id"))),
        "quote": ("quotes.json", str(item.get("quote_id"))),
        "media": ("media.json", str(item.get("media_id"))),
        "media_viewer": ("media.json", pk.removeprefix("MEDIA#")),
        "export": ("exports.json", str(item.get("export_id"))),
        "exporting": ("exports.json", str(item.get("export_id"))),
    }
    if kind in simple:
        return simple[kind]
    if kind == "provider" and not mine:  # another provider kept apart from this user
        return None
    if kind == "block":  # mine (and its mirror at the blocked user's), or private to others
        if mine and sk.startswith("BLOCK#"):
            return ("blocks.json", str(item["other_id"]))
        if not mine and sk.startswith("BLOCKEDBY#"):
            return ("blocks.json", pk.removeprefix("USER#"))
        return None
    if kind == "request":
        own = item.get("customer_id") == uid
        return ("requests.json" if own else "offers.json", str(item["request_id"]))
    if kind == "offer":
        own = item.get("provider_id") == uid
        return ("offers.json" if own else "requests.json", str(item["request_id"]))
    if kind == "review":
        if item.get("author_id") == uid or item.get("published_at"):
            return ("reviews.json", str(item["review_id"]))
        return None
    if kind == "report":
        return ("reports.json", str(item["report_id"])) if item["reporter_id"] == uid else None
    if kind == "report_ref":  # account deletion's link to a report: the report is placed above
        return None
    if kind == "notification":
        if mine:
            return ("feed.json", str(item["event_id"]))
        data = json.loads(item["data"])  # someone else's feed: the thing it is about
        ref = next(data[k] for k in ("request_id", "job_id", "id") if data.get(k))
        return ("*", str(ref))
    raise AssertionError(f"an item of kind {kind!r} names the user: place it in the export")


def assert_represented(uid: str, docs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item naming ``uid`` is in the archive where :func:`where` says; the items
    left out on purpose are returned (for the caller to check they really are out)."""
    texts = {name: json.dumps(doc, ensure_ascii=False) for name, doc in docs.items()}
    everything = "\n".join(texts.values())
    left_out = []
    for item in about(TABLE_AT_BUILD, uid):
        place = where(item, uid)
        if place is None:
            left_out.append(item)
            continue
        name, ref = place
        text = everything if name == "*" else texts[name]
        assert ref in text, (name, ref, item)
    return left_out


def test_every_item_about_the_user_is_in_their_export_and_nothing_private_of_others(api):
    carla = api(("customers",))
    paulo = become_provider(api(("providers",)))
    rita = api(("customers",))  # blocks and reports Carla: private to Rita
    bruno = api(("customers",))  # blocked by Carla
    for user in (carla, rita, bruno):
        assert user.call("GET", "/me").status_code == 200

    avatar = upload(carla, "avatar", png("red"))
    assert (
        carla.call(
            "PATCH", "/me", {"name": "Carla", "phone": "+351910000001", "avatar_media_id": avatar}
        ).status_code
        == 200
    )
    assert rita.call("PATCH", "/me", {"phone": "+351910000009"}).status_code == 200
    settings = {"locale": "pt-PT", "distance_unit": "km", "client": {"theme": "dark"}}
    assert carla.call("PUT", "/me/settings", settings, {"If-Match": '"0"'}).status_code == 200
    assert (
        carla.call("POST", "/devices", {"platform": "apns", "token": APNS_TOKEN}).status_code == 201
    )

    photo = upload(carla, "request_photo", png("blue"))
    created = carla.call("POST", "/requests", request_body(media_ids=[photo]))
    assert created.status_code == 201, created.json_body
    job = paulo.call("POST", f"/offers/{offers_of(paulo)[0]['id']}/accept").json_body
    cid = job["conversation_id"]
    image = upload(carla, "chat_image", png("green"))
    for who, body in (
        (carla, {"client_msg_id": "c1", "text": "Hello, the tap drips"}),
        (paulo, {"client_msg_id": "p1", "text": "On my way"}),
        (carla, {"client_msg_id": "c2", "media_id": image}),
    ):
        assert who.call("POST", f"/conversations/{cid}/messages", body).status_code == 201
    walk(paulo, job["id"], "en_route", "arrived", "in_progress", "completed")
    assert (
        carla.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 5, "text": "Great"}).status_code
        == 201
    )
    assert (
        paulo.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 4, "text": "Kind"}).status_code
        == 201
    )

    quoted = carla.call("POST", "/requests", request_body(mode="quote")).json_body
    quote = paulo.call(
        "POST",
        f"/requests/{quoted['id']}/quotes",
        {"price": {"amount": "40", "currency": "EUR"}, "eta_minutes": 30, "note": "Today"},
    )
    assert quote.status_code == 201, quote.json_body

    assert carla.call("PUT", f"/me/blocks/{bruno.user_id}").status_code == 200
    assert rita.call("PUT", f"/me/blocks/{carla.user_id}").status_code == 200
    mine = carla.call(
        "POST", "/reports", {"subject_type": "user", "subject_id": bruno.user_id, "reason": "spam"}
    )
    assert mine.status_code == 201, mine.json_body
    theirs = rita.call(
        "POST",
        "/reports",
        {"subject_type": "user", "subject_id": carla.user_id, "reason": "abuse", "text": "rude"},
    )
    assert theirs.status_code == 201, theirs.json_body

    body, docs, archive = export_of(carla)
    assert sorted(n for n in archive.namelist() if not n.startswith("media/")) == sorted(
        [*docs, "README.txt"]
    )
    assert (
        docs["profile.json"]["name"] == "Carla" and docs["profile.json"]["phone"] == "+351910000001"
    )
    assert docs["settings.json"]["settings"]["client"] == {"theme": "dark"}
    assert [r["request_id"] for r in docs["requests.json"]] == [
        created.json_body["id"],
        quoted["id"],
    ]
    assert [m["text"] for m in docs["messages.json"][0]["messages"][:2]] == [
        "Hello, the tap drips",
        "On my way",
    ]
    assert {r["rating"] for r in docs["reviews.json"]["written"]} == {5}
    assert {r["rating"] for r in docs["reviews.json"]["about_me"]} == {4}
    assert docs["blocks.json"] == [
        {"user_id": bruno.user_id, "created_at": docs["blocks.json"][0]["created_at"]}
    ]
    assert [r["report_id"] for r in docs["reports.json"]] == [mine.json_body["id"]]
    assert docs["quotes.json"]["received"][0]["quote_id"] == quote.json_body["id"]
    uploads = {m["media_id"]: m for m in docs["media.json"]["uploaded"]}
    assert set(uploads) == {avatar, photo, image}
    for media_id, color in ((avatar, "red"), (photo, "blue"), (image, "green")):
        assert archive.read(uploads[media_id]["file"]) == png(color)
    assert {"job.updated", "quote.new"} <= {n["type"] for n in docs["feed.json"]}

    left_out = assert_represented(carla.user_id, docs)
    everything = json.dumps(docs) + archive.read("README.txt").decode()
    # Rita's block and report of Carla (and its link in Carla's partition, kept for account
    # deletion) exist, and are not in Carla's export.
    assert {i["kind"] for i in left_out} == {"block", "report", "report_ref"}
    assert rita.user_id not in everything
    assert theirs.json_body["id"] not in everything
    # Nothing private of the others: emails, phones, devices.
    for other in (paulo, rita, bruno):
        assert f"{other.user_id[:8]}@example.com" not in everything
    assert "+351910000009" not in everything
    assert "endpoint" not in json.dumps(docs["devices.json"])


def test_the_provider_side_is_in_the_providers_export(api):
    carla = api(("customers",))
    paulo = become_provider(api(("providers",)))
    photo = upload(carla, "request_photo", png("blue"))
    carla.call("POST", "/requests", request_body(media_ids=[photo]))
    job = paulo.call("POST", f"/offers/{offers_of(paulo)[0]['id']}/accept").json_body
    walk(paulo, job["id"], "en_route", "arrived", "in_progress", "completed")
    carla.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 5, "text": "Great"})
    quoted = carla.call("POST", "/requests", request_body(mode="quote")).json_body
    quote = paulo.call(
        "POST",
        f"/requests/{quoted['id']}/quotes",
        {"price": {"amount": "40", "currency": "EUR"}, "eta_minutes": 30},
    ).json_body

    _, docs, _ = export_of(paulo)
    assert docs["provider.json"]["categories"] == ["plumbing"]
    assert "kept_apart" not in docs["provider.json"]
    assert docs["quotes.json"]["made"][0]["quote_id"] == quote["id"]
    assert docs["media.json"]["shared_with_me"][0]["media_id"] == photo
    assert docs["jobs.json"][0]["role"] == "provider"
    # Carla's review of Paulo is not published until he reviews her (or the window ends).
    assert docs["reviews.json"]["about_me"] == []
    left_out = assert_represented(paulo.user_id, docs)
    assert [i["kind"] for i in left_out] == ["review"]
    assert "Great" not in json.dumps(docs)
    assert f"{carla.user_id[:8]}@example.com" not in json.dumps(docs)


def test_one_export_is_built_at_a_time_and_is_only_its_owners(api):
    carla, rita = api(), api()
    first = carla.call("POST", "/me/exports", headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202
    again = carla.call("POST", "/me/exports")
    assert again.status_code == 202 and again.json_body["id"] == first.json_body["id"]
    retried = carla.call("POST", "/me/exports", headers={"Idempotency-Key": "k1"})
    assert retried.json_body == first.json_body
    export_id = first.json_body["id"]
    assert rita.call("GET", f"/me/exports/{export_id}").status_code == 404
    assert carla.call("GET", "/me/exports/not-an-id").status_code == 404
    pending = carla.call("GET", f"/me/exports/{export_id}").json_body
    assert pending["status"] == "pending" and pending["url"] is None
    assert run_export_queue() == 1  # one build for the three POSTs
    assert carla.call("GET", f"/me/exports/{export_id}").json_body["status"] == "ready"
    assert run_export_queue() == 0
    second = carla.call("POST", "/me/exports")
    assert second.status_code == 202 and second.json_body["id"] != export_id


def test_a_redelivered_build_changes_nothing_and_the_user_is_pushed(api):
    carla = api()
    assert (
        carla.call("POST", "/devices", {"platform": "apns", "token": APNS_TOKEN}).status_code == 201
    )
    started = carla.call("POST", "/me/exports").json_body
    from chalicelib.services import exports

    assert run_export_queue() == 1
    assert exports.build(carla.user_id, started["id"]) == "already built"
    pushed = [p for _, p in pushmedia.pushes() if p.get("type") == "export.ready"]
    assert len(pushed) == 1, pushmedia.pushes()
    feed = carla.call("GET", "/notifications").json_body["items"]
    assert [n["type"] for n in feed] == ["export.ready"]
    assert feed[0]["data"]["id"] == started["id"] and feed[0]["data"]["url"] is None


def test_when_the_queue_is_down_the_post_is_a_503_and_nothing_is_kept(api, monkeypatch):
    from chalicelib.adapters import sqs

    def down(queue: str, body: str) -> None:
        raise RuntimeError("SQS is down")

    carla = api()
    monkeypatch.setattr(sqs, "send", down)
    failed = carla.call("POST", "/me/exports")
    assert failed.status_code == 503
    assert about(scan(), carla.user_id) == []
    monkeypatch.undo()
    assert carla.call("POST", "/me/exports").status_code == 202


def test_the_export_routes_stay_within_their_budgets(api):
    carla = api()
    for method, path in (("POST", "/me/exports"), ("POST", "/me/exports")):
        with count_dynamodb_calls() as calls:
            answer = carla.call(method, path)
        assert answer.status_code == 202
        assert len(calls.calls) <= route_calls(method, path), calls.calls
    with count_dynamodb_calls() as calls:
        assert carla.call("GET", f"/me/exports/{answer.json_body['id']}").status_code == 200
    assert len(calls.calls) <= route_calls("GET", "/me/exports/{export_id}"), calls.calls
