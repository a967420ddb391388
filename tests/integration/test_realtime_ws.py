"""The WebSocket handlers with hand-built API Gateway events (``tests/events/ws_*.json``),
invoked the way Lambda invokes them, over moto: ``$connect`` token checks, frames and their
``error`` answers, presence, live location."""

from __future__ import annotations

import copy
import http.server
import json
import threading
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import auth, runtime
from chalicelib.adapters.websocket import ApiGatewaySender, SendResult
from chalicelib.services import live
from chalicelib.store import connections, conversations, locations
from chalicelib.store import realtime as store
from tests.support import _KEY, unverified_token

_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[1] / "events"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
ENDPOINT = "https://abcdef1234.execute-api.us-east-1.amazonaws.com/dev"  # from the fixtures


def fixture(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


class FakeSender:
    def __init__(self) -> None:
        self.frames: dict[str, list[dict]] = defaultdict(list)
        self.endpoints: set[str] = set()
        self._lock = threading.Lock()

    def send(self, targets, data):
        result = SendResult()
        for target in targets:
            with self._lock:
                self.frames[target.connection_id].append(json.loads(data))
                self.endpoints.add(target.endpoint)
            result.delivered.append(target)
        return result

    def of_type(self, connection_id: str, type_: str) -> list[dict]:
        return [f["data"] for f in self.frames[connection_id] if f["type"] == type_]


@pytest.fixture(scope="module")
def jwks_url():
    """The test signing key's JWKS, served over HTTP as Cognito serves the pool's."""
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_KEY.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "test", "alg": "RS256", "use": "sig"}]})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture
def jwks(jwks_url, monkeypatch):
    """The app's real verifier, pointed at the test key's JWKS."""
    verifier = auth.TokenVerifier(jwks_url=jwks_url, issuer=ISSUER, audience="test-client")
    runtime.use(verifier=verifier)


@pytest.fixture
def ws(aws, jwks):
    from app import app

    fake = FakeSender()
    runtime.use(sender=fake)
    with Client(app) as client:
        yield Socketry(client, fake)


class Socketry:
    """Drives the app's WebSocket handlers with fixture events."""

    def __init__(self, client: Client, sent: FakeSender) -> None:
        self.client = client
        self.sent = sent

    def connect(self, connection_id: str, token: str | None) -> dict:
        event = fixture("ws_connect")
        event["requestContext"]["connectionId"] = connection_id
        if token is None:
            event.pop("queryStringParameters")
            event.pop("multiValueQueryStringParameters")
        else:
            event["queryStringParameters"] = {"token": token}
            event["multiValueQueryStringParameters"] = {"token": [token]}
        return self.client.lambda_.invoke("ws_connect", event).payload

    def frame(self, connection_id: str, body: object) -> None:
        event = fixture("ws_message")
        event["requestContext"]["connectionId"] = connection_id
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        self.client.lambda_.invoke("ws_message", event)

    def disconnect(self, connection_id: str) -> None:
        event = fixture("ws_disconnect")
        event["requestContext"]["connectionId"] = connection_id
        self.client.lambda_.invoke("ws_disconnect", event)

    def errors(self, connection_id: str) -> list[dict]:
        return self.sent.of_type(connection_id, "error")


def token_for(user_id: str, *groups: str) -> str:
    return unverified_token(user_id, groups or ("customers",))


@pytest.fixture
def chatting(ws):
    """Ana (customer) and Rui (provider) connected, with a job conversation."""
    ws.connect("ana-1", token_for("ana"))
    ws.connect("rui-1", token_for("rui", "providers"))
    cid = conversations.open_conversation(["ana", "rui"], "job", "JOB1")
    ws.sent.frames.clear()
    return cid


def test_the_fixtures_are_api_gateway_shaped():
    for name, route in (("ws_connect", "$connect"), ("ws_message", "$default")):
        ctx = fixture(name)["requestContext"]
        assert ctx["routeKey"] == route
        assert {"connectionId", "domainName", "stage", "apiId"} <= set(ctx)


