"""GET /health: liveness plus a check of each dependency a request needs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import auth
from chalicelib.store.models import Entity


def _table() -> None:
    try:
        Entity.get("HEALTH", "HEALTH")  # 1 GetItem; proves the table answers
    except DoesNotExist:
        pass


def _signing_keys() -> None:
    auth.verifier().jwks_keys()


CHECKS: dict[str, Callable[[], None]] = {"dynamodb": _table, "cognito_jwks": _signing_keys}


def check() -> dict[str, Any]:
    results: dict[str, Any] = {}
    ok = True
    for name, probe in CHECKS.items():
        started = time.perf_counter()
        try:
            probe()
            results[name] = {"status": "ok"}
        except Exception as exc:  # noqa: BLE001 - a failing dependency is reported, not raised
            ok = False
            results[name] = {"status": "error", "error": type(exc).__name__}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return {"status": "ok" if ok else "degraded", "checks": results}
