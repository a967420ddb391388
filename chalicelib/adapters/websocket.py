"""The WebSocket sender: frames to live connections through the ``@connections`` API.

Each connection record carries its own callback endpoint (``https://{domainName}/{stage}``
in the cloud, the local gateway's ``SUMMON_WS_CALLBACK_URL`` in the local stack; see
:func:`endpoint_for`), so HTTP routes, WebSocket handlers and event handlers can all send
to any user. Chalice's ``app.websocket_api.send`` is not used: it builds the https URL
itself and cannot reach the local gateway.

:meth:`Sender.send` fans one frame out to many connections in parallel (a small thread pool;
one boto3 client per endpoint, shared across threads). A ``GoneException`` (the socket is
closed) is reported back, so the caller forgets that connection; any other failure is
logged and reported too; neither stops the other sends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import runtime

log = logging.getLogger("summon.websocket")

MAX_WORKERS = 8
"""Parallel sends per fan-out (each is one HTTPS call of a few ms)."""

_CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=MAX_WORKERS * 2,
)


def endpoint_for(domain_name: str, stage: str) -> str:
    """The ``@connections`` endpoint of a connection that came in on ``domain_name``/``stage``:
    ``SUMMON_WS_CALLBACK_URL`` when set (the local gateway; or the execute-api URL when the
    socket API sits behind a custom domain), ``https://{domain_name}/{stage}`` otherwise."""
    configured = runtime.settings().ws_callback_url
    if configured:
        return configured.rstrip("/")
    return f"https://{domain_name}/{stage}"


@dataclass(frozen=True)
class Target:
    connection_id: str
    endpoint: str


@dataclass
class SendResult:
    delivered: list[Target] = field(default_factory=list)
    gone: list[Target] = field(default_factory=list)
    failed: list[Target] = field(default_factory=list)


class Sender(Protocol):
    def send(self, targets: Sequence[Target], data: bytes) -> SendResult: ...

    def close(self, targets: Sequence[Target]) -> int: ...


class ApiGatewaySender:
    """:class:`Sender` over boto3's ``apigatewaymanagementapi`` client."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="ws-send")

    def client(self, endpoint: str) -> Any:
        """One client per endpoint (creating boto3 clients is slow and not thread-safe)."""
        with self._lock:
            found = self._clients.get(endpoint)
            if found is None:
                found = boto3.session.Session().client(
                    "apigatewaymanagementapi",
                    endpoint_url=endpoint,
                    region_name=runtime.settings().region,
                    config=_CLIENT_CONFIG,
                )
                self._clients[endpoint] = found
            return found

    def _send_one(self, target: Target, data: bytes) -> str:
        try:
            self.client(target.endpoint).post_to_connection(
                ConnectionId=target.connection_id, Data=data
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "GoneException":
                return "gone"
            log.warning("send to %s failed: %s", target.connection_id, code or exc)
            return "failed"
        except BotoCoreError as exc:
            log.warning("send to %s failed: %s", target.connection_id, exc)
            return "failed"
        except Exception:
            log.exception("send to %s failed", target.connection_id)
            return "failed"
        return "delivered"

    def close(self, targets: Sequence[Target]) -> int:
        """Close these sockets (``DELETE @connections``); how many were open. A socket
        already gone counts as closed; any other failure is logged and not counted."""
        closed = 0
        for target in targets:
            try:
                self.client(target.endpoint).delete_connection(ConnectionId=target.connection_id)
                closed += 1
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") != "GoneException":
                    log.warning("close of %s failed: %s", target.connection_id, exc)
            except BotoCoreError as exc:
                log.warning("close of %s failed: %s", target.connection_id, exc)
        return closed

    def send(self, targets: Sequence[Target], data: bytes) -> SendResult:
        """Send ``data`` to every target; never raises for a single socket's failure."""
        result = SendResult()
        if not targets:
            return result
        if len(targets) == 1:
            outcomes = [self._send_one(targets[0], data)]
        else:
            outcomes = list(self._pool.map(lambda t: self._send_one(t, data), targets))
        for target, outcome in zip(targets, outcomes, strict=True):
            getattr(result, outcome).append(target)
        return result
