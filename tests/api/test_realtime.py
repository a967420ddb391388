"""Chat over HTTP, live delivery of events, the offline fallback and dead sockets.

Sockets are recorded the way ``$connect`` records them; what the app sends to them is
captured by a fake ``@connections`` sender (the real one is exercised in the integration
and e2e tests)."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pytest

from chalicelib import runtime
from chalicelib.adapters.websocket import SendResult
from chalicelib.schemas.realtime import LocationFrame, MessageIn
from chalicelib.services import chat, events, live, presence
from chalicelib.store import connections, conversations, keys, locations
from chalicelib.store import realtime as store
from tests.support import count_dynamodb_calls, route_calls

pytestmark = pytest.mark.api

ENDPOINT = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev"


class FakeSender:
    """Records every frame per connection; connections in ``gone`` answer GoneException."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict]] = defaultdict(list)
        self.gone: set[str] = set()
        self._lock = threading.Lock()

    def send(self, targets, data):
        result = SendResult()
        for target in targets:
            if target.connection_id in self.gone:
                result.gone.append(target)
                continue
            with self._lock:
                self.frames[target.connection_id].append(json.loads(data))
            result.delivered.append(target)
        return result

    def types(self, connection_id: str) -> list[str]:
        return [f["type"] for f in self.frames[connection_id]]

    def of_type(self, connection_id: str, type_: str) -> list[dict]:
        return [f["data"] for f in self.frames[connection_id] if f["type"] == type_]


@pytest.fixture
def sent(aws, client):
    # Read the settings now: the first read must not happen inside chalice's test client,
    # which patches SUMMON_STAGE from .chalice/config.json (idempotency table name).
    runtime.settings()
    fake = FakeSender()
    runtime.use(sender=fake)
    return fake


@pytest.fixture
def offline(monkeypatch):
    """What the offline (push) handlers receive: (event type, user ids)."""
    calls: list[tuple[str, list[str]]] = []

    def handler(batch, _prefetched):
        calls.extend((e.type, u) for e, u in batch)

    runtime.use(offline=[("test", handler, None)])
    return calls


@pytest.fixture
def pair(as_user, sent):
    """A customer and a provider with a job conversation; each has one socket."""
    customer = as_user(("customers",))
    provider = as_user(("providers",))
    cid = conversations.open_conversation([customer.user_id, provider.user_id], "job", "JOB1")
    presence.connected("c-sock", customer.user_id, ENDPOINT)
    presence.connected("p-sock", provider.user_id, ENDPOINT)
    sent.frames.clear()
    return customer, provider, cid


def send(api, cid, text="hello", client_msg_id="m-1", **extra):
    body = {"client_msg_id": client_msg_id, "text": text, **extra}
    return api.call("POST", f"/conversations/{cid}/messages", body)


def last_seq(cid: str) -> int:
    conv = store.conversation(cid, consistent=True)
    assert conv is not None
    return int(conv.last_seq)


def test_a_message_is_stored_numbered_and_delivered_to_every_participant(pair, sent):
    customer, provider, cid = pair
    response = send(customer, cid, "Can you come at 3?")
    assert response.status_code == 201, response.json_body
    message = response.json_body
    assert message["seq"] == 1
    assert message["text"] == "Can you come at 3?"
    assert message["sender_id"] == customer.user_id
    for sock in ("c-sock", "p-sock"):  # the sender's own devices stay in step too
        assert sent.of_type(sock, "chat.message") == [message]
    listed = provider.call("GET", f"/conversations/{cid}/messages?after=0")
    assert listed.status_code == 200
    assert listed.json_body["items"] == [message]


def test_a_retried_client_msg_id_stores_one_message(pair, sent):
    customer, provider, cid = pair
    first = send(customer, cid, "On my way", client_msg_id="retry-me")
    again = send(customer, cid, "On my way", client_msg_id="retry-me")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json_body == first.json_body
    assert last_seq(cid) == 1
    assert len(provider.call("GET", f"/conversations/{cid}/messages").json_body["items"]) == 1
    assert len(sent.of_type("p-sock", "chat.message")) == 1  # the retry is not re-delivered
    # the same client_msg_id from the *other* participant is another message
    assert send(provider, cid, "ok", client_msg_id="retry-me").status_code == 201
    assert last_seq(cid) == 2