def test_connect_refuses_missing_and_bad_tokens_with_401(ws):
    claims = jwt.decode(token_for("eve"), options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
        _KEY,
        algorithm="RS256",
        headers={"kid": "test"},
    )
    other_audience = jwt.encode(
        {**claims, "aud": "another-app"}, _KEY, algorithm="RS256", headers={"kid": "test"}
    )
    access = jwt.encode(
        {**claims, "token_use": "access"}, _KEY, algorithm="RS256", headers={"kid": "test"}
    )
    for name, token in {
        "missing": None,
        "empty": "",
        "garbage": "garbage",
        "forged": jwt.encode(claims, _OTHER_KEY, algorithm="RS256", headers={"kid": "test"}),
        "expired": expired,
        "other audience": other_audience,
        "access token": access,
    }.items():
        answer = ws.connect(f"bad-{name}", token)
        assert answer["statusCode"] == 401, name
        assert connections.connection(f"bad-{name}") is None, name
    assert connections.sockets_of(["eve"]) == {}


def test_connect_records_the_socket_with_its_endpoint_and_ttl(ws):
    answer = ws.connect("ana-1", token_for("ana"))
    assert answer["statusCode"] == 200
    record = connections.connection("ana-1")
    assert record is not None
    assert record.user_id == "ana"
    assert record.endpoint == ENDPOINT  # https://{domainName}/{stage}
    assert record.ttl > time.time() + 3600
    ws.connect("ana-2", token_for("ana"))  # a second device
    sockets = connections.sockets_of(["ana"])["ana"]
    assert [s.connection_id for s in sockets] == ["ana-1", "ana-2"]
    ws.disconnect("ana-1")
    assert connections.connection("ana-1") is None
    assert [s.connection_id for s in connections.sockets_of(["ana"])["ana"]] == ["ana-2"]
    ws.disconnect("ana-1")  # a repeated $disconnect changes nothing


def test_the_callback_url_setting_overrides_the_endpoint(ws, monkeypatch):
    local = replace(runtime.settings(), ws_callback_url="http://127.0.0.1:8001/local")
    runtime.use(settings=local)
    ws.connect("local-1", token_for("ana"))
    record = connections.connection("local-1")
    assert record is not None and record.endpoint == "http://127.0.0.1:8001/local"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"text": "no action"}, "Unknown action None"),
        ({"action": "chat.shout"}, "Unknown action 'chat.shout'"),
        ({"action": "chat.send", "conversation_id": "C", "text": "x"}, "client_msg_id"),
        (
            {"action": "chat.send", "conversation_id": "C", "client_msg_id": "a", "text": ""},
            "text",
        ),
        ({"action": "chat.read", "conversation_id": "C", "seq": -1}, "seq"),
        ({"action": "location.update", "job_id": "J", "lat": 999, "lng": 0}, "lat"),
        ({"action": "ping", "extra": 1}, "extra"),
        ('{"action": "ping", "ref": ' + "[" * 5000 + "]" * 5000 + "}", "nests"),
        ("[" * 3000 + "]" * 3000, "nests"),
        ('{"action": "ping", "action": "chat.read"}', "Duplicate key 'action'"),
        ('{"action": "location.update", "job_id": "J", "lat": NaN, "lng": 0}', "NaN"),
        ({"action": "location.update", "job_id": "J", "lat": "45.1", "lng": 0}, "lat"),
        ({"action": "location.update", "job_id": "J", "lat": 1, "lng": True}, "lng"),
        ({"action": "chat.typing", "conversation_id": "C", "typing": "yes"}, "typing"),
        ({"action": "chat.read", "conversation_id": "C", "seq": 1.5}, "seq"),
        (
            {"action": "chat.send", "conversation_id": "C", "client_msg_id": "a", "text": "\u202e"},
            "U+202E",
        ),
        (
            {"action": "chat.send", "conversation_id": "C", "client_msg_id": "a", "text": "a\x00"},
            "U+0000",
        ),
        ({"action": "ping", "ref": "r\x00"}, "U+0000"),
    ],
)
def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays(chatting, ws, body, detail):
    ws.frame("ana-1", body)
    errors = ws.errors("ana-1")
    assert len(errors) == 1
    assert errors[0]["status"] == 400
    assert detail in errors[0]["detail"], errors[0]
    assert connections.connection("ana-1") is not None
    ws.frame("ana-1", {"action": "ping", "ref": "still-there"})
    assert ws.sent.of_type("ana-1", "pong") == [{"ref": "still-there"}]
    assert ws.sent.frames["rui-1"] == []


