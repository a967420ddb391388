"""What several e2e tests do the same way on the real stack: a quiet spot, an online
provider there, a request there."""

from __future__ import annotations

import secrets
from typing import Any

from devstack.harness import Stack


def somewhere() -> dict[str, float]:
    """A spot far from the seeded providers (and from other tests' spots)."""
    rng = secrets.SystemRandom()
    return {"lat": round(rng.uniform(45, 55), 5), "lng": round(rng.uniform(5, 25), 5)}


def online_provider(stack: Stack, where: dict[str, float]) -> str:
    """A new provider offering plumbing within 10 km of ``where``, online; their token."""
    _, token = stack.new_account("providers")
    profile = {"categories": ["plumbing"], "location": where, "radius_km": 10}
    assert stack.call("PUT", "/me/provider", token, json=profile).status_code == 200
    online = stack.call("PUT", "/me/provider/availability", token, json={"online": True})
    assert online.status_code == 200, online.text
    return token


def post_request(stack: Stack, token: str, where: dict[str, float], **extra: Any) -> dict[str, Any]:
    """An instant plumbing request at ``where`` (201 asserted); the request as answered."""
    body = {
        "category": "plumbing",
        "description": "The kitchen sink leaks",
        "location": where,
        "mode": "instant",
        **extra,
    }
    response = stack.call("POST", "/requests", token, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
