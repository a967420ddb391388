"""Paged queries with opaque, signed cursors.

A cursor is ``<payload>.<signature>``: the payload (base64url JSON) carries a tag of the
list it belongs to and the query's ``LastEvaluatedKey``; the signature is an HMAC-SHA256
of the list's identity and the payload with the stage's cursor key
(``runtime.settings().cursor_key``). So a cursor is only valid for the very list that
returned it (the same index, partition and sort-key condition), and any edit -- a number
where a string was, a key dropped, another partition -- is a 400, never a 500 and never a
query into someone else's data. The start key is still checked against the partition the
caller may read (in case the key leaked)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from chalicelib import runtime
from chalicelib.errors import Invalid

_SIG_BYTES = 16
FOREIGN = "cursor: not a cursor of this list (a cursor is only valid for the list it came from)."
FORGED = "cursor: not a cursor this API returned."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _tag(list_id: str) -> str:
    return _b64(hashlib.sha256(list_id.encode()).digest()[:6])


def _mac(list_id: str, payload: str) -> bytes:
    key = runtime.settings().cursor_key.encode()
    msg = list_id.encode() + b"\0" + payload.encode()
    return hmac.new(key, msg, hashlib.sha256).digest()[:_SIG_BYTES]


def list_id(source: Any, hash_key: str, hash_value: str, condition: Any = None) -> str:
    """The identity of a paged list: which table or index, which partition, which
    sort-key condition (``paged`` derives it; other callers name their list)."""
    meta = getattr(source, "Meta", None)
    where = getattr(meta, "index_name", None) or getattr(source, "__name__", "table")
    return f"{where}|{hash_key}={hash_value}|{condition if condition is not None else ''}"


def encode(last_evaluated_key: dict[str, Any] | None, *, list_id: str) -> str | None:
    """The cursor of the next page of ``list_id`` (None on the last page)."""
    if not last_evaluated_key:
        return None
    doc = {"l": _tag(list_id), "k": last_evaluated_key}
    payload = _b64(json.dumps(doc, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(list_id, payload))}"


def decode(
    cursor: str | None, *, list_id: str, hash_key: str, hash_value: str
) -> dict[str, Any] | None:
    """The start key of a cursor of ``list_id``, which must stay in ``hash_key =
    hash_value``; :class:`Invalid` (400) for anything else."""
    if not cursor:
        return None
    payload, dot, signature = cursor.partition(".")
    try:
        doc = json.loads(_unb64(payload)) if dot else None
        given = _unb64(signature)
    except (ValueError, binascii.Error, RecursionError) as exc:
        raise Invalid(FORGED) from exc
    if not isinstance(doc, dict):
        raise Invalid(FORGED)
    if doc.get("l") != _tag(list_id):
        raise Invalid(FOREIGN)
    if not hmac.compare_digest(given, _mac(list_id, payload)):
        raise Invalid(FORGED)
    key = doc.get("k")
    if not isinstance(key, dict) or key.get(hash_key) != {"S": hash_value}:
        raise Invalid(FOREIGN)
    if not all(_key_value(v) for v in key.values()):
        raise Invalid(FORGED)
    return key


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
    identity = list_id(source, hash_key, hash_value, condition)
    results = source.query(
        hash_value,
        condition,
        scan_index_forward=not newest_first,
        limit=limit,
        page_size=limit,
        last_evaluated_key=decode(
            cursor, list_id=identity, hash_key=hash_key, hash_value=hash_value
        ),
    )
    items = list(results)
    last = results.last_evaluated_key if len(items) == limit else None
    return items, encode(last, list_id=identity)
