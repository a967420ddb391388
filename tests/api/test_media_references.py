"""Every media reference (a chat image, an avatar) is the sender's own, ready, and of a
fitting purpose; a chat image is readable by the conversation's participants (issue 12)."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.store import conversations
from chalicelib.store import media as repo
from tests import pushmedia

pytestmark = pytest.mark.api

UNKNOWN = "01HZZZZZZZZZZZZZZZZZZZZZZZ"


class NoSockets:
    def send(self, targets, data):
        from chalicelib.adapters.websocket import SendResult

        return SendResult()


@pytest.fixture
def api(aws, monkeypatch, client, as_user):
    pushmedia.provision(monkeypatch)
    runtime.settings()
    runtime.use(sender=NoSockets())
    return as_user


def uploaded(user, purpose: str, *, ready: bool = True) -> str:
    body = {"purpose": purpose, "content_type": "image/png", "size_bytes": 2048}
    media_id: str = user.call("POST", "/uploads", body).json_body["id"]
    if ready:
        assert repo.settle(media_id, from_etag=None, status=repo.READY, etag='"e"', size=2048)
    return media_id


def send_image(user, cid: str, media_id: str, n: int = 1):
    body = {"client_msg_id": f"img-{n}", "media_id": media_id}
    return user.call("POST", f"/conversations/{cid}/messages", body)


def test_a_chat_image_must_be_the_senders_own_ready_chat_image(api):
    ana, rui = api(), api(("providers",))
    cid = conversations.open_conversation([ana.user_id, rui.user_id], "job", "J1")
    cases = {
        UNKNOWN: "no such media of yours",
        uploaded(rui, "chat_image"): "no such media of yours",  # the other participant's
        uploaded(ana, "chat_image", ready=False): "not ready yet",
        uploaded(ana, "avatar"): "expected chat_image",
        uploaded(ana, "request_photo"): "expected chat_image",
    }
    for n, (media_id, why) in enumerate(cases.items()):
        response = send_image(ana, cid, media_id, n)
        assert response.status_code == 400, response.json_body
        assert response.json_body["errors"][0]["field"] == "media_id"
        assert why in response.json_body["detail"]
    messages = ana.call("GET", f"/conversations/{cid}/messages").json_body["items"]
    assert messages == []


def test_a_chat_image_is_readable_by_the_conversations_participants_only(api):
    ana, rui, eve = api(), api(("providers",)), api()
    cid = conversations.open_conversation([ana.user_id, rui.user_id], "job", "J1")
    image = uploaded(ana, "chat_image")
    assert rui.call("GET", f"/media/{image}").status_code == 404
    sent = send_image(ana, cid, image)
    assert sent.status_code == 201, sent.json_body
    opened = rui.call("GET", f"/media/{image}")
    assert opened.status_code == 200 and opened.json_body["url"]
    assert eve.call("GET", f"/media/{image}").status_code == 404
    assert ana.call("GET", f"/media/{image}").status_code == 200


def test_an_avatar_must_be_the_users_own_ready_avatar(api):
    ana, rui = api(), api()
    cases = {
        UNKNOWN: "no such media of yours",
        uploaded(rui, "avatar"): "no such media of yours",
        uploaded(ana, "avatar", ready=False): "not ready yet",
        uploaded(ana, "chat_image"): "expected avatar",
    }
    for media_id, why in cases.items():
        response = ana.call("PATCH", "/me", {"avatar_media_id": media_id})
        assert response.status_code == 400, response.json_body
        assert response.json_body["errors"][0]["field"] == "avatar_media_id"
        assert why in response.json_body["detail"]
    assert ana.call("GET", "/me").json_body["avatar_media_id"] is None
    mine = uploaded(ana, "avatar")
    assert ana.call("PATCH", "/me", {"avatar_media_id": mine}).json_body["avatar_media_id"] == mine
    assert ana.call("PATCH", "/me", {"avatar_media_id": None}).status_code == 200