def test_a_copy_that_loses_the_race_for_its_client_msg_id_writes_nothing(pair, sent, monkeypatch):
    """Two copies of one send can both pass the first read; the loser's conditional put
    fails: it answers with the winner's message, stores nothing and delivers nothing (its
    number stays unused)."""
    customer, provider, cid = pair
    first = send(customer, cid, "once", client_msg_id="twin")
    assert first.status_code == 201
    real = store.conversation_and_dedupe
    reads = iter([True])

    def read_before_the_winner_claimed(conversation_id, sender_id, client_msg_id, extra=()):
        conv, stored, items = real(conversation_id, sender_id, client_msg_id, extra)
        return (conv, None, items) if next(reads, False) else (conv, stored, items)

    monkeypatch.setattr(store, "conversation_and_dedupe", read_before_the_winner_claimed)
    twin = send(customer, cid, "once", client_msg_id="twin")
    assert twin.status_code == 200
    assert twin.json_body == first.json_body
    assert last_seq(cid) == 2  # the loser took a number ...
    assert [m.seq for m in store.messages_after(cid, 1, 10)[0]] == []  # ... stored nothing
    listed = provider.call("GET", f"/conversations/{cid}/messages?after=0").json_body
    assert [m["seq"] for m in listed["items"]] == [1]
    assert len(sent.of_type("p-sock", "chat.message")) == 1


def test_a_conversation_stored_before_last_sent_existed_still_takes_messages(pair):
    customer, provider, cid = pair
    item = conversations.ConversationItem(keys.conversation(cid), keys.META)
    item.update(actions=[conversations.ConversationItem.last_sent.remove()])
    assert send(customer, cid).status_code == 201
    assert send(provider, cid, client_msg_id="p").json_body["seq"] == 2
    [summary] = customer.call("GET", "/conversations").json_body["items"]
    assert summary["unread"] == 1


