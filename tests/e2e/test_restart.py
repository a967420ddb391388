"""The local data survives a restart of the stack: a new account, its request, a chat
message, a photo and a changed demo profile are all there after a SIGKILL of the whole stack (and
after a Ctrl-C), with the old password and even the old token; the demo seed is not
applied again over them; ``--reset`` (``make dev-reset``) starts from a fresh seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from devstack.harness import Stack, running
from devstack.seed import DEMO_PASSWORD
from tests.e2e.support import online_provider, post_request, somewhere
from tests.e2e.test_media_push import _png, _settled, _upload

pytestmark = pytest.mark.e2e


def _say(stack: Stack, token: str, conversation: str, client_msg_id: str, text: str) -> None:
    """Send a chat message and wait for its acknowledgement (the sender's copy)."""
    with connect(f"{stack.ws}/?token={token}", open_timeout=10) as ws:
        ws.send(
            json.dumps(
                {
                    "action": "chat.send",
                    "conversation_id": conversation,
                    "client_msg_id": client_msg_id,
                    "text": text,
                }
            )
        )
        while True:
            frame = json.loads(ws.recv(timeout=15))
            if frame["type"] == "chat.message" and frame["data"]["client_msg_id"] == client_msg_id:
                return


def _texts(stack: Stack, token: str, conversation: str) -> list[str]:
    items = stack.ok("GET", f"/conversations/{conversation}/messages?after=0", token)["items"]
    return [m["text"] for m in items]


def test_the_data_survives_a_sigkill_and_a_ctrl_c_and_reset_starts_clean(tmp_path: Path) -> None:
    state = tmp_path / "devstack"
    with running(state_dir=state, providers=5) as stack:
        where = somewhere()
        provider = online_provider(stack, where)
        email, customer = stack.new_account("customers")
        request = post_request(stack, customer, where, description="The tap drips in the bathroom")
        job = stack.ok("POST", f"/offers/{request['id']}/accept", provider)
        conversation = job["conversation_id"]
        _say(stack, customer, conversation, "before-kill", "Can you come today?")
        photo = _png(200, 100)
        media_id = _upload(stack, customer, photo)
        assert _settled(stack, customer, media_id)["status"] == "ready"
        carla = stack.sign_in("customer@summon.local")
        stack.ok("PATCH", "/me", carla, json={"name": "Carla Changed"})
        seeded_requests = {r["id"] for r in stack.ok("GET", "/requests", carla)["items"]}
        stack.kill()

    with running(state_dir=state, providers=5) as stack:
        again = stack.sign_in(email)  # the same password
        assert stack.ok("GET", f"/requests/{request['id']}", again)["description"] == (
            "The tap drips in the bathroom"
        )
        assert _texts(stack, again, conversation) == ["Can you come today?"]
        assert stack.ok("GET", "/me", customer)["email"] == email  # the token from before
        media = stack.ok("GET", f"/media/{media_id}", again)
        assert media["status"] == "ready"
        assert requests.get(media["url"], timeout=30).content == photo
        assert requests.get(media["thumbnail_url"], timeout=30).status_code == 200
        carla = stack.sign_in("customer@summon.local")
        assert stack.ok("GET", "/me", carla)["name"] == "Carla Changed"  # not seeded over
        assert {r["id"] for r in stack.ok("GET", "/requests", carla)["items"]} == seeded_requests
        _say(stack, provider, conversation, "after-kill", "Yes, at noon")
    # left by Ctrl-C (the harness stops it so)

    with running(state_dir=state, providers=5) as stack:
        assert _texts(stack, stack.sign_in(email), conversation) == [
            "Can you come today?",
            "Yes, at noon",
        ]

    with running(state_dir=state, providers=5, reset=True) as stack:
        with pytest.raises(ClientError):
            stack.sign_in(email, DEMO_PASSWORD)
        carla = stack.sign_in("customer@summon.local")
        assert stack.ok("GET", "/me", carla)["name"] == "Carla Customer"
        assert {r["id"] for r in stack.ok("GET", "/requests", carla)["items"]} == seeded_requests
        assert any(c["id"] == "plumbing" for c in stack.ok("GET", "/categories", carla)["items"])
