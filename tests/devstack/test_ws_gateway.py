"""The local WebSocket gateway against a small Chalice app, over real sockets."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from chalice.app import Chalice, Response
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from devstack.ws_gateway import WebSocketGateway
from tests.devstack.support import Recorder

pytestmark = pytest.mark.integration


def management_client(gateway: WebSocketGateway) -> Any:
    """What the app's sender builds: the real boto3 client, pointed at the gateway."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.callback_url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}),
    )


def build_app(recorder: Recorder, callback: dict[str, str]) -> Chalice:
    app = Chalice(app_name="gateway-test", configure_logs=False)
    app.experimental_feature_flags.update(["WEBSOCKETS"])
    release = threading.Event()

    @app.on_ws_connect()
    def connect_handler(event: Any) -> Any:
        raw = event.to_dict()
        recorder.add("$connect", raw)
        token = (raw.get("queryStringParameters") or {}).get("token")
        if token == "crash":
            raise RuntimeError("boom")
        if token == "forbidden":
            return Response(body="not yours", status_code=403)
        if token != "good":
            return {"statusCode": 401}
        return {"statusCode": 200}

    @app.on_ws_message()
    def message_handler(event: Any) -> None:
        recorder.add("$default", event.to_dict())
        try:
            body = event.json_body
        except Exception:  # noqa: BLE001 - binary or not JSON: just recorded
            return
        action = body.get("action")
        if action == "echo":
            client = boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=callback["url"],
                region_name="us-east-1",
            )
            frame = {"type": "echo", "text": body.get("text"), "len": len(event.body)}
            client.post_to_connection(ConnectionId=event.connection_id, Data=json.dumps(frame))
        elif action == "fail":
            raise ValueError("handler bug")
        elif action == "block":
            release.wait(5)

    @app.on_ws_disconnect()
    def disconnect_handler(event: Any) -> None:
        recorder.add("$disconnect", event.to_dict())

    app.release = release  # type: ignore[attr-defined]
    return app


GatewayFactory = Callable[..., WebSocketGateway]


@pytest.fixture
def make_gateway(recorder: Recorder) -> Iterator[GatewayFactory]:
    started: list[WebSocketGateway] = []

    def make(**kwargs: Any) -> WebSocketGateway:
        callback: dict[str, str] = {}
        gateway = WebSocketGateway(build_app(recorder, callback), "127.0.0.1", 0, **kwargs)
        gateway.start()
        callback["url"] = gateway.callback_url
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.app.release.set()
        gateway.stop()


@pytest.fixture
def gateway(make_gateway: GatewayFactory) -> WebSocketGateway:
    return make_gateway()


def open_socket(gateway: WebSocketGateway, token: str = "good") -> ClientConnection:
    return connect(f"{gateway.url}/?token={token}", open_timeout=5, close_timeout=1)


def connection_id(recorder: Recorder) -> str:
    cid: str = recorder.wait_for("$connect")[-1]["requestContext"]["connectionId"]
    return cid


def recv_json(ws: ClientConnection, timeout: float = 5) -> Any:
    return json.loads(ws.recv(timeout=timeout))


@pytest.mark.parametrize(("token", "status"), [("bad", 401), ("forbidden", 403), ("crash", 502)])
def test_connect_refused_with_the_handlers_status(
    gateway: WebSocketGateway, recorder: Recorder, token: str, status: int
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gateway, token)
    assert refused.value.response.status_code == status
    assert gateway.connection_ids() == []
    assert recorder.of("$disconnect") == []


def test_connect_event_is_api_gateway_shaped(gateway: WebSocketGateway, recorder: Recorder) -> None:
    with open_socket(gateway, "good"):
        event = recorder.wait_for("$connect")[0]
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "$connect"
    assert ctx["eventType"] == "CONNECT"
    assert ctx["domainName"] == f"127.0.0.1:{gateway.port}"
    assert ctx["stage"] == "local"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert re.fullmatch(r"[A-Za-z0-9]+=", ctx["connectionId"])
    assert event["queryStringParameters"] == {"token": "good"}
    assert event["headers"]["Upgrade"] == "websocket"


