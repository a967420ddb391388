"""Complete jobs through the real local stack while AWS fails 5 % of the calls
(devstack/faults.py): DynamoDB throttling and 5xx, SNS publish failures, ``@connections``
500s and dropped sockets. Simulated customers and providers (bench/users.py) follow the
mobile app's retry contract (docs/realtime.md#the-client-retry-contract); every job
finishes with no double effect and no lost chat message. Then: what cannot finish says so
to the client, and a media handler that crashes mid-way finishes on redelivery."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
import requests
from PIL import Image
from websockets.sync.client import connect

from bench import users
from devstack.harness import Stack, running, wait_until

pytestmark = pytest.mark.e2e

PAIRS = 12
FAULTS = "rate=0.05,seed=2026,kinds=dynamodb+sns+connections"


@pytest.fixture(scope="module")
def faulty() -> Iterator[Stack]:
    with running(providers=10, schedule_period=1.0, faults=FAULTS) as started:
        yield started


async def _jobs(pairs: list[users.Pair]) -> list[users.Record | BaseException]:
    for pair in pairs:
        await pair.customer.open()
        await pair.provider.open()
    try:
        return await asyncio.wait_for(
            asyncio.gather(*(pair.job() for pair in pairs), return_exceptions=True), 240
        )
    finally:
        for pair in pairs:
            await pair.customer.close()
            await pair.provider.close()


def test_jobs_finish_exactly_once_with_no_lost_message_while_aws_fails_5_percent(
    faulty: Stack,
) -> None:
    tally = users.Tally()
    env = users.Env(think_s=0.2, seed=7)
    pairs = users.cast(faulty, PAIRS, tally, env)
    outcomes = asyncio.run(_jobs(pairs))
    failed = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert failed == []
    injected = faulty.injected()
    assert injected.get("dynamodb", 0) > 0 and injected.get("connections", 0) > 0, injected
    faulty.faults()  # off: the checks read what was stored

    for pair in pairs:
        (record,) = pair.records
        customer = pair.customer
        jobs = faulty.ok("GET", "/jobs?limit=50", customer.token)["items"]
        assert [j["id"] for j in jobs if j["request_id"] == record.request_id] == [record.job_id]
        job = faulty.ok("GET", f"/jobs/{record.job_id}", customer.token)
        assert job["state"] == "completed"
        assert job["reviews"]["customer_reviewed"] and job["reviews"]["provider_reviewed"]
        reviews = faulty.ok("GET", f"/providers/{pair.provider.user_id}/reviews", customer.token)
        assert [r["job_id"] for r in reviews["items"]] == [record.job_id]

        stored = faulty.ok(
            "GET", f"/conversations/{record.conversation_id}/messages?after=0&limit=100",
            customer.token,
        )["items"]  # fmt: skip
        ids = [m["client_msg_id"] for m in stored]
        assert sorted(ids) == sorted(record.sent)  # every acked message, once
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
        by_seq = {int(m["seq"]): m["client_msg_id"] for m in stored}
        for user in (pair.customer, pair.provider):  # live, or caught up after a drop
            assert user.seen[record.conversation_id] == by_seq


def test_a_call_that_cannot_finish_says_so_and_its_retry_does_it_once(faulty: Stack) -> None:
    _, token = faulty.new_account("customers")
    where = {"lat": 40.1, "lng": -3.5}
    body = {"category": "plumbing", "description": "Retry me", "location": where, "mode": "instant"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    faulty.faults(dynamodb=1.0)  # DynamoDB down: the SDK's retries cannot help
    try:
        refused = faulty.call("POST", "/requests", token, json=body, headers=key)
    finally:
        faulty.faults()
    assert refused.status_code == 503, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Idempotency-Key" in refused.json()["detail"]

    first = faulty.call("POST", "/requests", token, json=body, headers=key)
    again = faulty.call("POST", "/requests", token, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    mine = faulty.ok("GET", "/requests", token)["items"]
    assert [r["id"] for r in mine] == [first.json()["id"]]


def test_a_chat_frame_that_cannot_be_stored_gets_a_503_error_frame(faulty: Stack) -> None:
    pair = users.cast(faulty, 1, users.Tally(), users.Env(0.1))[0]
    rid = faulty.ok(
        "POST", "/requests", pair.customer.token,
        json={"category": "plumbing", "description": "Chat", "location": pair.where,
              "mode": "instant"},
    )["id"]  # fmt: skip
    cid = faulty.ok("POST", f"/offers/{rid}/accept", pair.provider.token)["conversation_id"]
    frame = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "m-1", "text": "hi"}
    with connect(f"{faulty.ws}/?token={pair.customer.token}") as ws:
        faulty.faults(dynamodb=1.0)
        try:
            ws.send(json.dumps({**frame, "ref": "r1"}))
            error = _frame(ws, "error")
        finally:
            faulty.faults()
        assert error["status"] == 503 and error["ref"] == "r1", error
        ws.send(json.dumps(frame))  # the same client_msg_id again
        assert _frame(ws, "chat.message")["client_msg_id"] == "m-1"
    stored = faulty.ok("GET", f"/conversations/{cid}/messages?after=0", pair.customer.token)
    assert [m["client_msg_id"] for m in stored["items"]] == ["m-1"]


def _frame(ws: Any, type_: str) -> dict[str, Any]:
    while True:
        frame = json.loads(ws.recv(timeout=30))
        if frame.get("type") == type_:
            return dict(frame["data"])


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_a_media_handler_crash_after_the_thumbnail_ends_ready_on_redelivery(
    faulty: Stack,
) -> None:
    sqs = faulty.client("sqs")
    queue = sqs.get_queue_url(QueueName=faulty.env["SUMMON_MEDIA_QUEUE"])["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "3"})
    _, token = faulty.new_account("customers")
    data = _jpeg()
    upload = faulty.ok(
        "POST", "/uploads", token,
        json={"purpose": "avatar", "content_type": "image/jpeg", "size_bytes": len(data)},
    )  # fmt: skip
    thumbnail = f"thumbnails/{faulty.ok('GET', '/me', token)['id']}/{upload['id']}.jpg"
    s3 = faulty.client("s3")
    bucket = faulty.env["SUMMON_MEDIA_BUCKET"]
    with connect(f"{faulty.ws}/?token={token}") as ws:
        faulty.faults(media=1.0)
        try:
            posted = requests.post(
                upload["url"],
                data=upload["fields"],
                files={"file": ("a.jpg", data, "image/jpeg")},
                timeout=30,
            )
            assert posted.status_code in (200, 201, 204), posted.text
            wait_until(
                lambda: s3.list_objects_v2(Bucket=bucket, Prefix=thumbnail).get("KeyCount"),
                "the thumbnail written before the crash",
            )
            assert wait_until(lambda: faulty.injected().get("media"), "a media crash")
            assert faulty.ok("GET", f"/media/{upload['id']}", token)["status"] == "pending"
        finally:
            faulty.faults()
        ready = _frame(ws, "media.ready")
    assert ready["id"] == upload["id"] and ready["status"] == "ready"
    media = faulty.ok("GET", f"/media/{upload['id']}", token)
    assert media["status"] == "ready" and media["thumbnail_url"]
