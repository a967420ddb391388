"""A local API Gateway WebSocket API for the Chalice app (``chalice local`` has none).

Run it with ``python -m devstack.ws_gateway --host 127.0.0.1 --port 8001``, or from code::

    gw = WebSocketGateway(app, "127.0.0.1", 0, stage="local")
    gw.start()            # returns once listening; gw.port is the real port
    ...                   # clients connect to gw.url; the app posts to gw.callback_url
    gw.stop()             # closes every socket ($disconnect runs) and the server

What API Gateway does, and so does this gateway
------------------------------------------------
* **$connect.** The upgrade request becomes a ``$connect`` proxy event (headers,
  ``queryStringParameters`` such as ``?token=<Cognito ID token>``, ``requestContext``
  with a fresh base64-style ``connectionId``, ``domainName`` ``127.0.0.1:<port>``,
  ``stage``, ``apiId``, ``connectedAt``, ``identity.sourceIp``), and the app's own
  ``@app.on_ws_connect`` handler runs as Lambda runs it: the wrapped handler in
  ``app.handler_map`` is called with ``(event, context)`` and answers a dict with a
  ``statusCode``. A non-2xx status refuses the upgrade with that HTTP status (the client
  sees e.g. ``401``); a handler that raises refuses it with ``502`` (Lambda integration
  error). No ``$connect`` handler means every connection is accepted. The socket only
  becomes reachable through ``@connections`` once the upgrade completes, so a
  ``post_to_connection`` from inside ``$connect`` gets ``GoneException`` as on AWS.
* **Messages.** Each message is routed with the route selection expression Chalice
  deploys, ``$request.body.action``: a JSON ``{"action": "x"}`` goes to route ``x`` if the
  app registered it, otherwise to ``$default`` (Chalice 1.34 only ever registers
  ``$default``: ``on_ws_message(name=...)`` names the function, not the route). Messages
  are handled concurrently in a thread pool, as Lambda invokes concurrently: nothing
  guarantees order between two frames of one socket, and a slow handler never blocks
  other sockets. A handler that raises makes the gateway send the client the frame API
  Gateway sends, ``{"message": "Internal server error", "connectionId", "requestId"}``;
  no matching route gives ``{"message": "Forbidden", ...}``. The handler's return value
  is not sent back (Chalice creates no route responses). Binary frames reach the handler
  base64-encoded with ``isBase64Encoded: true``.
* **$disconnect.** When a socket closes, for whatever reason, ``$disconnect`` runs with
  ``disconnectStatusCode`` / ``disconnectReason``. On AWS it is best effort; here it
  always runs, including for every open socket at ``stop()``.
* **@connections management API**, on the same port: ``POST``, ``GET`` and ``DELETE``
  ``/<stage>/@connections/<id>`` (also accepted without the stage), i.e. what boto3's
  ``apigatewaymanagementapi`` client sends with ``endpoint_url=http://127.0.0.1:<port>/<stage>``.
  ``POST`` sends its body to the socket (a text frame if it is UTF-8, else binary) → 200;
  ``GET`` → ``{"connectedAt", "identity": {"sourceIp", "userAgent"}, "lastActiveAt"}``
  (the wire names; boto3 shows them as ``ConnectedAt``, ``Identity``...); ``DELETE``
  closes the socket (close code 1000) → 204. An unknown or closed connection id answers
  ``410`` with ``x-amzn-ErrorType: GoneException`` and a ``{"message": ...}`` body, so
  boto3 raises ``client.exceptions.GoneException``. A request without an
  ``Authorization`` header is refused with 403 ``ForbiddenException`` ("Missing
  Authentication Token"), as AWS does for unsigned calls, and a SigV4 signature that the
  known credentials (``credentials``; default this process's AWS credentials) do not give
  is a 403 ``InvalidSignatureException`` / ``UnrecognizedClientException``
  (``devstack/sigv4.py``).

Limits (API Gateway quotas, all constructor arguments)
-------------------------------------------------------
========================== ================ ===========================================
limit                      default          on breach
========================== ================ ===========================================
message payload            128 KiB          socket closed with 1009 (message too big)
frame size                 32 KiB           socket closed with 1009; larger messages
                                            must be sent as continuation frames
idle timeout               10 min           closed with 1001 (going away); only frames
                                            *from the client* count as activity,
                                            server pushes do not keep a socket alive
connection duration        2 h              closed with 1001
``@connections`` POST body 128 KiB          413 ``PayloadTooLargeException``
========================== ================ ===========================================

Faults (``devstack/faults.py``, off unless switched on): a ``POST`` may answer ``500``
``InternalServerErrorException``, or drop the socket and answer ``410``.

Not emulated: IAM policies on ``@connections`` (any valid signature may call), throttling
(``LimitExceeded``), new-connection rate quotas, permessage-deflate (API Gateway doesn't
negotiate it either),
route responses, API keys and authorizers on ``$connect`` (the app verifies the token
itself, see issue 4).

Sending from the app
--------------------
Chalice's ``app.websocket_api.send`` builds ``https://{domainName}/{stage}`` itself, which
can never reach this gateway (no TLS, and it ignores ``AWS_ENDPOINT_URL``). The app must
use its own sender: a boto3 ``apigatewaymanagementapi`` client whose ``endpoint_url`` comes
from configuration - the environment variable ``SUMMON_WS_CALLBACK_URL``
(``http://127.0.0.1:8001/local`` locally, ``https://<api-id>.execute-api.<region>.amazonaws.com/<stage>``
in the cloud; :attr:`WebSocketGateway.callback_url` gives the local value). Chalice is not
patched. The gateway still calls Chalice's wrapped handler, which calls
``websocket_api.configure_from_api_id``; that needs a region, so :meth:`WebSocketGateway.start`
sets ``AWS_REGION`` if neither it nor ``AWS_DEFAULT_REGION`` is set (the Lambda runtime
always sets it).
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import functools
import json
import logging
import os
import re
import signal
import threading
import uuid
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import unquote

from chalice.local import LambdaContext
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from devstack import events, faults, lifeline, logs, sigv4

LOG = logging.getLogger("devstack.ws_gateway")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001
DEFAULT_STAGE = "local"

KIB = 1024
MAX_MESSAGE_BYTES = 128 * KIB
MAX_FRAME_BYTES = 32 * KIB
MAX_POST_BYTES = 128 * KIB
IDLE_TIMEOUT_S = 10 * 60.0
MAX_CONNECTION_S = 2 * 60 * 60.0
#: Lambda timeout reported by ``context.get_remaining_time_in_millis()``.
HANDLER_TIMEOUT_S = 60.0

_MAX_HEAD_BYTES = 64 * KIB
_MAX_BUFFERED_BODY = 16 * 1024 * KIB  # beyond this a body is discarded, not buffered
_MGMT_PATH = re.compile(r"^/(?:(?P<stage>[^/]+)/)?@connections/(?P<id>[^/]+)/?$")
_CLOSE_REASONS = {
    1000: "Connection Closed Normally",
    1001: "Going Away",
    1005: "Client-side close frame status not set",
    1006: "Connection closed abnormally",
    1009: "Message too big",
}


class _GatewayConnection(ServerConnection):
    """A websockets connection that can also read the body of a plain HTTP request.

    websockets parses only bodiless requests (it answers 400 "unsupported request body"
    otherwise), but ``POST @connections`` carries the data to send. So the first request
    is sniffed here: its body (``Content-Length`` bytes) is taken off the stream and kept
    in :attr:`http_body`, and websockets sees the same request without a body, which
    ``process_request`` then answers. WebSocket upgrades have no body and pass through.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http_body = b""
        self.http_body_length = 0
        self.gateway_conn: events.WsConnection | None = None
        self._sniffing = True
        self._buffer = bytearray()
        self._head: bytes | None = None
        self._body_left = 0

    def data_received(self, data: bytes) -> None:
        if not self._sniffing:
            super().data_received(data)
            return
        self._buffer += data
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEAD_BYTES:
                    self._pass_through(bytes(self._buffer))  # websockets rejects it
                return
            head = bytes(self._buffer[: end + 4])
            del self._buffer[: end + 4]
            length = _content_length(head)
            if not length:
                self._pass_through(head + bytes(self._buffer))
                return
            self._head = _strip_content_length(head)
            self._body_left = self.http_body_length = length
        take = min(self._body_left, len(self._buffer))
        if self.http_body_length <= _MAX_BUFFERED_BODY:
            self.http_body += bytes(self._buffer[:take])
        del self._buffer[:take]
        self._body_left -= take
        if self._body_left == 0:
            self._pass_through(self._head + bytes(self._buffer))

    def _pass_through(self, data: bytes) -> None:
        self._sniffing = False
        self._buffer = bytearray()
        super().data_received(data)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return max(int(value.strip()), 0)
            except ValueError:
                return 0
    return 0