def test_default_route_gets_frames_and_the_app_posts_back(
    gateway: WebSocketGateway, recorder: Recorder
) -> None:
    sent = json.dumps({"action": "echo", "text": "hi"})
    with open_socket(gateway) as ws:
        ws.send(sent)
        assert recv_json(ws) == {"type": "echo", "text": "hi", "len": len(sent)}
    message = recorder.wait_for("$default")[0]
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["connectionId"] == connection_id(recorder)
    assert json.loads(message["body"]) == {"action": "echo", "text": "hi"}
    closed = recorder.wait_for("$disconnect")[0]["requestContext"]
    assert closed["connectionId"] == connection_id(recorder)
    assert closed["disconnectStatusCode"] == 1000


def test_get_returns_connection_info(gateway: WebSocketGateway, recorder: Recorder) -> None:
    with open_socket(gateway):
        info = management_client(gateway).get_connection(ConnectionId=connection_id(recorder))
    assert info["Identity"]["SourceIp"] == "127.0.0.1"
    assert info["Identity"]["UserAgent"].startswith("Python/")
    assert info["LastActiveAt"] >= info["ConnectedAt"]


def test_delete_closes_the_socket_then_post_is_gone(
    gateway: WebSocketGateway, recorder: Recorder
) -> None:
    client = management_client(gateway)
    with open_socket(gateway) as ws:
        cid = connection_id(recorder)
        client.delete_connection(ConnectionId=cid)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    disconnect = recorder.wait_for("$disconnect")[0]["requestContext"]
    assert disconnect["connectionId"] == cid
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"late")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId="neverExisted0A=")


def test_post_accepts_the_path_without_stage(gateway: WebSocketGateway, recorder: Recorder) -> None:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{gateway.port}",
        region_name="us-east-1",
    )
    with open_socket(gateway) as ws:
        client.post_to_connection(ConnectionId=connection_id(recorder), Data=b'{"type":"pong"}')
        assert recv_json(ws) == {"type": "pong"}


def test_a_failing_handler_answers_an_error_frame_and_keeps_the_socket(
    gateway: WebSocketGateway,
) -> None:
    with open_socket(gateway) as ws:
        ws.send(json.dumps({"action": "fail"}))
        error = recv_json(ws)
        assert error["message"] == "Internal server error"
        assert {"connectionId", "requestId"} <= error.keys()
        ws.send(json.dumps({"action": "echo", "text": "still here"}))
        assert recv_json(ws)["text"] == "still here"


def test_a_deeply_nested_frame_reaches_the_app_and_the_socket_stays(
    gateway: WebSocketGateway, recorder: Recorder
) -> None:
    deep = '{"action": "echo", "text": ' + "[" * 10000 + "]" * 10000 + "}"
    with open_socket(gateway) as ws:
        ws.send(deep)
        assert recorder.wait_for("$default")[0]["body"] == deep  # routed like API Gateway
        ws.send(json.dumps({"action": "echo", "text": "still here"}))
        assert recv_json(ws)["text"] == "still here"


def test_a_blocked_handler_does_not_hold_up_other_sockets(gateway: WebSocketGateway) -> None:
    with open_socket(gateway) as slow, open_socket(gateway) as fast:
        slow.send(json.dumps({"action": "block"}))
        fast.send(json.dumps({"action": "echo", "text": "fast"}))
        assert recv_json(fast)["text"] == "fast"  # while the other handler still blocks
        slow.send(json.dumps({"action": "echo", "text": "slow"}))
        gateway.app.release.set()
        assert recv_json(slow)["text"] == "slow"


def test_message_over_the_frame_limit_closes_with_1009(
    gateway: WebSocketGateway, recorder: Recorder
) -> None:
    with open_socket(gateway) as ws:
        ws.send("x" * (32 * 1024 + 1))  # one frame
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert recorder.wait_for("$disconnect")[0]["requestContext"]["disconnectStatusCode"] == 1009
    assert recorder.of("$default") == []


