"""Push and live delivery together on the running local stack: a user with a live socket
gets the frame and no push, the others get the push (needs the real-time capability)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest

from devstack.harness import wait_until
from tests.e2e.support import online_provider, post_request, somewhere
from tests.e2e.test_media_push import (
    WAIT_S,
    _announce,
    _device,
    _pushes_to,
)

pytestmark = pytest.mark.e2e


def _frames_until(ws, predicate, timeout: float = WAIT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for a frame")
        try:
            frame = json.loads(ws.recv(timeout=remaining))
        except TimeoutError as exc:
            raise AssertionError("timed out waiting for a frame") from exc
        if predicate(frame):
            return frame


def test_an_announcement_reaches_a_live_socket_and_not_its_phone(stack):
    from websockets.sync.client import connect

    _, live = stack.new_account("customers")
    _, away = stack.new_account("customers")
    _, live_push = _device(stack, live, "apns")
    _, away_push = _device(stack, away, "fcm")
    title = f"Live news {secrets.token_hex(3)}"
    with connect(f"{stack.ws}/?token={live}") as ws:
        _announce(stack, title, "Movers are now in Lisbon")
        frame = _frames_until(
            ws, lambda f: f.get("type") == "announcement" and f["data"]["title"] == title
        )
        assert frame["data"]["body"] == "Movers are now in Lisbon"
        wait_until(lambda: _pushes_to(stack, away_push), "the offline user's push")
    assert _pushes_to(stack, live_push) == []


def test_a_new_offer_is_pushed_to_an_offline_provider_and_sent_live_to_a_connected_one(stack):
    from websockets.sync.client import connect

    where = somewhere()
    away = online_provider(stack, where)
    here = online_provider(stack, where)
    _, away_push = _device(stack, away, "apns")
    _, here_push = _device(stack, here, "fcm")
    _, customer = stack.new_account("customers")
    with connect(f"{stack.ws}/?token={here}") as ws:
        request = post_request(stack, customer, where)
        frame = _frames_until(ws, lambda f: f.get("type") == "offer.new")
        assert frame["data"]["request_id"] == request["id"]
        [push] = wait_until(lambda: _pushes_to(stack, away_push), "the offline provider's push")
    assert push["aps"]["alert"]["title"] == "New job offer: plumbing"
    assert push["aps"]["alert"]["body"].startswith("The kitchen sink leaks")
    assert push["request_id"] == request["id"]
    assert _pushes_to(stack, here_push) == []