def test_an_idempotency_key_replays_the_first_answer(pair):
    customer, _, cid = pair
    headers = {"Idempotency-Key": "k-1"}
    body = {"client_msg_id": "a", "text": "hi"}
    first = customer.call("POST", f"/conversations/{cid}/messages", body, headers=headers)
    again = customer.call("POST", f"/conversations/{cid}/messages", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json_body == first.json_body
    assert last_seq(cid) == 1


@pytest.fixture
def atomic_requests(monkeypatch):
    """DynamoDB applies each request atomically; moto in-process does not (two concurrent
    ``SET n = n + 1`` can both read the old value). Serialise moto's request handling so
    the test checks this code, not the emulator."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original = BotocoreStubber.process_request

    def process_request(self, request):
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


def test_concurrent_sends_get_distinct_consecutive_numbers(pair, atomic_requests):
    customer, provider, cid = pair
    results: list[int] = []

    def go(user_id, n):  # the service itself: chalice's test client is not thread-safe
        content = MessageIn(client_msg_id=f"c-{n}", text=f"msg {n}")
        message, created = chat.send(user_id, cid, content)
        assert created
        results.append(message.seq)

    people = (customer.user_id, provider.user_id)
    threads = [threading.Thread(target=go, args=(people[n % 2], n)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(1, 11))
    items = customer.call("GET", f"/conversations/{cid}/messages?limit=100").json_body["items"]
    assert [m["seq"] for m in items] == list(range(1, 11))


def test_a_stranger_cannot_read_or_write_a_conversation(pair, as_user, sent):
    customer, _, cid = pair
    send(customer, cid)
    sent.frames.clear()
    stranger = as_user(("customers",))
    presence.connected("s-sock", stranger.user_id, ENDPOINT)
    for response in (
        send(stranger, cid, "let me in"),
        stranger.call("GET", f"/conversations/{cid}/messages"),
        stranger.call("POST", f"/conversations/{cid}/read", {"seq": 1}),
    ):
        assert response.status_code == 404, response.json_body
        assert response.headers["Content-Type"] == "application/problem+json"
    assert last_seq(cid) == 1
    assert stranger.call("GET", "/conversations").json_body["items"] == []
    assert sent.frames["c-sock"] == [] and sent.frames["p-sock"] == []
    unknown = send(customer, "01J00000000000000000000000")
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"client_msg_id": "x", "text": ""}, "text"),
        ({"client_msg_id": "x", "text": "x" * 4001}, "text"),
        ({"client_msg_id": "x"}, "(body)"),
        ({"client_msg_id": "x", "text": "hi", "media_id": "01J00000000000000000000000"}, "(body)"),
        ({"client_msg_id": "x", "media_id": "not-a-ulid"}, "media_id"),
        ({"client_msg_id": "has space", "text": "hi"}, "client_msg_id"),
        ({"client_msg_id": "y" * 65, "text": "hi"}, "client_msg_id"),
        ({"text": "hi"}, "client_msg_id"),
        ({"client_msg_id": "x", "text": "hi", "colour": "red"}, "colour"),
    ],
)
def test_bad_messages_are_400_naming_the_field_and_store_nothing(pair, sent, body, field):
    customer, _, cid = pair
    response = customer.call("POST", f"/conversations/{cid}/messages", body)
    assert response.status_code == 400
    assert any(e["field"] == field for e in response.json_body["errors"]), response.json_body
    assert last_seq(cid) == 0
    assert sent.frames == {}


def test_not_json_and_bad_ids_are_400(pair):
    customer, _, cid = pair
    raw = customer.call("POST", f"/conversations/{cid}/messages", raw=b"{nope")
    assert raw.status_code == 400
    bad_id = customer.call("GET", "/conversations/bad%20id!/messages")
    assert bad_id.status_code == 400
    for query in ("after=-1", "after=abc", "limit=0", "limit=101", "cursor=garbage"):
        response = customer.call("GET", f"/conversations/{cid}/messages?{query}")
        assert response.status_code == 400, query
    assert last_seq(cid) == 0


def test_catch_up_returns_exactly_the_messages_after_seq_in_order(pair):
    customer, provider, cid = pair
    for n in range(1, 8):
        send(provider if n % 2 else customer, cid, f"m{n}", client_msg_id=f"id-{n}")
    after = customer.call("GET", f"/conversations/{cid}/messages?after=4").json_body
    assert [(m["seq"], m["text"]) for m in after["items"]] == [(5, "m5"), (6, "m6"), (7, "m7")]
    assert after["cursor"] is None
    page1 = customer.call("GET", f"/conversations/{cid}/messages?after=1&limit=3").json_body
    assert [m["seq"] for m in page1["items"]] == [2, 3, 4]
    assert page1["cursor"]
    page2 = customer.call(
        "GET", f"/conversations/{cid}/messages?after=1&limit=3&cursor={page1['cursor']}"
    ).json_body
    assert [m["seq"] for m in page2["items"]] == [5, 6, 7]
    # a cursor of another conversation is refused, not followed
    other = conversations.open_conversation([customer.user_id, provider.user_id], "quote", "Q1")
    moved = customer.call("GET", f"/conversations/{other}/messages?cursor={page1['cursor']}")
    assert moved.status_code == 400


def test_unread_counts_and_read_receipts(pair, sent):
    customer, provider, cid = pair
    for n in range(3):
        send(provider, cid, f"p{n}", client_msg_id=f"p{n}")
    mine = customer.call("GET", "/conversations").json_body["items"]
    assert len(mine) == 1
    summary = mine[0]
    assert summary["id"] == cid
    assert summary["ref_type"] == "job" and summary["ref_id"] == "JOB1"
    assert summary["counterpart_id"] == provider.user_id
    assert summary["counterpart_online"] is True
    assert (summary["last_seq"], summary["last_read_seq"], summary["unread"]) == (3, 0, 3)
    assert summary["last_message"]["text"] == "p2"
    # sending marks everything before it read for the sender
    assert provider.call("GET", "/conversations").json_body["items"][0]["unread"] == 0

    sent.frames.clear()
    receipt = customer.call("POST", f"/conversations/{cid}/read", {"seq": 2})
    assert receipt.status_code == 200
    assert receipt.json_body == {
        "conversation_id": cid,
        "user_id": customer.user_id,
        "last_read_seq": 2,
        "unread": 1,
    }
    expected = {"conversation_id": cid, "user_id": customer.user_id, "seq": 2}
    assert sent.of_type("p-sock", "chat.read") == [expected]
    assert sent.of_type("c-sock", "chat.read") == [expected]  # other devices clear badges

    back = customer.call("POST", f"/conversations/{cid}/read", {"seq": 1})
    assert back.json_body["last_read_seq"] == 2  # never moves back
    beyond = customer.call("POST", f"/conversations/{cid}/read", {"seq": 99})
    assert beyond.json_body["last_read_seq"] == 3  # capped at the last message
    assert customer.call("GET", "/conversations").json_body["items"][0]["unread"] == 0
    for body in ({"seq": -1}, {"seq": "x"}, {}, {"seq": 1, "extra": 1}):
        assert customer.call("POST", f"/conversations/{cid}/read", body).status_code == 400

    presence.disconnected("p-sock")
    assert (
        customer.call("GET", "/conversations").json_body["items"][0]["counterpart_online"] is False
    )


def test_conversation_list_is_newest_first_and_paginated(as_user, sent):
    me = as_user()
    opened = [
        conversations.open_conversation([me.user_id, as_user().user_id], "quote", f"Q{n}")
        for n in range(5)
    ]
    first = me.call("GET", "/conversations?limit=2").json_body
    second = me.call("GET", f"/conversations?limit=2&cursor={first['cursor']}").json_body
    third = me.call("GET", f"/conversations?limit=2&cursor={second['cursor']}").json_body
    listed = [c["id"] for page in (first, second, third) for c in page["items"]]
    assert listed == list(reversed(opened))
    assert third["cursor"] is None
    stranger = as_user()
    assert stranger.call("GET", f"/conversations?cursor={first['cursor']}").status_code == 400


def test_events_reach_every_live_socket_and_offline_users_go_to_push(as_user, sent, offline):
    provider = as_user(("providers",))
    customer = as_user(("customers",))
    presence.connected("phone", provider.user_id, ENDPOINT)
    presence.connected("tablet", provider.user_id, ENDPOINT)
    sent.frames.clear()
    event = events.Event(
        type="offer.new",
        recipients=(provider.user_id, customer.user_id),
        data={"offer_id": "O1", "request_id": "R1"},
    )
    events.publish(event)
    for sock in ("phone", "tablet"):
        assert sent.frames[sock] == [event.frame()]
    assert offline == [("offer.new", [customer.user_id])]


def test_the_events_of_one_change_go_out_together_in_order(as_user, sent, offline):
    provider, other = as_user(("providers",)), as_user(("providers",))
    customer = as_user(("customers",))
    presence.connected("phone", provider.user_id, ENDPOINT)
    presence.connected("laptop", customer.user_id, ENDPOINT)
    sent.frames.clear()
    job = events.Event(
        type="job.updated", recipients=(customer.user_id, provider.user_id), data={"id": "J"}
    )
    withdrawn = events.Event(
        type="offer.withdrawn", recipients=(other.user_id,), data={"request_id": "R"}
    )
    request = events.Event(type="request.updated", recipients=(customer.user_id,), data={})
    with count_dynamodb_calls() as calls, events.batched():
        for event in (job, withdrawn, request):
            events.publish(event)
        assert sent.frames == {}  # held until the change is complete
    assert sent.frames["phone"] == [job.frame()]
    assert sent.frames["laptop"] == [job.frame(), request.frame()]
    assert offline == [("offer.withdrawn", [other.user_id])]
    # one feed write, one look-up of every recipient's sockets (push is faked here)
    assert sorted(calls.calls) == ["BatchGetItem", "BatchWriteItem"]


def test_whoever_caused_a_change_sees_it_live_but_is_not_pushed_about_it(as_user, sent, offline):
    customer, provider = as_user(("customers",)), as_user(("providers",))
    presence.connected("other-phone", provider.user_id, ENDPOINT)
    event = events.Event(
        type="job.updated",
        recipients=(customer.user_id, provider.user_id),
        data={"id": "J", "state": "en_route"},
        actor=provider.user_id,
    )
    events.publish(event)
    assert sent.frames["other-phone"] == [event.frame()]  # the actor's other devices keep up
    assert offline == [("job.updated", [customer.user_id])]
    presence.disconnected("other-phone")
    offline.clear()
    events.publish(event)
    assert offline == [("job.updated", [customer.user_id])]  # never the actor


def test_a_chat_message_is_pushed_to_offline_participants_but_never_to_its_sender(
    pair, sent, offline
):
    customer, provider, cid = pair
    presence.disconnected("p-sock")
    presence.disconnected("c-sock")
    send(customer, cid, "are you there?")
    assert offline == [("chat.message", [provider.user_id])]
    offline.clear()
    presence.connected("p-sock-2", provider.user_id, ENDPOINT)
    send(customer, cid, "hello again", client_msg_id="m-2")
    assert offline == []
    assert [m["text"] for m in sent.of_type("p-sock-2", "chat.message")] == ["hello again"]


def test_a_send_in_a_known_conversation_reads_the_sockets_with_it(pair, sent, offline):
    """Once a container knows a conversation's participants, a send reads their sockets
    (and push's items) in its first look-up: 3 calls, and the delivery is the same."""
    customer, provider, cid = pair
    send(customer, cid, "first")  # the container learns the participants
    presence.disconnected("p-sock")
    offline.clear()
    with count_dynamodb_calls() as calls:
        assert send(customer, cid, "second", client_msg_id="m-2").status_code == 201
    assert calls.calls == ["BatchGetItem", "UpdateItem", "PutItem"]
    assert offline == [("chat.message", [provider.user_id])]  # the socket read is current
    assert [m["text"] for m in sent.of_type("c-sock", "chat.message")] == ["first", "second"]
    presence.connected("p-sock-2", provider.user_id, ENDPOINT)
    offline.clear()
    assert send(customer, cid, "third", client_msg_id="m-3").status_code == 201
    assert [m["text"] for m in sent.of_type("p-sock-2", "chat.message")] == ["third"]
    assert offline == []


def test_a_gone_socket_is_forgotten_and_the_others_still_get_the_frame(as_user, sent, offline):
    user = as_user()
    a_minute_ago = time.time() - 60
    connections.add_connection("alive", user.user_id, ENDPOINT, a_minute_ago)
    connections.add_connection("dead", user.user_id, ENDPOINT, a_minute_ago)
    sent.gone.add("dead")
    events.publish(events.Event(type="job.updated", recipients=(user.user_id,), data={"id": "J"}))
    assert sent.types("alive") == ["job.updated"]
    sockets = connections.sockets_of([user.user_id])[user.user_id]
    assert [s.connection_id for s in sockets] == ["alive"]
    assert connections.connection("dead") is None
    assert offline == []  # reached on another device: no push
    sent.gone.add("alive")
    events.publish(events.Event(type="job.updated", recipients=(user.user_id,), data={"id": "J"}))
    assert connections.sockets_of([user.user_id]) == {}
    assert offline == [("job.updated", [user.user_id])]  # every socket gone: push instead


def test_a_socket_still_connecting_is_not_mistaken_for_a_dead_one(as_user, sent, offline):
    """API Gateway answers Gone until the upgrade completes, i.e. during $connect."""
    user = as_user()
    presence.connected("opening", user.user_id, ENDPOINT)
    sent.gone.add("opening")
    events.publish(events.Event(type="job.updated", recipients=(user.user_id,), data={"id": "J"}))
    assert connections.connection("opening") is not None
    assert offline == [("job.updated", [user.user_id])]
    sent.gone.clear()
    events.publish(events.Event(type="job.updated", recipients=(user.user_id,), data={"id": "J"}))
    assert sent.types("opening") == ["job.updated"]


def test_expired_sockets_are_skipped_and_forgotten(as_user, sent):
    user = as_user()
    connections.add_connection(
        "old", user.user_id, ENDPOINT, time.time() - connections.CONNECTION_TTL_S - 1
    )
    presence.connected("new", user.user_id, ENDPOINT)
    events.publish(events.Event(type="job.updated", recipients=(user.user_id,), data={"id": "J"}))
    assert sent.types("new") == ["job.updated"] and sent.types("old") == []
    kept = connections.sockets_of([user.user_id])[user.user_id]
    assert [s.connection_id for s in kept] == ["new"]


def test_presence_goes_to_counterparts_on_first_open_and_last_close(pair, sent):
    customer, _, _ = pair
    presence.disconnected("c-sock")
    assert sent.of_type("p-sock", "presence") == [{"user_id": customer.user_id, "online": False}]
    sent.frames.clear()
    presence.connected("c-phone", customer.user_id, ENDPOINT)
    presence.connected("c-tablet", customer.user_id, ENDPOINT)
    assert sent.of_type("p-sock", "presence") == [{"user_id": customer.user_id, "online": True}]
    presence.disconnected("c-phone")
    assert len(sent.of_type("p-sock", "presence")) == 1  # the tablet is still there
    presence.disconnected("c-tablet")
    assert sent.of_type("p-sock", "presence")[-1] == {"user_id": customer.user_id, "online": False}


def test_location_route_is_for_the_jobs_participants(as_user, sent, monkeypatch):
    customer, provider, stranger = as_user(), as_user(("providers",)), as_user()
    job = locations.JobParties("JOB9", customer.user_id, provider.user_id, "en_route")
    monkeypatch.setattr(locations, "job_parties", lambda job_id: job if job_id == "JOB9" else None)
    assert customer.call("GET", "/jobs/JOB9/location").status_code == 404  # no position yet
    frame = LocationFrame(action="location.update", job_id="JOB9", lat=38.7, lng=-9.1)
    live.update_location(provider.user_id, frame)
    for who in (customer, provider):
        response = who.call("GET", "/jobs/JOB9/location")
        assert response.status_code == 200
        assert (response.json_body["lat"], response.json_body["lng"]) == (38.7, -9.1)
    assert stranger.call("GET", "/jobs/JOB9/location").status_code == 404
    assert customer.call("GET", "/jobs/OTHER/location").status_code == 404


def test_each_route_stays_within_its_dynamodb_budget(pair):
    customer, _, cid = pair
    runtime.get().participants.clear()
    routes = [
        ("POST", f"/conversations/{cid}/messages"),
        ("GET", f"/conversations/{cid}/messages?after=0"),
        ("POST", f"/conversations/{cid}/read"),
        ("GET", "/conversations"),
    ]
    bodies = {"POST": {"client_msg_id": "budget", "text": "hi"}}
    for method, path in routes:
        body = {"seq": 1} if path.endswith("/read") else bodies.get(method)
        with count_dynamodb_calls() as calls:
            response = customer.call(method, path, body)
        assert response.status_code in (200, 201), (path, response.json_body)
        assert len(calls.calls) <= route_calls(method, path), (path, calls.calls)
        assert calls.scans == 0
    with count_dynamodb_calls() as calls:
        customer.call("GET", f"/conversations/{cid}/messages?after=0")
    assert calls.calls == ["Query"]  # participants are cached once seen


def test_a_conversation_opened_a_moment_ago_is_read_consistently(pair):
    """A participant may read a conversation the moment it opened (the accept's answer
    names it): the container's first look at it is a consistent read, never a replica that
    has not seen it yet (a 404 on one's own conversation)."""
    customer, _, cid = pair
    runtime.get().participants.clear()
    with count_dynamodb_calls() as calls:
        assert customer.call("GET", f"/conversations/{cid}/messages?after=0").status_code == 200
    looks = [body for op, body in calls.requests if op == "GetItem" and cid in json.dumps(body)]
    assert len(looks) == 1 and looks[0].get("ConsistentRead") is True, calls.requests
    assert keys.message(1) < keys.message(10)  # numbers sort as text