def _strip_content_length(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    kept = [ln for ln in lines if ln.partition(b":")[0].strip().lower() != b"content-length"]
    return b"\r\n".join(kept)


def _http_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    error_type: str | None = None,
) -> Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
    )
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    return Response(status, phrase, headers, body)


def _aws_error(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"message": message}).encode()
    return _http_response(status, body, error_type=error_type)


@dataclass
class _Live:
    """An open socket as the management API sees it."""

    meta: events.WsConnection
    ws: ServerConnection
    last_active_ms: int
    last_active_mono: float
    closing: bool = False


class WebSocketGateway:
    """Local API Gateway WebSocket API in front of a Chalice app (see the module doc).

    Args:
        app: the ``Chalice`` object (``devstack.appload.load_app()``).
        host, port: where to listen; port 0 picks a free port (read :attr:`port`).
        stage: the stage name in events and in ``@connections`` paths.
        api_id: ``requestContext.apiId``.
        region: set as ``AWS_REGION`` at start if the environment has no region.
        idle_timeout_s, max_connection_s: API Gateway's 10 min / 2 h.
        max_message_bytes, max_frame_bytes, max_post_bytes: 128 KiB / 32 KiB / 128 KiB.
        max_workers: threads running handlers (they do blocking boto3 I/O).
    """

    def __init__(
        self,
        app: Any,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        stage: str = DEFAULT_STAGE,
        *,
        api_id: str = "local",
        region: str = "us-east-1",
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connection_s: float = MAX_CONNECTION_S,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_post_bytes: int = MAX_POST_BYTES,
        max_workers: int = 32,
        handler_timeout_s: float = HANDLER_TIMEOUT_S,
        credentials: Mapping[str, str] | None = None,
        fault_switch: faults.Follower | None = None,
    ) -> None:
        self.app = app
        self.faults = fault_switch
        """Injected ``connections`` faults (``devstack/faults.py``); None: never."""
        self.credentials = (
            dict(credentials) if credentials is not None else sigv4.known_credentials()
        )
        """Access key → secret the ``@connections`` callers may sign with (default: this
        process's AWS credentials, which the local stack's processes share)."""
        self.host = host
        self.port = port
        self.stage = stage
        self.api_id = api_id
        self.region = region
        self.idle_timeout_s = idle_timeout_s
        self.max_connection_s = max_connection_s
        self.max_message_bytes = max_message_bytes
        self.max_frame_bytes = max_frame_bytes
        self.max_post_bytes = max_post_bytes
        self.handler_timeout_s = handler_timeout_s
        self._max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._conns: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Where clients connect: ``ws://127.0.0.1:<port>``."""
        return f"ws://{self.host}:{self.port}"

    @property
    def callback_url(self) -> str:
        """The ``@connections`` endpoint for the app's sender (``SUMMON_WS_CALLBACK_URL``)."""
        return f"http://{self.host}:{self.port}/{self.stage}"

    @property
    def domain_name(self) -> str:
        return f"{self.host}:{self.port}"

    def connection_ids(self) -> list[str]:
        """Ids of the sockets currently open."""
        return [cid for cid, live in list(self._conns.items()) if not live.closing]

    def start(self, timeout: float = 10.0) -> None:
        """Listen in a background thread with its own event loop; return once listening."""
        if self._thread is not None:
            raise RuntimeError("gateway already started")
        if "AWS_REGION" not in os.environ and "AWS_DEFAULT_REGION" not in os.environ:
            os.environ["AWS_REGION"] = self.region
        self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="ws-handler")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="ws-gateway", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("WebSocket gateway did not start")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self, timeout: float = 10.0) -> None:
        """Close every socket (running ``$disconnect`` for each) and stop listening."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._close(), loop)
        try:
            fut.result(timeout)
        except Exception:
            LOG.exception("error while closing the WebSocket gateway")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread = self._loop = self._pool = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self) -> None:
        self._server = await serve(
            self._serve_socket,
            self.host,
            self.port,
            process_request=self._process_request,
            create_connection=_GatewayConnection,
            max_size=(self.max_message_bytes, self.max_frame_bytes),
            compression=None,
            ping_interval=None,  # API Gateway answers pings but doesn't send them
            close_timeout=2,
            server_header=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        LOG.info(
            "WebSocket API on %s (stage %s), @connections at %s",
            self.url,
            self.stage,
            self.callback_url,
        )

    async def _close(self) -> None:
        if self._server is None:
            return
        self._server.close(close_connections=True)
        await self._server.wait_closed()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.handler_timeout_s)

    # ------------------------------------------------------------------ handlers

    def _call_handler(self, route_key: str, event: dict[str, Any]) -> Any:
        """Run the app's handler for ``route_key`` the way Lambda does (in a pool thread)."""
        config = self.app.websocket_handlers[route_key]
        handler = self.app.handler_map[config.name]
        context = LambdaContext(
            function_name=f"{self.app.app_name}-{self.stage}-{config.name}",
            memory_size=128,
            max_runtime_ms=int(self.handler_timeout_s * 1000),
        )
        return handler(event, context)

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        call = functools.partial(self._call_handler, route_key, event)
        return await loop.run_in_executor(self._pool, call)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ HTTP side

    async def _process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        assert isinstance(connection, _GatewayConnection)
        path, _, query = request.path.partition("?")
        if "@connections" in path or "%40connections" in path:
            return await self._management(connection, request, path)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return None  # websockets answers 426 Upgrade Required
        handshake = connection.protocol.accept(request)
        if handshake.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            return handshake  # a malformed upgrade never reaches $connect
        host, *_ = connection.remote_address or ("127.0.0.1",)
        meta = events.WsConnection(
            connection_id=events.new_connection_id(),
            domain_name=self.domain_name,
            stage=self.stage,
            api_id=self.api_id,
            connected_at_ms=events.now_ms(),
            source_ip=str(host),
            user_agent=request.headers.get("User-Agent"),
        )
        refusal = await self._run_connect(meta, request, query)
        if refusal is not None:
            return refusal
        connection.gateway_conn = meta
        return handshake

    async def _run_connect(
        self, meta: events.WsConnection, request: Request, query: str
    ) -> Response | None:
        if "$connect" not in self.app.websocket_handlers:
            return None
        event = events.ws_connect_event(
            meta, headers=list(request.headers.raw_items()), query_string=query
        )
        try:
            result = await self._invoke("$connect", event)
        except Exception:
            LOG.exception("$connect handler failed for %s", meta.connection_id)
            return _aws_error(502, "InternalServerErrorException", "Internal server error")
        status = 200
        body = b""
        if isinstance(result, dict):
            try:
                status = int(result.get("statusCode", 200))
            except (TypeError, ValueError):
                status = 502
            raw = result.get("body")
            if isinstance(raw, str):
                body = raw.encode()
        if 200 <= status < 300:
            return None
        LOG.info(
            "refused %s from %s: $connect answered %d", meta.connection_id, meta.source_ip, status
        )
        return _http_response(status, body, content_type="text/plain; charset=utf-8")

    async def _management(
        self, connection: _GatewayConnection, request: Request, path: str
    ) -> Response:
        """The ``@connections`` API: POST (send), GET (info), DELETE (close)."""
        segments = [unquote(s) for s in path.split("/")]
        match = _MGMT_PATH.match("/".join(segments))
        if match is None:
            return _aws_error(404, "NotFoundException", "Not Found")
        if match["stage"] not in (None, self.stage):
            return _aws_error(403, "ForbiddenException", "Forbidden")
        if "Authorization" not in request.headers:
            return _aws_error(403, "ForbiddenException", "Missing Authentication Token")
        method = request.method.upper()
        url = f"http://{request.headers.get('Host', self.host)}{request.path}"
        refused = sigv4.problem(
            method, url, dict(request.headers.raw_items()), connection.http_body, self.credentials
        )
        if refused is not None:
            return _aws_error(403, *refused)
        live = self._conns.get(match["id"])
        if live is None or live.closing:
            return _aws_error(410, "GoneException", "Gone")
        if method == "POST":
            return await self._post(connection, live)
        if method == "GET":
            info = {
                "connectedAt": events.iso8601(live.meta.connected_at_ms),
                "identity": {
                    "sourceIp": live.meta.source_ip,
                    "userAgent": live.meta.user_agent or "",
                },
                "lastActiveAt": events.iso8601(live.last_active_ms),
            }
            return _http_response(200, json.dumps(info).encode())
        if method == "DELETE":
            live.closing = True
            self._spawn(live.ws.close(1000, ""))
            return _http_response(204)
        return _aws_error(405, "MethodNotAllowedException", f"{method} not allowed")

    async def _post(self, connection: _GatewayConnection, live: _Live) -> Response:
        if connection.http_body_length > self.max_post_bytes:
            return _aws_error(
                413,
                "PayloadTooLargeException",
                f"Message too long. Max allowed size is {self.max_post_bytes} bytes.",
            )
        if self.faults is not None and self.faults.roll("connections"):
            return await self._fail_post(live)
        data = connection.http_body
        try:
            frame: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            frame = data
        try:
            await live.ws.send(frame)
        except ConnectionClosed:
            return _aws_error(410, "GoneException", "Gone")
        return _http_response(200)

    async def _fail_post(self, live: _Live) -> Response:
        """An injected ``connections`` fault: a 500 (the socket stays), or the socket
        dropped as a lost network drops it and the 410 a post to it then gets."""
        assert self.faults is not None
        if self.faults.dice.pick("connections", ["error", "gone"]) == "error":
            return _aws_error(500, "InternalServerErrorException", "Internal server error")
        live.closing = True
        self._spawn(live.ws.close(1001, "Going away"))
        return _aws_error(410, "GoneException", "Gone")

    # ------------------------------------------------------------------ sockets

    async def _serve_socket(self, ws: ServerConnection) -> None:
        assert isinstance(ws, _GatewayConnection)
        meta = ws.gateway_conn
        if meta is None:
            return
        loop = asyncio.get_running_loop()
        opened = loop.time()
        live = _Live(meta=meta, ws=ws, last_active_ms=meta.connected_at_ms, last_active_mono=opened)
        self._conns[meta.connection_id] = live
        LOG.info(
            "connect %s from %s (%d open)", meta.connection_id, meta.source_ip, len(self._conns)
        )
        try:
            await self._read_loop(live, opened + self.max_connection_s)
        finally:
            self._conns.pop(meta.connection_id, None)
            code, reason = _close_status(ws)
            LOG.info(
                "disconnect %s code=%d (%s) after %.1fs (%d open)",
                meta.connection_id,
                code,
                reason,
                loop.time() - opened,
                len(self._conns),
            )
            if "$disconnect" in self.app.websocket_handlers:
                event = events.ws_disconnect_event(meta, status_code=code, reason=reason)
                try:
                    await self._invoke("$disconnect", event)
                except Exception:
                    LOG.exception("$disconnect handler failed for %s", meta.connection_id)

    async def _read_loop(self, live: _Live, end_of_life: float) -> None:
        ws = live.ws
        while True:
            deadline = min(live.last_active_mono + self.idle_timeout_s, end_of_life)
            try:
                async with asyncio.timeout_at(deadline):
                    message = await ws.recv()
            except TimeoutError:
                live.closing = True
                await ws.close(1001, "Going away")
                return
            except ConnectionClosed:
                return
            live.last_active_mono = asyncio.get_running_loop().time()
            live.last_active_ms = events.now_ms()
            self._spawn(self._dispatch(live, message))

    async def _dispatch(self, live: _Live, message: str | bytes) -> None:
        try:
            await self._route(live, message)
        except Exception:  # a frame never kills the gateway's task silently
            LOG.exception("frame on %s could not be dispatched", live.meta.connection_id)
            await self._send_error(live, "Internal server error")

    async def _route(self, live: _Live, message: str | bytes) -> None:
        route = events.select_route(message, self.app.websocket_handlers.keys())
        if route is None:
            await self._send_error(live, "Forbidden")
            return
        event = events.ws_message_event(live.meta, route_key=route, body=message)
        try:
            await self._invoke(route, event)
        except Exception:
            LOG.exception("%s handler failed for %s", route, live.meta.connection_id)
            await self._send_error(live, "Internal server error", event)

    async def _send_error(
        self, live: _Live, message: str, event: dict[str, Any] | None = None
    ) -> None:
        request_id = event["requestContext"]["requestId"] if event else events.new_request_id()
        frame = events.ws_error_frame(
            message, connection_id=live.meta.connection_id, request_id=request_id
        )
        try:
            await live.ws.send(frame)
        except ConnectionClosed:
            pass


