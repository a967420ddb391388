"""The web app's contracts, generated from the backend's own code (no server needed):

- ``web/src/generated/openapi.json``: ``chalicelib.openapi.document()``, what ``GET
  /openapi.json`` serves (the typed client, ``api.d.ts``, is generated from it by
  openapi-typescript: ``npm run gen:api``);
- ``web/src/generated/asyncapi.json``: an AsyncAPI 3 document of the WebSocket, every
  client frame from the pydantic models that validate them
  (``chalicelib/schemas/realtime.py``) and every server frame from the models that build
  its ``data``.

``python web/scripts/contracts.py`` writes both; ``--check`` exits 1 when either is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "src" / "generated"
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel, Field  # noqa: E402
from pydantic.json_schema import models_json_schema  # noqa: E402


# Server frames whose ``data`` the app builds as a plain dict: their shape, stated here
# from the code that builds them (chalicelib/services/chat.py, presence.py, media.py,
# announcements.py, notifications.py, api/realtime.py).
class ChatTypingData(BaseModel):
    conversation_id: str
    user_id: str
    typing: bool


class ChatReadData(BaseModel):
    conversation_id: str
    user_id: str
    seq: int = Field(description="Everything up to this sequence number is read")


class PresenceData(BaseModel):
    user_id: str
    online: bool = Field(description="The user's first socket opened (true) or last closed")


class OfferWithdrawnData(BaseModel):
    offer_id: str
    request_id: str
    status: str
    reason: str | None = None


class MediaReadyData(BaseModel):
    id: str
    purpose: str
    status: Literal["ready", "rejected"]
    reason: str | None = None


class AnnouncementData(BaseModel):
    id: str
    title: str
    body: str
    data: dict[str, Any] = {}


class PongData(BaseModel):
    ref: str | None = None


class FieldError(BaseModel):
    field: str
    message: str


class ErrorData(BaseModel):
    status: int
    title: str
    detail: str
    action: str | None = Field(default=None, description="The action of the frame at fault")
    ref: str | None = Field(default=None, description="The ref of the frame at fault")
    errors: list[FieldError] | None = None
    retry_after: int | None = Field(
        default=None, description="With status 429: seconds to wait before sending it again"
    )


def openapi_document() -> dict[str, Any]:
    import app  # noqa: F401 - registers every route
    from chalicelib import openapi

    return openapi.document()


def asyncapi_document() -> dict[str, Any]:
    from chalicelib.schemas import realtime as rt
    from chalicelib.schemas.marketplace import JobEvent, OfferOut, QuoteOut, RequestOut
    from chalicelib.schemas.profiles import SettingsOut

    client: list[tuple[str, type[BaseModel], str]] = [
        (
            "chat.send",
            rt.ChatSendFrame,
            "Send a message (text or media_id); the chat.message "
            "that comes back to this socket is the acknowledgement",
        ),
        ("chat.typing", rt.ChatTypingFrame, "I am (not) typing: the others get chat.typing"),
        ("chat.read", rt.ChatReadFrame, "Read receipt up to seq: everyone gets chat.read"),
        (
            "location.update",
            rt.LocationFrame,
            "The provider's position on an en_route or "
            "arrived job (at most 1/s): the customer gets job.location",
        ),
        ("ping", rt.PingFrame, "Keep-alive: answered with pong"),
    ]
    server: list[tuple[str, type[BaseModel], str]] = [
        (
            "chat.message",
            rt.Message,
            "A stored message, to every participant (the sender's copy is the ack)",
        ),
        ("chat.typing", ChatTypingData, "Someone else in the conversation is (not) typing"),
        ("chat.read", ChatReadData, "A participant read up to seq"),
        ("presence", PresenceData, "Someone you chat with came online or went offline"),
        ("job.location", rt.JobLocation, "The provider's live position (customer only)"),
        ("offer.new", OfferOut, "A provider got an offer (instant) or an invitation to quote"),
        ("offer.withdrawn", OfferWithdrawnData, "An offer is gone (taken, expired, cancelled)"),
        ("request.updated", RequestOut, "The customer's request changed"),
        ("quote.new", QuoteOut, "A quote on the customer's request"),
        ("job.updated", JobEvent, "A job moved on (to its customer and provider)"),
        ("settings.updated", SettingsOut, "My settings changed on another device"),
        ("media.ready", MediaReadyData, "An upload was checked: ready or rejected"),
        ("announcement", AnnouncementData, "An operators' announcement"),
        ("pong", PongData, "The answer to ping"),
        ("error", ErrorData, "A frame failed (the socket stays open)"),
    ]
    ref = "#/components/schemas/{model}"
    wanted = [(m, "validation") for _, m, _ in client] + [
        (m, "serialization") for _, m, _ in server
    ]
    names, defs = models_json_schema(list(dict.fromkeys(wanted)), ref_template=ref)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def key(direction: str, action: str) -> str:
        return direction + "".join(p.capitalize() for p in action.replace(".", "_").split("_"))

    for action, model, summary in client:
        k = key("client", action)
        messages[k] = {
            "name": action,
            "title": f"{action} (client → server)",
            "summary": summary,
            "contentType": "application/json",
            "payload": names[(model, "validation")],
        }
    for action, model, summary in server:
        k = key("server", action)
        envelope = f"{k[0].upper()}{k[1:]}Frame"
        schemas[envelope] = {
            "type": "object",
            "required": ["type", "id", "at", "data"],
            "properties": {
                "type": {"const": action, "type": "string"},
                "id": {"type": "string", "description": "The event's id (a ULID)"},
                "at": {"type": "string", "description": "When it happened, ISO 8601 UTC"},
                "data": names[(model, "serialization")],
            },
        }
        messages[k] = {
            "name": action,
            "title": f"{action} (server → client)",
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": ref.format(model=envelope)},
        }
    for k in messages:
        operations[k] = {
            "action": "send" if k.startswith("client") else "receive",
            "channel": {"$ref": "#/channels/socket"},
            "summary": messages[k]["summary"],
            "messages": [{"$ref": f"#/channels/socket/messages/{k}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Summon WebSocket API",
            "version": "1.0.0",
            "description": "Chat, read receipts, presence, live location and the marketplace "
            "events, over one socket per device. Client frames are JSON objects with an "
            "`action` (and an optional `ref` echoed in the error or pong they cause); server "
            "frames are `{type, id, at, data}`. See docs/realtime.md.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8001",
                "protocol": "ws",
                "description": "make dev",
            },
            "cloud": {
                "host": "{domain}",
                "protocol": "wss",
                "pathname": "/{stage}",
                "variables": {
                    "domain": {"description": "The WebSocket API's domain"},
                    "stage": {"default": "dev"},
                },
            },
        },
        "channels": {
            "socket": {
                "address": "/?token={token}",
                "title": "The user's socket",
                "description": "Connect with a Cognito ID token: 401 refuses the upgrade.",
                "parameters": {"token": {"description": "The Cognito ID token"}},
                "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in messages},
            }
        },
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, build in (("openapi.json", openapi_document), ("asyncapi.json", asyncapi_document)):
        path = OUT / name
        text = render(build())
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}; run `make web-gen`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
