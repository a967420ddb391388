"""Chat, read receipts, live location: HTTP bodies and answers, and the WebSocket frames.

Client → server frames are JSON objects with an ``action`` (:data:`ClientFrame`); each may
carry a ``ref`` the server echoes in the ``error`` (or ``pong``) frame it causes. Server →
client frames are ``{"type", "id", "at", "data"}`` (``Event.frame()``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, TypeAdapter, model_validator

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
