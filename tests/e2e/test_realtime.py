"""Real time over the running local stack, with real WebSocket clients: refused tokens,
offers and acceptance live, chat both ways, a retried send stored once, catch-up after a
disconnect, live location to the customer only, and a dead socket cleaned up after 410."""

from __future__ import annotations

import json
import secrets
import socket
import time
import uuid
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from devstack.harness import wait_until
from tests.e2e.support import online_provider, post_request, somewhere
from tests.support import forged_token

pytestmark = pytest.mark.e2e

WAIT_S = 15.0


class Socket:
    """A real WebSocket client that keeps every frame it received."""

    def __init__(self, stack: Any, token: str) -> None:
        self.conn: ClientConnection = connect(f"{stack.ws}/?token={token}", open_timeout=10)
        self.frames: list[dict[str, Any]] = []

    def send(self, **frame: Any) -> None:
        self.conn.send(json.dumps(frame))

    def wait_for(self, type_: str, where=lambda data: True, timeout: float = WAIT_S) -> dict:
        """The first frame of ``type_`` (``"*"``: any) matching ``where``, received now or
        earlier."""
        for frame in self.frames:
            if type_ in (frame["type"], "*") and where(frame["data"]):
                return frame["data"]
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [f["type"] for f in self.frames]
                raise AssertionError(f"no {type_} frame within {timeout}s; got {seen}")
            try:
                frame = json.loads(self.conn.recv(timeout=left))
            except TimeoutError:
                continue
            self.frames.append(frame)
            if type_ in (frame["type"], "*") and where(frame["data"]):
                return frame["data"]

    def sync(self) -> None:
        """Round-trip a ping: every frame sent to this socket before it is now in ``frames``."""
        ref = uuid.uuid4().hex
        self.send(action="ping", ref=ref)
        self.wait_for("pong", lambda d: d["ref"] == ref)

    def types(self) -> list[str]:
        return [f["type"] for f in self.frames]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture(autouse=True)
def ws_ready(stack):
    """The stack fixture waits for the HTTP API only; the gateway may still be importing."""
    host, port = stack.ws.removeprefix("ws://").split(":")
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _user_id(stack, token: str) -> str:
    return str(stack.call("GET", "/me", token).json()["id"])


def _messages(stack, token: str, cid: str, after: int = 0) -> list[dict[str, Any]]:
    response = stack.call("GET", f"/conversations/{cid}/messages?after={after}", token)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


@pytest.fixture
def job(stack):
    """A customer and a provider, each with a live socket, through a live offer to a job."""
    where = somewhere()
    provider = online_provider(stack, where)
    _, customer = stack.new_account("customers")
    with Socket(stack, provider) as p_ws, Socket(stack, customer) as c_ws:
        request = post_request(stack, customer, where)
        offer = p_ws.wait_for("offer.new", lambda d: d["request_id"] == request["id"])
        accepted = stack.call("POST", f"/offers/{offer['id']}/accept", provider)
        assert accepted.status_code == 200, accepted.text
        job = accepted.json()
        yield {
            "provider": provider,
            "customer": customer,
            "p_ws": p_ws,
            "c_ws": c_ws,
            "job": job,
            "cid": job["conversation_id"],
            "request": request,
        }


def test_a_bad_token_is_refused_at_connect(stack):
    good = stack.sign_in("customer@summon.local")
    import jwt

    claims = jwt.decode(good, options={"verify_signature": False})
    for token in ("", "garbage", "a.b.c", forged_token(claims), good[:-4] + "AAAA"):
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{stack.ws}/?token={token}", open_timeout=10)
        assert refused.value.response.status_code == 401, token
    with pytest.raises(InvalidStatus) as missing:
        connect(f"{stack.ws}/", open_timeout=10)
    assert missing.value.response.status_code == 401
    with Socket(stack, good) as ws:  # and the real token is let in
        ws.sync()


def test_the_provider_gets_the_offer_and_the_customer_sees_the_acceptance_live(job):
    c_ws, p_ws = job["c_ws"], job["p_ws"]
    [offer] = [f["data"] for f in p_ws.frames if f["type"] == "offer.new"]
    assert offer["request_id"] == job["request"]["id"]
    accepted = c_ws.wait_for("job.updated", lambda d: d["id"] == job["job"]["id"])
    assert accepted["state"] == "accepted"
    assert accepted["conversation_id"] == job["cid"]
    matched = c_ws.wait_for(
        "request.updated", lambda d: d["id"] == job["request"]["id"] and d["status"] != "open"
    )
    assert matched["status"] == "matched"


