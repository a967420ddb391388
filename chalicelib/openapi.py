"""``/openapi.json``: OpenAPI 3.1 generated from the routes ``web.route`` registered and
the same pydantic models that validate their requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib import runtime
from chalicelib.payloads import MAX_BODY_BYTES
from chalicelib.schemas.common import PageQuery, Problem
from chalicelib.web import ROUTES, RouteSpec

REF = "#/components/schemas/{model}"

_DESCRIPTIONS = {
    400: "Invalid input (the problem names each bad field)",
    401: "Missing, malformed, forged or expired token",
    403: "Signed in, but not allowed",
    404: "Not found (or not yours)",
    409: "Conflict with the current state",
    412: "Stale version: someone else changed it first",
    405: "The path has no such method (the Allow header lists its methods)",
    413: f"Body over {MAX_BODY_BYTES} bytes",
    415: "The body is not application/json",
    422: "Idempotency-Key reused with another body",
    428: "If-Match required",
    429: "Over a per-user limit (docs/api.md, Limits): nothing was done; retry after the "
    "Retry-After header's seconds",
    503: "A dependency is busy or unavailable: retry after Retry-After seconds",
}


def _param(
    name: str, where: str, schema: dict[str, Any], *, required: bool, desc: str = ""
) -> dict[str, Any]:
    out = {"name": name, "in": where, "required": required, "schema": schema}
    if desc:
        out["description"] = desc
    return out


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        _param(name, "query", prop, required=name in required, desc=prop.get("description", ""))
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(spec: RouteSpec, names: Any) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": f"{spec.method.lower()}_{spec.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        ).replace("}", "")
        or "root",
        "tags": [spec.tag],
    }
    if spec.calls is not None:
        op["x-dynamodb-calls"] = spec.calls
    params = [
        _param(seg[1:-1], "path", {"type": "string"}, required=True)
        for seg in spec.path.split("/")
        if seg.startswith("{")
    ]
    if spec.query is not None:
        params += _query_params(spec.query)
    if spec.idempotent:
        params.append(
            _param(
                "Idempotency-Key",
                "header",
                {"type": "string", "maxLength": 255},
                required=False,
                desc="A retry with the same key returns the "
                "first response and creates nothing new (24 h).",
            )
        )
    if spec.versioned and spec.method != "GET":
        params.append(
            _param(
                "If-Match",
                "header",
                {"type": "string"},
                required=True,
                desc="The ETag you read; 412 when it is stale",
            )
        )
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": names[(spec.body, "validation")]}},
        }
    ok: dict[str, Any] = {"description": "OK"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": names[(spec.response, "serialization")]}}
    if spec.versioned:
        ok["headers"] = {"ETag": {"schema": {"type": "string"}}}
    problem = {"$ref": REF.format(model="Problem")}
    codes = {400}  # a bad body or query, and on routes without one, any body or query
    if spec.method in ("POST", "PUT", "PATCH"):
        codes |= {413, 415}
    if spec.auth:
        codes |= {401, 403, 404, 429}  # 403: suspended, or a role the caller lacks
    if spec.idempotent:
        codes |= {409, 422}
    codes |= set(spec.errors)
    codes.add(503)  # a dependency still throttled or failing after the SDK's retries
    responses: dict[str, Any] = {str(spec.status): ok}
    for other in spec.also:
        responses[str(other)] = {**ok, "description": "OK (see the summary)"}
    for code in sorted(codes):
        responses[str(code)] = {
            "description": _DESCRIPTIONS.get(code, "Error"),
            "content": {"application/problem+json": {"schema": problem}},
        }
        if code == 429:
            responses[str(code)]["headers"] = {
                "Retry-After": {"schema": {"type": "integer", "minimum": 1}}
            }
    op["responses"] = responses
    if spec.auth:
        op["security"] = [{"cognito": []}]
    return op


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered route (built once per runtime)."""
    return runtime.get().memo("openapi", _build)


def _build() -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], Any]] = [
        (Problem, "serialization"),
        (PageQuery, "validation"),
    ]
    for spec in ROUTES:
        if spec.body is not None:
            wanted.append((spec.body, "validation"))
        if spec.response is not None:
            wanted.append((spec.response, "serialization"))
    unique = list(dict.fromkeys(wanted))
    names, defs = models_json_schema(unique, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, names)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Summon API",
            "version": "1.0.0",
            "description": "Real-time service marketplace backend. Errors are RFC 9457 "
            "problem details. Lists answer {items, cursor}.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "cognito": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "The Cognito ID token (raw, or 'Bearer <token>').",
                }
            },
        },
    }
