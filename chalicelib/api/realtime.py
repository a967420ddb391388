"""Real time: the WebSocket API (``$connect``, frames, ``$disconnect``) and the chat routes.

WebSocket protocol (README "Real time"): connect to ``wss://…/?token=<Cognito ID token>``
(a missing or bad token is refused with 401 at the upgrade); send JSON frames with an
``action`` -- ``chat.send``, ``chat.typing``, ``chat.read``, ``location.update``, ``ping``;
receive ``{"type", "id", "at", "data"}`` frames. A bad frame is answered with an ``error``
frame (``data``: ``status``, ``title``, ``detail``, ``action``, ``ref``; ``retry_after`` in
seconds with a 429) and the connection stays open.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response, WebsocketEvent
from pydantic import ValidationError

from chalicelib import auth, errors, lazy, strictjson
from chalicelib.errors import DomainError, Forbidden, Invalid, TooFrequent, Unauthenticated
from chalicelib.payloads import validation_errors
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.realtime import (
    ACTIONS,
    CLIENT_FRAME,
    ID_PATTERN,
    ChatReadFrame,
    ChatSendFrame,
    ChatTypingFrame,
    ConversationSummary,
    ErrorData,
    FieldError,
    JobLocation,
    LocationFrame,
    Message,
    MessageIn,
    MessagesQuery,
    PingFrame,
    PongData,
    ReadIn,
    ReadState,
)
from chalicelib.web import Call, Reply, route

if TYPE_CHECKING:
    from chalicelib.adapters import websocket
    from chalicelib.services import accounts, chat, limits, live, presence
else:  # imported on first use: PynamoDB, boto3 & co. load with the first event (lazy.py)
    websocket = lazy.module("chalicelib.adapters.websocket")
    accounts = lazy.module("chalicelib.services.accounts")
    chat = lazy.module("chalicelib.services.chat")
    limits = lazy.module("chalicelib.services.limits")
    live = lazy.module("chalicelib.services.live")
    presence = lazy.module("chalicelib.services.presence")

log = logging.getLogger("summon.realtime")

bp = Blueprint(__name__)


# --- WebSocket ------------------------------------------------------------------------
# Registered in app.py with ``app.on_ws_connect()`` & co.: Chalice 1.34 wraps WebSocket
# handlers only when they are registered on the app itself (on a Blueprint the raw function
# would be deployed and called with ``(event, context)``), and a deployed handler is looked
# up as ``app.<function name>``.


def ws_connect(event: WebsocketEvent) -> Response:
    """``$connect``: verify ``?token=`` like the HTTP side (signature against the pool's
    JWKS, cached per container; expiry, issuer, audience, ``token_use``), then record the
    socket. 401 refuses the upgrade; 429 (``Retry-After``) when the user holds
    ``limit_sockets`` sockets already. Cost: 2 calls, 4 when it is the user's first socket
    (presence), 3-5 when the user's socket set is full."""
    raw = event.to_dict()
    token = (raw.get("queryStringParameters") or {}).get("token")
    try:
        if not token:
            raise Unauthenticated("Connect with ?token=<Cognito ID token>.")
        principal = auth.verifier().principal(token)
    except Unauthenticated as exc:
        return Response(body=exc.detail, status_code=401, headers={"Content-Type": "text/plain"})
    refused = accounts.refusal(principal.user_id)
    if refused:
        return Response(
            body=refused,
            status_code=403,
            headers={"Content-Type": "text/plain"},
        )
    try:
        presence.connected(
            event.connection_id,
            principal.user_id,
            websocket.endpoint_for(event.domain_name, event.stage),
        )
    except TooFrequent as exc:
        return Response(
            body=exc.detail,
            status_code=429,
            headers={"Content-Type": "text/plain", "Retry-After": str(exc.retry_after)},
        )
    return Response(body="", status_code=200)


def ws_disconnect(event: WebsocketEvent) -> None:
    """``$disconnect``: forget the socket. 2 calls, 4 when it was the user's last one."""
    presence.disconnected(event.connection_id)


def ws_message(event: WebsocketEvent) -> None:
    """``$default``: one client frame. Never raises: every failure becomes an ``error``
    frame to this socket, which stays open."""
    endpoint = websocket.endpoint_for(event.domain_name, event.stage)
    action: str | None = None
    ref: str | None = None
    try:
        payload = _payload(event.body)
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        ref = payload.get("ref") if isinstance(payload.get("ref"), str) else None
        reply = _handle_frame(event.connection_id, payload, event.body)
    except DomainError as exc:
        reply = live.frame("error", _error(exc, action, ref))
    except Exception as exc:
        busy = errors.busy(exc)  # a dependency still failing after the SDK's retries
        if busy is not None:
            log.warning("frame %s on %s: %r", action, event.connection_id, exc)
            reply = live.frame("error", _error(busy, action, ref))
        else:
            log.exception("frame %s on %s failed", action, event.connection_id)
            reply = live.frame(
                "error",
                ErrorData(
                    status=500,
                    title="Internal Server Error",
                    detail="Something went wrong on our side; the frame may be retried.",
                    action=action,
                    ref=ref,
                ),
            )
    if reply is not None:
        live.send_to_connection(event.connection_id, endpoint, reply)