def test_chat_both_ways_and_a_retried_send_is_stored_once(stack, job):
    c_ws, p_ws, cid = job["c_ws"], job["p_ws"], job["cid"]
    hello = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "c-1", "text": "Hi!"}
    c_ws.send(**hello)
    got = p_ws.wait_for("chat.message", lambda d: d["client_msg_id"] == "c-1")
    assert (got["text"], got["seq"]) == ("Hi!", 1)
    c_ws.wait_for("chat.message", lambda d: d["client_msg_id"] == "c-1")  # the sender's ack

    p_ws.send(action="chat.send", conversation_id=cid, client_msg_id="p-1", text="On my way")
    back = c_ws.wait_for("chat.message", lambda d: d["client_msg_id"] == "p-1")
    assert (back["text"], back["seq"]) == ("On my way", 2)

    c_ws.send(**hello)  # the retry (e.g. the ack was lost): acknowledged, not stored again
    c_ws.sync()
    p_ws.sync()
    assert [m["seq"] for m in _messages(stack, job["customer"], cid)] == [1, 2]
    assert len([f for f in p_ws.frames if f["type"] == "chat.message"]) == 2

    p_ws.send(action="chat.typing", conversation_id=cid)
    typing = c_ws.wait_for("chat.typing")
    assert typing["conversation_id"] == cid and typing["typing"] is True
    c_ws.send(action="chat.read", conversation_id=cid, seq=2)
    assert p_ws.wait_for("chat.read")["seq"] == 2
    [summary] = stack.call("GET", "/conversations", job["customer"]).json()["items"]
    assert (summary["unread"], summary["counterpart_online"]) == (0, True)


def test_catch_up_after_a_disconnect_returns_exactly_the_missed_messages(stack, job):
    c_ws, p_ws, cid = job["c_ws"], job["p_ws"], job["cid"]
    c_ws.send(action="chat.send", conversation_id=cid, client_msg_id="before", text="seen")
    seen = p_ws.wait_for("chat.message", lambda d: d["client_msg_id"] == "before")
    p_ws.send(action="chat.read", conversation_id=cid, seq=seen["seq"])
    c_ws.wait_for("chat.read", lambda d: d["seq"] == seen["seq"])
    p_ws.close()
    c_ws.wait_for("presence", lambda d: d["online"] is False)
    missed = [f"missed {n}" for n in range(3)]
    for n, text in enumerate(missed):  # over HTTP: one at a time, in this order
        sent = stack.call(
            "POST",
            f"/conversations/{cid}/messages",
            job["customer"],
            json={"client_msg_id": f"gap-{n}", "text": text},
        )
        assert sent.status_code == 201, sent.text
    with Socket(stack, job["provider"]) as again:
        c_ws.wait_for("presence", lambda d: d["online"] is True)
        caught_up = _messages(stack, job["provider"], cid, after=seen["seq"])
        assert [m["text"] for m in caught_up] == missed
        assert [m["seq"] for m in caught_up] == [seen["seq"] + 1, seen["seq"] + 2, seen["seq"] + 3]
        [summary] = stack.call("GET", "/conversations", job["provider"]).json()["items"]
        assert summary["unread"] == 3
        again.sync()
        assert "chat.message" not in again.types()  # nothing replayed on the socket itself


def test_live_location_reaches_the_customer_and_not_a_stranger(stack, job):
    c_ws, p_ws, job_id = job["c_ws"], job["p_ws"], job["job"]["id"]
    _, outsider = stack.new_account("customers")
    with Socket(stack, outsider) as stranger:
        too_early = {"action": "location.update", "job_id": job_id, "lat": 1.0, "lng": 2.0}
        p_ws.send(**too_early, ref="early")
        assert p_ws.wait_for("error", lambda d: d["ref"] == "early")["status"] == 409
        moving = stack.call(
            "POST", f"/jobs/{job_id}/transitions", job["provider"], json={"to": "en_route"}
        )
        assert moving.status_code == 200, moving.text
        p_ws.send(action="location.update", job_id=job_id, lat=48.1, lng=11.5, heading=270)
        seen = c_ws.wait_for("job.location")
        assert (seen["job_id"], seen["lat"], seen["lng"], seen["heading"]) == (
            job_id,
            48.1,
            11.5,
            270,
        )
        stranger.send(action="location.update", job_id=job_id, lat=0, lng=0, ref="mine?")
        assert stranger.wait_for("error", lambda d: d["ref"] == "mine?")["status"] == 404
        stranger.sync()
        assert "job.location" not in stranger.types()
        kept = stack.call("GET", f"/jobs/{job_id}/location", job["customer"])
        assert kept.status_code == 200 and kept.json()["lat"] == 48.1
        assert stack.call("GET", f"/jobs/{job_id}/location", outsider).status_code == 404


