"""Account deletion (``DELETE /me``) through the routes and the scheduled run, over moto's
DynamoDB, S3, SNS and Cognito: after it, no item and no object holds the user's id, email,
name or phone, while the other side keeps its jobs, messages and reviews."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from PIL import Image

from chalicelib import config, ids, runtime
from chalicelib.services import erasure
from chalicelib.services import media as media_service
from chalicelib.store import connections
from chalicelib.store import erasure as erasure_repo
from tests import pushmedia
from tests.api.conftest import Api
from tests.api.test_marketplace import become_provider, offers_of, request_body, walk
from tests.support import count_dynamodb_calls, route_calls, unverified_token

pytestmark = pytest.mark.api

EMAIL, NAME, PHONE = "dora.quist@example.com", "Dora Quist", "+351912345678"
BOTH = ("customers", "providers")


class Sockets:
    """The WebSocket sender: what was sent and which sockets were closed."""

    def __init__(self) -> None:
        self.closed: list[str] = []

    def send(self, targets: Any, data: Any) -> Any:
        from chalicelib.adapters.websocket import SendResult

        return SendResult()

    def close(self, targets: Any) -> int:
        self.closed.extend(t.connection_id for t in targets)
        return len(targets)


@dataclass
class World:
    client: Any
    pool_id: str
    sockets: Sockets

    def user(self, email: str, groups: tuple[str, ...] = ("customers",)) -> Api:
        from devstack import provision

        sub = provision.ensure_user(
            None, config.DEFAULT_REGION, self.pool_id, email, "Passw0rd!", list(groups)
        )
        return Api(self.client, unverified_token(sub, groups, email=email), sub)

    def exists(self, sub: str) -> bool:
        idp = boto3.client("cognito-idp", config.DEFAULT_REGION)
        try:
            idp.admin_get_user(UserPoolId=self.pool_id, Username=sub)
        except idp.exceptions.UserNotFoundException:
            return False
        return True


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch, client: Any) -> World:
    from devstack import provision

    pushmedia.provision(monkeypatch)
    made = provision.user_pool(None, config.DEFAULT_REGION)
    runtime.use(settings=replace(runtime.settings(), user_pool_id=made[config.USER_POOL_ID]))
    sockets = Sockets()
    runtime.use(sender=sockets)
    return World(client, made[config.USER_POOL_ID], sockets)


def photo(user: Api, purpose: str) -> str:
    """A real upload: the object in S3, processed (thumbnail, copy without metadata)."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="PNG")
    png = out.getvalue()
    body = {"purpose": purpose, "content_type": "image/png", "size_bytes": len(png)}
    media_id: str = user.call("POST", "/uploads", body).json_body["id"]
    key = media_service.upload_key(user.user_id, media_id)
    pushmedia.client("s3").put_object(
        Bucket=runtime.settings().media_bucket, Key=key, Body=png, ContentType="image/png"
    )
    assert media_service.on_storage_event("ObjectCreated:Post", key) == "ready"
    return media_id


def say(user: Api, cid: str, n: str, **body: Any) -> None:
    sent = user.call("POST", f"/conversations/{cid}/messages", {"client_msg_id": n, **body})
    assert sent.status_code == 201, sent.json_body


@dataclass
class History:
    dora: Api
    paula: Api  # provider of Dora's job
    carl: Api  # customer of Dora's job (Dora as the provider)
    eve: Api  # blocked by Dora
    job_as_customer: dict[str, Any]
    job_as_provider: dict[str, Any]
    open_request: str
    quote_request: str