def test_chat_send_over_the_socket_stores_then_delivers_to_both(chatting, ws):
    cid = chatting
    send = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "a1", "text": "Olá"}
    ws.frame("ana-1", send)
    [delivered] = ws.sent.of_type("rui-1", "chat.message")
    assert (delivered["seq"], delivered["text"], delivered["sender_id"]) == (1, "Olá", "ana")
    assert ws.sent.of_type("ana-1", "chat.message") == [delivered]  # the sender's ack
    ws.frame("ana-1", send)  # retried: stored once, acknowledged to this socket only
    assert ws.sent.of_type("ana-1", "chat.message") == [delivered, delivered]
    assert len(ws.sent.of_type("rui-1", "chat.message")) == 1
    assert [m.seq for m in store.messages_after(cid, 0, 10)[0]] == [1]
    reply = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "r1", "text": "Já vou"}
    ws.frame("rui-1", reply)
    assert [m["text"] for m in ws.sent.of_type("ana-1", "chat.message")][-1] == "Já vou"


def test_typing_goes_to_the_others_only_and_is_not_stored(chatting, ws):
    cid = chatting
    ws.frame("ana-1", {"action": "chat.typing", "conversation_id": cid})
    assert ws.sent.of_type("rui-1", "chat.typing") == [
        {"conversation_id": cid, "user_id": "ana", "typing": True}
    ]
    assert ws.sent.frames["ana-1"] == []
    assert store.messages_after(cid, 0, 10)[0] == []


def test_read_receipts_over_the_socket(chatting, ws):
    cid = chatting
    for n in range(3):
        ws.frame(
            "rui-1",
            {"action": "chat.send", "conversation_id": cid, "client_msg_id": f"m{n}", "text": "x"},
        )
    ws.frame("ana-1", {"action": "chat.read", "conversation_id": cid, "seq": 2})
    expected = {"conversation_id": cid, "user_id": "ana", "seq": 2}
    assert ws.sent.of_type("rui-1", "chat.read") == [expected]
    member = store.member("ana", cid)
    assert member is not None and member.last_read_seq == 2


def test_strangers_get_404_error_frames_and_nobody_hears_them(chatting, ws):
    cid = chatting
    ws.connect("eve-1", token_for("eve"))
    ws.sent.frames.clear()
    for body in (
        {"action": "chat.send", "conversation_id": cid, "client_msg_id": "e", "text": "hi"},
        {"action": "chat.typing", "conversation_id": cid},
        {"action": "chat.read", "conversation_id": cid, "seq": 1},
    ):
        ws.frame("eve-1", body)
    assert [e["status"] for e in ws.errors("eve-1")] == [404, 404, 404]
    assert ws.sent.frames["ana-1"] == [] and ws.sent.frames["rui-1"] == []
    assert store.messages_after(cid, 0, 10)[0] == []


def test_a_frame_from_an_unknown_connection_is_told_to_reconnect(ws):
    ws.frame("never-connected", {"action": "chat.typing", "conversation_id": "C1"})
    [error] = ws.errors("never-connected")
    assert error["status"] == 401


def test_presence_on_first_open_and_last_close(chatting, ws):
    ws.connect("ana-2", token_for("ana"))
    assert ws.sent.of_type("rui-1", "presence") == []  # ana was already online
    ws.disconnect("ana-1")
    ws.disconnect("ana-2")
    assert ws.sent.of_type("rui-1", "presence") == [{"user_id": "ana", "online": False}]
    ws.connect("ana-3", token_for("ana"))
    assert ws.sent.of_type("rui-1", "presence")[-1] == {"user_id": "ana", "online": True}


@pytest.fixture
def job(chatting, ws, monkeypatch):
    """Rui drives to Ana's job; Eve is a stranger with a socket."""
    state = {"value": "en_route"}
    parties = lambda job_id: (  # noqa: E731
        locations.JobParties("JOB1", "ana", "rui", state["value"]) if job_id == "JOB1" else None
    )
    monkeypatch.setattr(locations, "job_parties", parties)
    ws.connect("eve-1", token_for("eve"))
    ws.sent.frames.clear()
    return state


