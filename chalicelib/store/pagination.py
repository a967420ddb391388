"""Paged queries with opaque cursors (the query's ``LastEvaluatedKey``, base64url JSON).

A cursor is checked against the partition the caller is allowed to read and must be a
key this API could have returned, so a cursor edited by hand is a 400 and can never move a
query into someone else's data."""

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
    if not all(_key_value(v) for v in data.values()):
        raise Invalid("cursor: not a cursor this API returned.")
    return data


def _key_value(value: object) -> bool:
    """A key attribute as DynamoDB returns it: ``{"S": "..."}`` or ``{"N": "..."}``."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("S", "N")
        and isinstance(next(iter(value.values())), str)
    )


def paged(
    source: Any,
    *,
    hash_key: str,
    hash_value: str,
    limit: int,
    cursor: str | None,
    condition: Any = None,
    newest_first: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of ``source.query`` (a PynamoDB model or index) over the partition
    ``hash_key = hash_value`` (and ``condition`` on its sort key), ``limit`` items, and the
    cursor of the next page (None on the last). 400 for a cursor of another list. 1 Query."""
    results = source.query(
        hash_value,
        condition,
        scan_index_forward=not newest_first,
        limit=limit,
        page_size=limit,
        last_evaluated_key=decode(cursor, hash_key=hash_key, hash_value=hash_value),
    )
    items = list(results)
    return items, encode(results.last_evaluated_key if len(items) == limit else None)