def test_a_dead_connection_is_cleaned_up_after_410(stack):
    _, token = stack.new_account("customers")
    user_id = _user_id(stack, token)
    table = stack.env.get("SUMMON_TABLE", "summon-local-main")
    ddb = stack.client("dynamodb")
    callback = stack.env["SUMMON_WS_CALLBACK_URL"]
    dead_id = "Dead" + secrets.token_hex(5) + "="
    element = f"{dead_id} {int(time.time()) + 3600} {callback}"
    # what a socket whose $disconnect never arrived leaves behind (AWS: best effort)
    ddb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"CONN#{dead_id}"},
            "sk": {"S": "META"},
            "kind": {"S": "connection"},
            "user_id": {"S": user_id},
            "endpoint": {"S": callback},
            "socket": {"S": element},
        },
    )
    with Socket(stack, token) as ws:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "SOCKETS"}},
            UpdateExpression="ADD conns :e",
            ExpressionAttributeValues={":e": {"SS": [element]}},
        )
        saved = stack.call(
            "PUT", "/me/settings", token, json={"locale": "pt-PT"}, headers={"If-Match": '"0"'}
        )
        assert saved.status_code == 200, saved.text
        assert ws.wait_for("settings.updated")["locale"] == "pt-PT"  # the live one still gets it
        sockets = ddb.get_item(
            TableName=table,
            Key={"pk": {"S": f"USER#{user_id}"}, "sk": {"S": "SOCKETS"}},
            ConsistentRead=True,
        )["Item"]["conns"]["SS"]
        assert [s.split(" ")[0] for s in sockets] != [] and dead_id not in str(sockets)
        record = ddb.get_item(
            TableName=table, Key={"pk": {"S": f"CONN#{dead_id}"}, "sk": {"S": "META"}}
        )
        assert "Item" not in record


def test_a_sixth_socket_is_refused_with_429_until_one_closes(stack):
    _, token = stack.new_account("customers")
    sockets = [Socket(stack, token) for _ in range(5)]  # the default limit
    try:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{stack.ws}/?token={token}", open_timeout=10)
        assert refused.value.response.status_code == 429
        assert b"At most 5 live connections" in refused.value.response.body
        _, other = stack.new_account("customers")
        with Socket(stack, other) as theirs:  # per user
            theirs.sync()
        for ws in sockets:
            ws.sync()  # the five stay open
        sockets.pop().close()  # the gateway runs $disconnect: a slot frees

        def reconnect() -> Socket | None:
            try:
                return Socket(stack, token)
            except InvalidStatus as exc:
                assert exc.response.status_code == 429
                return None

        again = wait_until(reconnect, "a socket after one closed", timeout_s=WAIT_S)
        sockets.append(again)
        again.sync()
    finally:
        for ws in sockets:
            ws.close()


def test_chat_frames_over_the_limit_get_429_error_frames_and_are_not_stored(stack, job):
    """A client flooding one socket: each frame is either stored and acknowledged, or
    refused with an ``error`` 429 (``retry_after``) and stored nowhere; the socket stays."""
    c_ws, p_ws, cid = job["c_ws"], job["p_ws"], job["cid"]
    sent = [f"flood-{n}" for n in range(60)]  # 5 a second, bursts of 10: far over
    for msg_id in sent:
        c_ws.send(
            action="chat.send", conversation_id=cid, client_msg_id=msg_id, text="!", ref=msg_id
        )
    for msg_id in sent:  # frames of one socket run concurrently: wait for each answer
        c_ws.wait_for(
            "*",
            lambda d, m=msg_id: d.get("client_msg_id") == m or d.get("ref") == m,
        )
    acked = {
        f["data"]["client_msg_id"]
        for f in c_ws.frames
        if f["type"] == "chat.message" and f["data"]["client_msg_id"] in sent
    }
    refused = [f["data"] for f in c_ws.frames if f["type"] == "error"]
    assert refused, "a flood of 60 frames got no 429"
    assert {e["status"] for e in refused} == {429}
    assert all(e["retry_after"] >= 1 for e in refused)
    assert acked | {e["ref"] for e in refused} == set(sent)
    assert acked.isdisjoint(e["ref"] for e in refused)
    stored = {m["client_msg_id"] for m in _messages(stack, job["customer"], cid)}
    assert stored == acked  # a refused message is stored nowhere
    p_ws.sync()
    heard = {f["data"]["client_msg_id"] for f in p_ws.frames if f["type"] == "chat.message"}
    assert heard == acked