def test_a_fragmented_message_up_to_128k_is_delivered(gateway: WebSocketGateway) -> None:
    text = "y" * (100 * 1024)
    body = json.dumps({"action": "echo", "text": text})
    chunks = [body[i : i + 30_000] for i in range(0, len(body), 30_000)]
    with open_socket(gateway) as ws:
        ws.send(chunks)  # continuation frames, each under 32 KiB
        assert recv_json(ws)["len"] == len(body)


def test_message_over_128k_closes_with_1009(gateway: WebSocketGateway) -> None:
    body = "z" * (128 * 1024 + 10)
    with open_socket(gateway) as ws:
        ws.send([body[i : i + 30_000] for i in range(0, len(body), 30_000)])
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_post_over_128k_is_payload_too_large(gateway: WebSocketGateway, recorder: Recorder) -> None:
    client = management_client(gateway)
    with open_socket(gateway) as ws:
        cid = connection_id(recorder)
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=cid, Data=b"a" * (128 * 1024 + 1))
        client.post_to_connection(ConnectionId=cid, Data=b"b" * (128 * 1024))
        assert len(ws.recv(timeout=5)) == 128 * 1024


def test_idle_socket_is_closed_going_away(make_gateway: GatewayFactory, recorder: Recorder) -> None:
    gateway = make_gateway(idle_timeout_s=0.3)
    with open_socket(gateway) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    assert recorder.wait_for("$disconnect")[0]["requestContext"]["disconnectStatusCode"] == 1001


def test_connection_lifetime_is_capped(make_gateway: GatewayFactory) -> None:
    gateway = make_gateway(max_connection_s=0.5)
    with open_socket(gateway) as ws, pytest.raises(ConnectionClosed) as closed:
        for _ in range(100):  # activity resets the idle timer, not the lifetime
            ws.send(json.dumps({"action": "noop"}))
            with contextlib.suppress(TimeoutError):
                ws.recv(timeout=0.1)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001


def test_stop_runs_disconnect_for_open_sockets(
    make_gateway: GatewayFactory, recorder: Recorder
) -> None:
    gateway = make_gateway()
    ws = open_socket(gateway)
    cid = connection_id(recorder)
    gateway.stop()
    assert recorder.wait_for("$disconnect")[0]["requestContext"]["connectionId"] == cid
    ws.close()


def raw_request(gateway: WebSocketGateway, method: str, path: str, **kw: Any) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
    conn.request(method, path, **kw)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_unsigned_management_calls_are_refused(gateway: WebSocketGateway) -> None:
    response = raw_request(gateway, "POST", "/local/@connections/abc%3D", body=b"hi")
    assert response.status == 403
    assert response.getheader("x-amzn-ErrorType") == "ForbiddenException"


def test_plain_http_without_upgrade_is_426(gateway: WebSocketGateway) -> None:
    assert raw_request(gateway, "GET", "/").status == 426


def test_a_call_signed_with_unknown_or_wrong_credentials_is_refused(
    gateway: WebSocketGateway,
) -> None:
    """As AWS: a signature the known credentials do not give is a 403 (the app's own
    signed calls go through: the other tests)."""
    import boto3
    from botocore.exceptions import ClientError

    def client(key: str, secret: str) -> Any:
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=f"http://127.0.0.1:{gateway.port}/local",
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    known_key = next(iter(gateway.credentials))
    for key, secret, code in (
        ("AKIDNOBODY", "x", "UnrecognizedClientException"),
        (known_key, "not-the-secret", "InvalidSignatureException"),
    ):
        with pytest.raises(ClientError) as refused:
            client(key, secret).post_to_connection(ConnectionId="abc=", Data=b"hi")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert refused.value.response["Error"]["Code"] == code
    with pytest.raises(ClientError) as gone:  # the right secret passes the check
        client(known_key, gateway.credentials[known_key]).post_to_connection(
            ConnectionId="abc=", Data=b"hi"
        )
    assert gone.value.response["Error"]["Code"] == "GoneException"