def location(lat: float = 38.71, lng: float = -9.14, **extra) -> dict:
    return {"action": "location.update", "job_id": "JOB1", "lat": lat, "lng": lng, **extra}


def test_live_location_reaches_the_customer_only(job, ws):
    ws.frame("rui-1", location(heading=90, speed_mps=8.5, ref="loc-1"))
    [seen] = ws.sent.of_type("ana-1", "job.location")
    assert (seen["job_id"], seen["lat"], seen["lng"], seen["heading"]) == ("JOB1", 38.71, -9.14, 90)
    assert ws.sent.frames["eve-1"] == []
    assert ws.errors("rui-1") == []
    kept = locations.location("JOB1")
    assert kept is not None and float(kept.lat) == 38.71


def test_location_updates_are_throttled_per_job(job, ws):
    ws.frame("rui-1", location(38.71))
    ws.frame("rui-1", location(38.72, ref="too-soon"))
    [error] = ws.errors("rui-1")
    assert (error["status"], error["ref"]) == (429, "too-soon")
    assert len(ws.sent.of_type("ana-1", "job.location")) == 1
    kept = locations.location("JOB1")
    assert kept is not None and float(kept.lat) == 38.71
    item = copy.copy(kept)  # a second later the next one is taken
    item.at_ms = int(kept.at_ms) - live.LOCATION_INTERVAL_MS
    item.save()
    ws.frame("rui-1", location(38.73))
    assert [f["lat"] for f in ws.sent.of_type("ana-1", "job.location")] == [38.71, 38.73]


def test_nobody_else_can_send_a_location(job, ws):
    ws.frame("ana-1", location())  # the customer
    ws.frame("eve-1", location())  # a stranger
    assert [e["status"] for e in ws.errors("ana-1")] == [403]
    assert [e["status"] for e in ws.errors("eve-1")] == [404]
    job["value"] = "accepted"  # not on the way yet
    ws.frame("rui-1", location())
    [error] = ws.errors("rui-1")
    assert error["status"] == 409 and "en_route" in error["detail"]
    assert ws.sent.of_type("ana-1", "job.location") == []
    assert locations.location("JOB1") is None


def test_the_real_sender_posts_through_the_management_api(aws):
    """The boto3 ``apigatewaymanagementapi`` path, against moto's implementation."""
    from moto.backends import get_backend

    sender = ApiGatewaySender()
    targets = [store_target("conn-a"), store_target("conn-b")]
    result = sender.send(targets, b'{"type":"pong"}')
    assert result.delivered == targets
    backend = get_backend("apigatewaymanagementapi")["123456789012"]["us-east-1"]
    assert backend.connections["conn-a"].data == b'{"type":"pong"}'
    assert backend.connections["conn-b"].data == b'{"type":"pong"}'


def store_target(connection_id: str):
    from chalicelib.adapters.websocket import Target

    return Target(connection_id, ENDPOINT)


# --- per-user limits (docs/realtime.md "Limits") ----------------------------------------


def test_a_socket_over_the_per_user_limit_is_refused_with_429_and_recorded_nowhere(ws):
    most = runtime.settings().limit_sockets
    assert most == 5  # the default
    for n in range(most):
        assert ws.connect(f"ana-{n}", token_for("ana"))["statusCode"] == 200
    refused = ws.connect("ana-extra", token_for("ana"))
    assert refused["statusCode"] == 429
    assert int(refused["headers"]["Retry-After"]) >= 1
    assert "At most 5 live connections" in refused["body"]
    assert connections.connection("ana-extra") is None
    assert len(connections.sockets_of(["ana"])["ana"]) == most
    assert ws.connect("rui-1", token_for("rui"))["statusCode"] == 200  # per user
    ws.disconnect("ana-0")  # a slot frees when a socket closes
    assert ws.connect("ana-extra", token_for("ana"))["statusCode"] == 200
    assert connections.connection("ana-extra") is not None


def test_sockets_whose_disconnect_was_lost_do_not_count_against_the_limit(ws):
    expired_at = time.time() - connections.CONNECTION_TTL_S - 1
    for n in range(runtime.settings().limit_sockets):
        connections.add_connection(f"lost-{n}", "ana", ENDPOINT, expired_at)
    assert ws.connect("ana-new", token_for("ana"))["statusCode"] == 200
    assert [s.connection_id for s in connections.sockets_of(["ana"])["ana"]] == ["ana-new"]


