"""The web app's contracts, generated from the backend's own code (no server needed):

- ``web/src/generated/openapi.json``: ``chalicelib.openapi.document()``, what ``GET
  /openapi.json`` serves (the typed client, ``api.d.ts``, is generated from it by
  openapi-typescript: ``npm run gen:api``);
- ``web/src/generated/asyncapi.json``: an AsyncAPI 3 document of the WebSocket, rendered
  from ``chalicelib.schemas.realtime.frames()``: every client frame with the pydantic
  model that validates it, every server frame with the model that builds its ``data``.

``python web/scripts/contracts.py`` writes both; ``--check`` exits 1 when either is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "web" / "src" / "generated"
sys.path.insert(0, str(ROOT))

from pydantic.json_schema import models_json_schema  # noqa: E402


def openapi_document() -> dict[str, Any]:
    import app  # noqa: F401 - registers every route
    from chalicelib import openapi

    return openapi.document()


def asyncapi_document() -> dict[str, Any]:
    from chalicelib.schemas import realtime

    client, server = realtime.frames()
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