def rich_history(world: World) -> History:
    """Dora, customer and provider, with everything a user leaves behind."""
    dora = world.user(EMAIL, BOTH)
    paula = become_provider(world.user("paula@example.com", ("providers",)))
    carl = world.user("carl@example.com")
    eve = become_provider(world.user("eve@example.com", BOTH), online=False)
    avatar = photo(dora, "avatar")
    never_sent = {"purpose": "chat_image", "content_type": "image/png", "size_bytes": 99}
    assert dora.call("POST", "/uploads", never_sent).status_code == 201  # a record, no object
    patched = dora.call("PATCH", "/me", {"name": NAME, "phone": PHONE, "avatar_media_id": avatar})
    assert patched.status_code == 200, patched.json_body
    settings = {"locale": "pt-PT", "client": {"nickname": NAME}}
    assert dora.call("PUT", "/me/settings", settings, {"If-Match": '"0"'}).status_code == 200
    device = dora.call("POST", "/devices", {"platform": "apns", "token": "d" * 64})
    assert device.status_code == 201, device.json_body
    connections.add_connection("dora-socket", dora.user_id, "http://127.0.0.1:1/local")

    # Dora as the customer: a request with a photo, Paula's job, chat, reviews.
    picture = photo(dora, "request_photo")
    rid = dora.call("POST", "/requests", request_body(media_ids=[picture])).json_body["id"]
    accepted = paula.call("POST", f"/offers/{rid}/accept")
    assert accepted.status_code == 200, accepted.json_body
    job1 = accepted.json_body
    say(dora, job1["conversation_id"], "d1", text=f"Hi, I am {NAME}")
    say(dora, job1["conversation_id"], "d2", media_id=photo(dora, "chat_image"))
    say(paula, job1["conversation_id"], "p1", text="On my way")
    walk(paula, job1["id"], "en_route", "arrived", "in_progress", "completed")
    assert (
        dora.call("POST", f"/jobs/{job1['id']}/reviews", {"rating": 5, "text": "Great"}).status_code
        == 201
    )
    assert paula.call("POST", f"/jobs/{job1['id']}/reviews", {"rating": 4}).status_code == 201

    # Dora as the provider: Carl's job, chat, reviews; a quote on Carl's quote request.
    become_provider(dora)
    rid2 = carl.call("POST", "/requests", request_body()).json_body["id"]
    taken = dora.call("POST", f"/offers/{rid2}/accept")
    assert taken.status_code == 200, taken.json_body
    job2 = taken.json_body
    say(carl, job2["conversation_id"], "c1", text="Door code 1234")
    say(dora, job2["conversation_id"], "d3", text="Thanks")
    walk(dora, job2["id"], "en_route", "arrived", "in_progress", "completed")
    assert (
        carl.call("POST", f"/jobs/{job2['id']}/reviews", {"rating": 5, "text": "Neat"}).status_code
        == 201
    )
    assert (
        dora.call("POST", f"/jobs/{job2['id']}/reviews", {"rating": 5, "text": "Kind"}).status_code
        == 201
    )
    quote_rid = carl.call("POST", "/requests", request_body(mode="quote")).json_body["id"]
    assert any(o["request_id"] == quote_rid for o in offers_of(dora))
    quote = {"price": {"amount": "40", "currency": "EUR"}, "eta_minutes": 30, "note": NAME}
    assert dora.call("POST", f"/requests/{quote_rid}/quotes", quote).status_code == 201

    # Dora's open request (offers pending with Paula), blocks both ways, reports both ways.
    become_provider(dora, online=False)
    open_rid = dora.call("POST", "/requests", request_body()).json_body["id"]
    assert any(o["request_id"] == open_rid for o in offers_of(paula))
    assert dora.call("PUT", f"/me/blocks/{eve.user_id}").status_code == 200
    assert eve.call("PUT", f"/me/blocks/{dora.user_id}").status_code == 200
    messages = carl.call("GET", f"/conversations/{job2['conversation_id']}/messages")
    carls = next(m for m in messages.json_body["items"] if m["text"] == "Door code 1234")
    subject = f"{job2['conversation_id']}:{carls['seq']}"
    report = {"subject_type": "message", "subject_id": subject, "reason": "spam"}
    assert dora.call("POST", "/reports", {**report, "text": f"from {NAME}"}).status_code == 201
    about = {"subject_type": "user", "subject_id": dora.user_id, "reason": "abuse"}
    assert carl.call("POST", "/reports", about).status_code == 201
    return History(dora, paula, carl, eve, job1, job2, open_rid, quote_rid)


def everything() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Every item of the main table and every object of the media bucket."""
    db = boto3.client("dynamodb", config.DEFAULT_REGION)
    items: list[dict[str, Any]] = []
    for page in db.get_paginator("scan").paginate(TableName=runtime.settings().table):
        items += page["Items"]
    s3 = pushmedia.client("s3")
    bucket = runtime.settings().media_bucket
    objects = {
        o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }
    return items, objects


def traces_of(user_id: str) -> list[str]:
    """Every item or object holding the user's id, email, name or phone."""
    items, objects = everything()
    needles = (user_id, EMAIL, NAME, PHONE)
    found = [
        f"{i['pk']['S']} {i['sk']['S']}"
        for i in items
        if any(n in json.dumps(i, ensure_ascii=False) for n in needles)
    ]
    found += [
        key
        for key, body in objects.items()
        if any(n.encode() in key.encode() + body for n in needles)
    ]
    return found