def test_a_chat_frame_over_the_limit_gets_a_429_error_frame_and_is_not_stored(chatting, ws):
    cid = chatting
    # 3 frames per window, and a window of 3e6 s: the test never straddles two windows
    tight = replace(runtime.settings(), limit_chat_burst=3, limit_chat_per_second=1e-6)
    runtime.use(settings=tight)
    for n in range(4):
        ws.frame(
            "ana-1",
            {"action": "chat.send", "conversation_id": cid, "client_msg_id": f"b{n}", "text": "x"},
        )
    [error] = ws.errors("ana-1")
    assert (error["status"], error["action"]) == (429, "chat.send")
    assert error["retry_after"] >= 1
    assert "At most 3 chat messages" in error["detail"]
    stored = store.messages_after(cid, 0, 10)[0]
    assert [m.client_msg_id for m in stored] == ["b0", "b1", "b2"]  # b3 is not stored
    assert [m["client_msg_id"] for m in ws.sent.of_type("rui-1", "chat.message")] == [
        "b0",
        "b1",
        "b2",
    ]
    ws.frame("ana-1", {"action": "ping", "ref": "still-open"})  # the socket stays open
    assert ws.sent.of_type("ana-1", "pong") == [{"ref": "still-open"}]
    ws.connect("ana-2", token_for("ana"))  # the limit is per socket: a second device sends
    send = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "c1", "text": "y"}
    ws.frame("ana-2", send)
    assert ws.errors("ana-2") == []
    assert stored[-1].seq < store.messages_after(cid, 0, 10)[0][-1].seq


def test_chat_windows_hold_the_burst_and_open_again(aws):
    from chalicelib.errors import TooFrequent
    from chalicelib.services import limits

    s = runtime.settings()  # 5 a second, bursts of 10: windows of 2 s holding 10 frames
    assert (s.limit_chat_per_second, s.limit_chat_burst) == (5.0, 10)
    for _ in range(10):
        limits.chat_frame("c", now=1000.5)
    with pytest.raises(TooFrequent) as refused:
        limits.chat_frame("c", now=1001.2)
    assert refused.value.retry_after == 1  # the window [1000, 1002) ends in 0.8 s
    limits.chat_frame("c", now=1002.0)  # the next window
    limits.chat_frame("other", now=1001.2)  # per connection


def test_what_the_limits_cost_in_dynamodb_calls(chatting, ws):
    from tests.support import count_dynamodb_calls

    cid = chatting
    send = {"action": "chat.send", "conversation_id": cid, "client_msg_id": "k1", "text": "x"}
    ws.frame("ana-1", {"action": "chat.typing", "conversation_id": cid})  # a warm container
    with count_dynamodb_calls() as calls:
        ws.frame("ana-1", send)
    # docs/realtime.md: chat.send 4, the rate counter first; the sockets are read with the
    # conversation once the container knows its participants
    assert calls.calls == ["UpdateItem", "BatchGetItem", "UpdateItem", "PutItem"]
    assert [m["client_msg_id"] for m in ws.sent.of_type("rui-1", "chat.message")] == ["k1"]
    runtime.use(
        settings=replace(runtime.settings(), limit_chat_burst=1, limit_chat_per_second=1e-6)
    )
    ws.frame("ana-1", {**send, "client_msg_id": "k2"})
    with count_dynamodb_calls() as refused:
        ws.frame("ana-1", {**send, "client_msg_id": "k3"})
    assert ws.errors("ana-1")[-1]["status"] == 429
    assert refused.calls == ["UpdateItem"]
    for n in range(2, runtime.settings().limit_sockets + 1):
        with count_dynamodb_calls() as connect:
            assert ws.connect(f"ana-{n}", token_for("ana"))["statusCode"] == 200
        assert sorted(connect.calls) == ["PutItem", "UpdateItem"]
    with count_dynamodb_calls() as full:
        assert ws.connect("ana-full", token_for("ana"))["statusCode"] == 429
    assert full.calls == ["UpdateItem", "GetItem"]  # nothing expired to make room with
