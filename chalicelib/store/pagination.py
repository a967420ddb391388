"""Opaque cursors: the DynamoDB ``LastEvaluatedKey`` of a query, base64url-encoded JSON.

A cursor is checked against the partition the caller is allowed to read, so a cursor
edited by hand can never move a query into someone else's data (400 instead)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.errors import Invalid


def encode(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None, *, hash_key: str, hash_value: str) -> dict[str, Any] | None:
    """The start key of a cursor, which must stay in ``hash_key = hash_value``."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise Invalid("cursor: not a cursor this API returned.") from exc
    if not isinstance(data, dict) or data.get(hash_key) != {"S": hash_value}:
        raise Invalid("cursor: not a cursor of this list.")
    return data