def _close_status(ws: ServerConnection) -> tuple[int, str]:
    """``disconnectStatusCode``/``disconnectReason``: whoever closed first decides."""
    proto = ws.protocol
    if proto.close_rcvd is not None and (proto.close_rcvd_then_sent or proto.close_sent is None):
        code, reason = int(proto.close_rcvd.code), proto.close_rcvd.reason
    elif proto.close_sent is not None:
        code, reason = int(proto.close_sent.code), proto.close_sent.reason
    else:
        code, reason = 1006, ""
    return code, reason or _CLOSE_REASONS.get(code, "")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m devstack.ws_gateway``: serve the app in ``app.py`` until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m devstack.ws_gateway", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--stage", default=DEFAULT_STAGE)
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT_S, metavar="S")
    parser.add_argument("--max-connection", type=float, default=MAX_CONNECTION_S, metavar="S")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logs.configure(args.log_level)
    lifeline.exit_with_parent()
    logging.getLogger("websockets").setLevel(logging.WARNING)  # one line per socket is ours

    from devstack import meter, timing
    from devstack.appload import load_app
    from devstack.emulator import steady_gc

    if timing.enabled():  # DEVSTACK_TIMING_FILE: per-stage timings for bench.chat_latency
        timing.install_gateway(WebSocketGateway)
    gateway = WebSocketGateway(
        meter.maybe_load(load_app, "ws"),
        args.host,
        args.port,
        args.stage,
        idle_timeout_s=args.idle_timeout,
        max_connection_s=args.max_connection,
        fault_switch=faults.follow("ws"),
    )
    steady_gc()  # no long GC pause in the middle of a frame's round trip
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    gateway.start()
    while not stop.wait(0.5):
        pass
    gateway.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