def _payload(body: str) -> dict[str, Any]:
    payload = strictjson.loads(body, what="The frame")
    if not isinstance(payload, dict):
        raise Invalid("A frame is a JSON object with an action.")
    if payload.get("action") not in ACTIONS:
        raise Invalid(f"Unknown action {payload.get('action')!r}; actions: {', '.join(ACTIONS)}.")
    return payload


def _error(exc: DomainError, action: str | None, ref: str | None) -> ErrorData:
    data = ErrorData(status=exc.status, title=exc.title, detail=exc.detail, action=action, ref=ref)
    if exc.errors:
        data.errors = [FieldError.model_validate(e) for e in exc.errors]
    data.retry_after = exc.retry_after  # TooFrequent (429), Busy (503)
    return data


def _handle_frame(connection_id: str, payload: dict[str, Any], body: str) -> dict[str, Any] | None:
    """Run one frame (``payload``: ``body`` through strictjson); the frame to send back
    to this socket, if any. Validated in strict mode, as HTTP bodies are."""
    try:
        frame = CLIENT_FRAME.validate_json(body, strict=True)
    except ValidationError as exc:
        errors = [e for e in validation_errors(exc) if e["field"] != "action"]
        for e in errors:  # "chat.send.text" → "text": the union member is noise
            e["field"] = e["field"].removeprefix(f"{payload['action']}.")
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise Invalid(f"Invalid {payload['action']} frame: {summary}", errors=errors) from exc
    if isinstance(frame, PingFrame):
        return live.frame("pong", PongData(ref=frame.ref))
    user_id = presence.user_of(connection_id)
    if user_id is None:
        raise Unauthenticated("This connection is not signed in any more: reconnect.")
    refused = accounts.refusal(user_id)
    if refused:
        raise Forbidden(refused)
    if isinstance(frame, ChatSendFrame):
        limits.chat_frame(connection_id)  # over the limit: 429, nothing stored
        message, created = chat.send(user_id, frame.conversation_id, frame)
        # New: every participant's sockets (this one too) got chat.message already. A retry:
        # only this socket gets the stored message back, as its acknowledgement.
        return None if created else live.frame("chat.message", message)
    if isinstance(frame, ChatTypingFrame):
        chat.typing(user_id, frame.conversation_id, frame.typing)
    elif isinstance(frame, ChatReadFrame):
        chat.read(user_id, frame.conversation_id, frame.seq)
    elif isinstance(frame, LocationFrame):
        live.update_location(user_id, frame)
    return None


# --- HTTP -----------------------------------------------------------------------------


@route(bp, "GET /conversations", query=PageQuery, calls=3)
def list_conversations(call: Call) -> Page[ConversationSummary]:
    """My conversations with unread counts, newest first."""
    return chat.conversations(call.user_id(), call.query.limit, call.query.cursor)


@route(bp, "GET /conversations/{conversation_id}/messages", query=MessagesQuery, calls=2)
def list_messages(call: Call) -> Page[Message]:
    """Messages after a sequence number, in order (catch-up after a reconnect)."""
    q: MessagesQuery = call.query
    return chat.messages(call.user_id(), _conversation_id(call), q.after, q.limit, q.cursor)


@route(
    bp,
    "POST /conversations/{conversation_id}/messages",
    body=MessageIn,
    status=201,
    idempotent=True,
    calls=8,
    also=(200,),
)
def post_message(call: Call) -> Reply[Message]:
    """Send a message (same as the chat.send frame); a retried client_msg_id stores one message and
    answers it again with 200."""
    message, created = chat.send(call.user_id(), _conversation_id(call), call.body)
    return Reply(status=201 if created else 200, body=message)


@route(bp, "POST /conversations/{conversation_id}/read", body=ReadIn, calls=3)
def post_read(call: Call) -> ReadState:
    """Read receipt: everything up to seq is read (never moves back)."""
    return chat.read(call.user_id(), _conversation_id(call), call.body.seq)


@route(bp, "GET /jobs/{job_id}/location", calls=2)
def get_job_location(call: Call) -> JobLocation:
    """The job's last live position (its customer and provider only)."""
    return live.last_location(call.user_id(), _id(call.params["job_id"], "job"))


def _conversation_id(call: Call) -> str:
    return _id(call.params["conversation_id"], "conversation")


def _id(value: str, what: str) -> str:
    if not re.fullmatch(ID_PATTERN, value):
        raise Invalid(f"{value!r} is not a {what} id.")
    return value
