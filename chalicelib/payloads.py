"""HTTP payloads as every route reads and writes them: JSON bodies into pydantic models (a
400 naming each bad field), the RFC 9457 problem-details body of every error, ``If-Match``
versions (RFC 9110, strong comparison) and models back to JSON. No I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from chalice.app import Response
from pydantic import BaseModel, ValidationError

from chalicelib import strictjson
from chalicelib.errors import Invalid, PreconditionFailed, TooLarge

MAX_BODY_BYTES = 64 * 1024
"""Largest JSON body any route accepts (media goes to S3 through presigned POSTs)."""

PROBLEM_JSON = "application/problem+json"
M = TypeVar("M", bound=BaseModel)


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str = "",
    request_id: str = "",
    errors: Sequence[Mapping[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem-details response: the one error shape of the API."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = list(errors)
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": PROBLEM_JSON, **(headers or {})},
    )


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Each error of a failed validation as ``{"field": "a.b", "message": ...}``."""
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(body)"
        out.append({"field": loc, "message": str(err.get("msg", "invalid"))})
    return out


def _invalid(exc: ValidationError, where: str) -> Invalid:
    """The 400 of a failed validation: its message names the first five bad fields."""
    errors = validation_errors(exc)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Invalid(f"Invalid {where}: {summary}", errors=errors)


def parse_model(model: type[M], data: Any, *, where: str) -> M:
    """Validate ``data`` into ``model``; a 400 whose message names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, where) from exc


def parse_body(model: type[M], raw: bytes | str) -> M:
    """Validate a JSON body (already through :func:`json_body`) into ``model`` in strict
    mode: JSON types as they are (no ``"45.1"`` or ``true`` for a number, no ``"yes"`` for
    a bool); a 400 whose message names each bad field."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _invalid(exc, "body") from exc


def json_body(raw: bytes | None) -> Any:
    """A request body as JSON (None when empty): 413 over :data:`MAX_BODY_BYTES`, 400 for
    JSON that ``strictjson`` refuses (duplicate keys, NaN, nesting too deep ...)."""
    if raw is None or raw == b"":
        return None
    if len(raw) > MAX_BODY_BYTES:
        raise TooLarge(f"The body is {len(raw)} bytes; the limit is {MAX_BODY_BYTES} bytes.")
    return strictjson.loads(raw)


_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*')
_VERSION = re.compile(r"[0-9]{1,15}")


def if_match(header: str) -> int | None:
    """The version an ``If-Match`` header asks for (RFC 9110 13.1.1): ``*`` → None (any);
    otherwise a list of entity tags compared *strongly* with ``"<version>"``. A header
    that is not ``*`` or entity tags is a 400; weak tags (``W/"3"``) never match and
    neither do tags this API never issues, so a header with no strong ``"<digits>"`` tag is
    a 412; two different versions are a 400 (send the one you read)."""
    value = header.strip()
    if value == "*":
        return None
    versions: set[int] = set()
    for part in value.split(","):
        match = _ENTITY_TAG.fullmatch(part)
        if match is None:
            raise Invalid(
                'If-Match: expected "*" or the quoted ETag you read, like "3" '
                f"(RFC 9110), not {header[:40]!r}."
            )
        weak, opaque = match.groups()
        if not weak and _VERSION.fullmatch(opaque):
            versions.add(int(opaque))
    if not versions:
        raise PreconditionFailed(
            "If-Match matches no current version: weak ETags (W/) never match (strong "
            'comparison); send the ETag you read, like "3".'
        )
    if len(versions) > 1:
        raise Invalid("If-Match: send the one ETag you read, not several versions.")
    return versions.pop()


def dump(value: Any) -> Any:
    """Models to JSON-ready dicts (lists and dicts of models too)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=False)
    if isinstance(value, list):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {k: dump(v) for k, v in value.items()}
    return value