def assert_the_other_side_keeps_its_history(h: History) -> None:
    job = h.paula.call("GET", f"/jobs/{h.job_as_customer['id']}").json_body
    assert job["state"] == "completed" and ids.is_deleted_user(job["customer_id"])
    messages = h.paula.call(
        "GET", f"/conversations/{h.job_as_customer['conversation_id']}/messages"
    ).json_body["items"]
    assert [(m["text"], bool(m["media_id"])) for m in messages] == [
        ("Hi, I am [deleted user]", False),
        (None, True),
        ("On my way", False),
    ]
    assert {ids.is_deleted_user(m["sender_id"]) for m in messages[:2]} == {True}
    reviews = h.paula.call("GET", f"/providers/{h.paula.user_id}/reviews").json_body["items"]
    assert [(r["rating"], r["text"], r["author_role"]) for r in reviews] == [
        (5, "Great", "customer")
    ]
    job2 = h.carl.call("GET", f"/jobs/{h.job_as_provider['id']}").json_body
    assert job2["state"] == "completed" and ids.is_deleted_user(job2["provider_id"])
    author = h.carl.call("GET", f"/providers/{job2['provider_id']}")
    assert author.status_code == 200 and author.json_body["name"] == "Deleted user"
    chat = h.carl.call(
        "GET", f"/conversations/{h.job_as_provider['conversation_id']}/messages"
    ).json_body["items"]
    assert [m["text"] for m in chat] == ["Door code 1234", "Thanks"]
    quotes = h.carl.call("GET", f"/requests/{h.quote_request}/quotes").json_body["items"]
    assert [q["status"] for q in quotes] == ["withdrawn"]
    assert ids.is_deleted_user(quotes[0]["provider_id"])
    assert h.paula.call("GET", "/me").status_code == 200


def test_a_deleted_account_leaves_no_personal_data_and_the_other_side_keeps_its_history(
    world: World,
) -> None:
    h = rich_history(world)
    dora = h.dora
    assert traces_of(dora.user_id)  # the history holds her data everywhere
    with count_dynamodb_calls() as calls:
        answer = dora.call("DELETE", "/me")
    assert answer.status_code == 202 and answer.json_body == {"status": "pending"}
    assert len(calls.calls) <= route_calls("DELETE", "/me"), calls.calls
    assert world.sockets.closed == ["dora-socket"]
    refused = dora.call("GET", "/me")
    assert refused.status_code == 403 and refused.json_body["detail"] == "This account is deleted."
    assert dora.call("DELETE", "/me").json_body == {"status": "pending"}  # a retry
    idp = boto3.client("cognito-idp", config.DEFAULT_REGION)
    user = idp.admin_get_user(UserPoolId=world.pool_id, Username=dora.user_id)
    assert user["Enabled"] is False  # sign-in disabled at once

    assert erasure.resume() == {"erased": 1, "waiting": 0, "failed": 0}

    assert traces_of(dora.user_id) == []
    assert not world.exists(dora.user_id)
    assert not [a for a, e in pushmedia.endpoints().items() if "d" * 64 in str(e.token)]
    assert dora.call("DELETE", "/me").json_body == {"status": "deleted"}
    assert dora.call("GET", "/me").status_code == 403
    assert_the_other_side_keeps_its_history(h)
    feed = h.paula.call("GET", "/notifications").json_body["items"]
    assert any(
        n["type"] == "offer.withdrawn" and n["data"]["request_id"] == h.open_request for n in feed
    )
    assert erasure.resume() == {"erased": 0, "waiting": 0, "failed": 0}


def test_a_deletion_interrupted_halfway_finishes_on_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = rich_history(world)
    assert h.dora.call("DELETE", "/me").status_code == 202

    def crash(item: Any) -> None:
        raise RuntimeError("the container died")

    steps = dict(erasure.STEPS)
    monkeypatch.setattr(
        erasure, "STEPS", tuple((n, crash if n == "media" else s) for n, s in steps.items())
    )
    assert erasure.resume() == {"erased": 0, "waiting": 0, "failed": 1}
    marker = erasure_repo.marker(h.dora.user_id)
    assert marker is not None and marker.attempts == 1
    assert set(marker.done or ()) == {
        "personal", "signin", "sockets", "devices", "requests", "offers", "jobs", "conversations",
        "blocks", "reports",
    }  # fmt: skip
    assert traces_of(h.dora.user_id)  # half done: her profile and photos are still there
    assert h.dora.call("DELETE", "/me").json_body == {"status": "pending"}

    monkeypatch.setattr(erasure, "STEPS", tuple(steps.items()))
    assert erasure.resume() == {"erased": 1, "waiting": 0, "failed": 0}
    assert traces_of(h.dora.user_id) == []
    assert not world.exists(h.dora.user_id)
    assert_the_other_side_keeps_its_history(h)


def test_no_deletion_while_a_job_is_under_way_and_nothing_changes(world: World) -> None:
    customer = world.user("busy@example.com")
    provider = become_provider(world.user("pro@example.com", ("providers",)))
    rid = customer.call("POST", "/requests", request_body()).json_body["id"]
    job = provider.call("POST", f"/offers/{rid}/accept").json_body
    walk(provider, job["id"], "en_route")
    before = everything()
    for who in (customer, provider):
        refused = who.call("DELETE", "/me")
        assert refused.status_code == 409, refused.json_body
        assert refused.json_body["detail"] == (
            f"Job {job['id']} is en_route: finish or cancel it, then delete your account."
        )
    assert everything() == before
    assert world.exists(customer.user_id)
    assert customer.call("GET", "/me").status_code == 200
    assert erasure.resume() == {"erased": 0, "waiting": 0, "failed": 0}
