"""Chat, read receipts, live location: HTTP bodies and answers, and the WebSocket frames.

Client → server frames are JSON objects with an ``action`` (:data:`ClientFrame`); each may
carry a ``ref`` the server echoes in the ``error`` (or ``pong``) frame it causes. Server →
client frames are ``{"type", "id", "at", "data"}`` (``Event.frame()``, ``live.frame``),
their ``data`` built from the models here or those of the HTTP API. :func:`frames` lists
every frame with its model: the AsyncAPI document is rendered from it
(``web/scripts/contracts.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from chalicelib.ids import ULID_PATTERN
from chalicelib.schemas.common import MAX_LIMIT, Model, Strict

ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
CLIENT_MSG_ID_PATTERN = r"^[0-9A-Za-z._:-]{1,64}$"
MAX_TEXT = 4000
MAX_SEQ = 10**12 - 1

ConversationId = Annotated[str, Field(pattern=ID_PATTERN, description="A conversation id")]
JobId = Annotated[str, Field(pattern=ID_PATTERN, description="A job id")]
ClientMsgId = Annotated[
    str,
    Field(
        pattern=CLIENT_MSG_ID_PATTERN,
        description="Chosen by the client (e.g. a UUID), unique per sender: a retry with the "
        "same value stores the message once",
    ),
]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ, description="A per-conversation sequence number")]


class MessageContent(Strict):
    client_msg_id: ClientMsgId
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    media_id: str | None = Field(
        default=None, pattern=ULID_PATTERN, description="An uploaded image (POST /uploads)"
    )

    @model_validator(mode="after")
    def _text_or_media(self) -> MessageContent:
        if (self.text is None) == (self.media_id is None):
            raise ValueError("send exactly one of text or media_id")
        return self


class MessageIn(MessageContent):
    """``POST /conversations/{id}/messages``."""


class ReadIn(Strict):
    """``POST /conversations/{id}/read``: everything up to ``seq`` is read."""

    seq: Seq


class MessagesQuery(Strict):
    after: Seq = Field(default=0, description="Only messages with a greater seq (catch-up)")
    limit: int = Field(default=50, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=2048)


class Message(Model):
    id: str
    conversation_id: str
    seq: int
    sender_id: str
    client_msg_id: str
    text: str | None = None
    media_id: str | None = None
    created_at: str


class MessagePreview(Model):
    sender_id: str
    text: str | None = None
    media_id: str | None = None
    at: str


class ConversationSummary(Model):
    id: str
    ref_type: str = Field(description="job or quote")
    ref_id: str
    counterpart_id: str | None = None
    counterpart_online: bool = Field(description="The counterpart has a live socket now")
    last_seq: int
    last_read_seq: int
    unread: int
    last_message: MessagePreview | None = None
    created_at: str | None = None


class ReadState(Model):
    conversation_id: str
    user_id: str
    last_read_seq: int
    unread: int


class JobLocation(Model):
    job_id: str
    lat: float
    lng: float
    heading: float | None = None
    speed_mps: float | None = None
    accuracy_m: float | None = None
    at: str


# --- WebSocket client frames ---------------------------------------------------------


class _Frame(Strict):
    ref: str | None = Field(
        default=None, max_length=64, description="Echoed in the error/pong this frame causes"
    )


class ChatSendFrame(_Frame, MessageContent):
    action: Literal["chat.send"]
    conversation_id: ConversationId


class ChatTypingFrame(_Frame):
    action: Literal["chat.typing"]
    conversation_id: ConversationId
    typing: bool = True


class ChatReadFrame(_Frame):
    action: Literal["chat.read"]
    conversation_id: ConversationId
    seq: Seq


class LocationFrame(_Frame):
    action: Literal["location.update"]
    job_id: JobId
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    heading: float | None = Field(default=None, ge=0, lt=360, description="Degrees from north")
    speed_mps: float | None = Field(default=None, ge=0, le=100)
    accuracy_m: float | None = Field(default=None, ge=0, le=10_000)


class PingFrame(_Frame):
    action: Literal["ping"]


ClientFrame = Annotated[
    ChatSendFrame | ChatTypingFrame | ChatReadFrame | LocationFrame | PingFrame,
    Field(discriminator="action"),
]
ACTIONS = ("chat.send", "chat.typing", "chat.read", "location.update", "ping")
CLIENT_FRAME: TypeAdapter[
    ChatSendFrame | ChatTypingFrame | ChatReadFrame | LocationFrame | PingFrame
] = TypeAdapter(ClientFrame, config=ConfigDict(defer_build=True))  # built on first frame


# --- WebSocket server frames: the data of those that are not HTTP views ---------------


class ChatTypingData(Model):
    conversation_id: str
    user_id: str
    typing: bool


class ChatReadData(Model):
    conversation_id: str
    user_id: str
    seq: int = Field(description="Everything up to this sequence number is read")


class PresenceData(Model):
    user_id: str
    online: bool = Field(description="The user's first socket opened (true) or last closed")


class OfferWithdrawnData(Model):
    offer_id: str
    request_id: str
    status: str
    reason: str | None = None


class MediaReadyData(Model):
    id: str
    purpose: str
    status: Literal["ready", "rejected"]
    reason: str | None = None


class AnnouncementData(Model):
    id: str
    title: str
    body: str
    data: dict[str, Any] = {}


class PongData(Model):
    ref: str | None = None


class FieldError(Model):
    field: str
    message: str


class ErrorData(Model):
    status: int
    title: str
    detail: str
    action: str | None = Field(default=None, description="The action of the frame at fault")
    ref: str | None = Field(default=None, description="The ref of the frame at fault")
    errors: list[FieldError] | None = None
    retry_after: int | None = Field(
        default=None, description="With status 429: seconds to wait before sending it again"
    )


if TYPE_CHECKING:
    Frames = list[tuple[str, type[BaseModel], str]]


def frames() -> tuple[Frames, Frames]:
    """Every client frame (``action``, the model that validates it, what it does) and every
    server frame (``type``, the model of its ``data``, what it means)."""
    from chalicelib.schemas.exports import ExportOut
    from chalicelib.schemas.marketplace import JobEvent, OfferOut, QuoteOut, RequestOut
    from chalicelib.schemas.profiles import SettingsOut

    client: Frames = [
        (
            "chat.send",
            ChatSendFrame,
            "Send a message (text or media_id); the chat.message "
            "that comes back to this socket is the acknowledgement",
        ),
        ("chat.typing", ChatTypingFrame, "I am (not) typing: the others get chat.typing"),
        ("chat.read", ChatReadFrame, "Read receipt up to seq: everyone gets chat.read"),
        (
            "location.update",
            LocationFrame,
            "The provider's position on an en_route or "
            "arrived job (at most 1/s): the customer gets job.location",
        ),
        ("ping", PingFrame, "Keep-alive: answered with pong"),
    ]
    server: Frames = [
        (
            "chat.message",
            Message,
            "A stored message, to every participant (the sender's copy is the ack)",
        ),
        ("chat.typing", ChatTypingData, "Someone else in the conversation is (not) typing"),
        ("chat.read", ChatReadData, "A participant read up to seq"),
        ("presence", PresenceData, "Someone you chat with came online or went offline"),
        ("job.location", JobLocation, "The provider's live position (customer only)"),
        ("offer.new", OfferOut, "A provider got an offer (instant) or an invitation to quote"),
        ("offer.withdrawn", OfferWithdrawnData, "An offer is gone (taken, expired, cancelled)"),
        ("request.updated", RequestOut, "The customer's request changed"),
        ("quote.new", QuoteOut, "A quote on the customer's request"),
        ("job.updated", JobEvent, "A job moved on (to its customer and provider)"),
        ("settings.updated", SettingsOut, "My settings changed on another device"),
        ("media.ready", MediaReadyData, "An upload was checked: ready or rejected"),
        ("announcement", AnnouncementData, "An operators' announcement"),
        (
            "export.ready",
            ExportOut,
            "My data export is built: GET /me/exports/{id} for its download URL",
        ),
        ("pong", PongData, "The answer to ping"),
        ("error", ErrorData, "A frame failed (the socket stays open)"),
    ]
    return client, server
