"""Helpers shared by the test suites."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.harness import free_port

__all__ = ["free_port"]

_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def unverified_token(
    user_id: str | None = None,
    groups: tuple[str, ...] = ("customers",),
    email: str | None = None,
    **claims: Any,
) -> str:
    """An ID-token-shaped JWT for ``chalice.test.Client``, whose local authorizer only
    decodes (signature checks are the e2e and integration tests' job); ``claims`` adds or
    replaces claims (``**{"custom:user_id": ...}``)."""
    sub = user_id or str(uuid.uuid4())
    now = int(time.time())
    payload = {
        "sub": sub,
        "cognito:username": sub,
        "cognito:groups": list(groups),
        "email": email or f"{sub[:8]}@example.com",
        "token_use": "id",
        "aud": "test-client",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test",
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    return jwt.encode(payload, _KEY, algorithm="RS256", headers={"kid": "test"})


def forged_token(claims: dict[str, Any], kid: str = "dummy") -> str:
    """Same claims, signed with a key that is not the pool's."""
    return jwt.encode(claims, _KEY, algorithm="RS256", headers={"kid": kid})


def alg_none_token(claims: dict[str, Any]) -> str:
    def b64(data: dict[str, Any]) -> str:
        import base64

        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{b64(claims)}."


class CallCounter:
    """Counts DynamoDB API calls made through botocore (PynamoDB and boto3 alike), and
    keeps each call's request (wire format) in ``requests``."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event_name: str, **kwargs: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        self.calls.append(op)
        body = (kwargs.get("params") or {}).get("body")
        try:
            request = json.loads(body) if body else {}
        except (TypeError, ValueError):
            request = {}
        self.requests.append((op, request if isinstance(request, dict) else {}))

    @property
    def scans(self) -> int:
        return self.calls.count("Scan")


def route_calls(method: str, path: str) -> int:
    """The DynamoDB budget the route serving ``method path`` declares
    (``web.route(calls=...)``); ``path`` is a real path or a template."""
    from chalicelib.web import ROUTES

    def matches(template: str) -> bool:
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        return re.fullmatch(pattern, path.split("?", maxsplit=1)[0]) is not None

    found = [r for r in ROUTES if r.method == method and matches(r.path)]
    assert len(found) == 1, f"no route {method} {path}"
    assert found[0].calls is not None, f"{method} {path} declares no DynamoDB budget"
    return found[0].calls


_counting: list[CallCounter] = []


def _count_call(event_name: str, **kwargs: Any) -> None:
    if event_name.startswith("before-call.dynamodb."):
        for counter in list(_counting):
            counter(event_name, params=kwargs.get("params"))


def hook_call_counting() -> None:
    """Count calls of every botocore client created from now on (botocore's public
    ``before-call`` event; tests/conftest.py calls this before any client exists)."""
    from devstack import patches

    patches.on_every_client_call(_count_call, "tests.count_dynamodb_calls")


@contextmanager
def count_dynamodb_calls() -> Iterator[CallCounter]:
    """Every DynamoDB call made inside the block (by any thread), by operation name."""
    hook_call_counting()
    counter = CallCounter()
    _counting.append(counter)
    try:
        yield counter
    finally:
        _counting.remove(counter)


def geo_index_writes(calls: CallCounter) -> set[str]:
    """The geo indexes (gsi3, gsi4) the recorded writes can put a provider's entry in, seen
    the way the capacity model sees them (``devstack.capacity``: keys or projected
    attributes the expression writes; ``bench.capacity.family``: a geo partition)."""
    from bench.capacity import family
    from chalicelib.store.models import Entity
    from devstack import capacity, meter

    table = Entity.Meta.table_name
    written = set()
    for op, request in calls.requests:
        if op in ("UpdateItem", "PutItem", "TransactWriteItems"):
            for label, key, *_ in capacity.touches(op, request, {}, meter.table_shape, table):
                if label in ("gsi3", "gsi4") and family(label, key)[1] == "geo":
                    written.add(label)
    return written


def documented_statuses(method: str, path: str) -> set[int] | None:
    """The statuses ``/openapi.json`` lists for the route serving ``method path`` (a real
    path), None when the document has no such operation."""
    from chalicelib import openapi

    bare = path.split("?", maxsplit=1)[0]
    for template, operations in openapi.document()["paths"].items():
        pattern = re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, bare) and method.lower() in operations:
            return {int(code) for code in operations[method.lower()]["responses"]}
    return None


def assert_documented(method: str, path: str, status: int) -> None:
    """Every status a route really answers is one ``/openapi.json`` lists for it (a method
    the path lacks must be a 405)."""
    statuses = documented_statuses(method, path)
    if statuses is None:
        assert status in (404, 405), f"{method} {path} answered {status}, not in the document"
        return
    assert status in statuses, f"{method} {path} answered {status}; documented: {statuses}"
