"""Media and push against the running local stack: presigned POST uploads processed by the
event pump, reads, pushes visible in the emulator, dead endpoints, announcements."""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from PIL import Image

from devstack.harness import wait_until
from tests.e2e.support import online_provider, post_request, somewhere

pytestmark = pytest.mark.e2e

WAIT_S = 30


def _png(w: int = 600, h: int = 400) -> bytes:
    """A photo-like (incompressible) PNG."""
    image = Image.frombytes("RGB", (w, h), secrets.token_bytes(w * h * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _upload(stack, token: str, data: bytes, content_type: str = "image/png") -> str:
    started = stack.call(
        "POST",
        "/uploads",
        token,
        json={"purpose": "chat_image", "content_type": content_type, "size_bytes": len(data)},
    )
    assert started.status_code == 201, started.text
    body = started.json()
    posted = requests.post(
        body["url"],
        data=body["fields"],
        files={"file": ("upload", data, content_type)},
        timeout=30,
    )
    assert posted.status_code in (200, 201, 204), posted.text
    return str(body["id"])


def _settled(stack, token: str, media_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        got = stack.call("GET", f"/media/{media_id}", token).json()
        return got if got["status"] != "pending" else None

    return wait_until(probe, f"media {media_id} to be processed")


def test_a_real_png_uploaded_with_the_presigned_post_becomes_ready(stack):
    _, token = stack.new_account("customers")
    data = _png()
    media_id = _upload(stack, token, data)
    media = _settled(stack, token, media_id)
    assert media["status"] == "ready", media
    assert (media["width"], media["height"], media["size_bytes"]) == (600, 400, len(data))
    original = requests.get(media["url"], timeout=30)
    assert original.status_code == 200
    assert original.content == data  # byte for byte
    thumb = requests.get(media["thumbnail_url"], timeout=30)
    assert thumb.status_code == 200
    assert len(thumb.content) < len(data)
    assert max(Image.open(io.BytesIO(thumb.content)).size) == 320


def test_a_fake_png_is_rejected(stack):
    _, token = stack.new_account("customers")
    media_id = _upload(stack, token, b"just some text with a .png name " * 10)
    media = _settled(stack, token, media_id)
    assert media["status"] == "rejected"
    assert "not a image/png" in media["reason"]
    assert media["url"] is None


def test_ten_gigabytes_is_refused_up_front(stack):
    _, token = stack.new_account("customers")
    response = stack.call(
        "POST",
        "/uploads",
        token,
        json={"purpose": "chat_image", "content_type": "image/png", "size_bytes": 10 * 1024**3},
    )
    assert response.status_code == 400
    assert "size_bytes" in response.json()["detail"]


def test_another_user_cannot_read_the_media(stack):
    _, owner = stack.new_account("customers")
    _, other = stack.new_account("customers")
    media_id = _upload(stack, owner, _png(30, 30))
    assert stack.call("GET", f"/media/{media_id}", owner).status_code == 200
    response = stack.call("GET", f"/media/{media_id}", other)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"


# --- push -------------------------------------------------------------------------------


def _endpoints(stack) -> list[dict[str, Any]]:
    """The emulator's SNS platform endpoints: what each phone would have received."""
    data = requests.get(f"{stack.endpoint}/moto-api/data.json", timeout=30).json()
    return list(data.get("sns", {}).get("PlatformEndpoint", []))


def _endpoint_deleted(stack, arn: str) -> bool:
    # (data.json keeps every endpoint ever made, deleted or not: ask SNS itself)
    try:
        stack.client("sns").get_endpoint_attributes(EndpointArn=arn)
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "NotFound"
    return False


def _pushes_to(stack, token: str) -> list[dict[str, Any]]:
    for endpoint in _endpoints(stack):
        if endpoint["token"] == token:
            out = []
            for raw in endpoint["messages"].values():
                outer = json.loads(raw)
                out.append(json.loads(outer[next(k for k in outer if k != "default")]))
            return out
    return []


def _device(stack, token: str, platform: str = "fcm") -> tuple[str, str]:
    push_token = f"e2e-{secrets.token_hex(40)}" if platform == "fcm" else secrets.token_hex(32)
    response = stack.call(
        "POST", "/devices", token, json={"platform": platform, "token": push_token}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"]), push_token


def _announce(stack, title: str, body: str) -> None:
    stack.client("sns").publish(
        TopicArn=stack.env["SUMMON_ANNOUNCEMENTS_TOPIC_ARN"],
        Message=json.dumps({"title": title, "body": body}),
    )


def test_an_announcement_reaches_an_offline_device_and_dead_endpoints_are_cleaned_up(stack):
    _, alice = stack.new_account("customers")
    _, bob = stack.new_account("providers")
    _, alice_push = _device(stack, alice, "fcm")
    bob_device, bob_push = _device(stack, bob, "apns")
    arn = next(e["arn"] for e in _endpoints(stack) if e["token"] == bob_push)
    stack.client("sns").set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    title = f"Maintenance {secrets.token_hex(3)}"
    _announce(stack, title, "Tonight 2-3am")

    def received() -> list[dict[str, Any]]:
        return [
            p
            for p in _pushes_to(stack, alice_push)
            if p["fcmV1Message"]["message"]["notification"]["title"] == title
        ]

    [push] = wait_until(received, "the announcement push")
    assert push["fcmV1Message"]["message"]["notification"]["body"] == "Tonight 2-3am"
    wait_until(
        lambda: stack.call("GET", "/devices", bob).json()["items"] == [],
        "the disabled endpoint's device to be forgotten",
    )
    wait_until(lambda: _endpoint_deleted(stack, arn), "the disabled endpoint to be deleted")
    assert stack.call("DELETE", f"/devices/{bob_device}", bob).status_code == 404


# --- marketplace events as push -------------------------------------------------------------


def test_request_photos_are_readable_by_the_offered_providers_only(stack):
    where = somewhere()
    provider = online_provider(stack, where)
    _, customer = stack.new_account("customers")
    _, stranger = stack.new_account("providers")
    photo = _png(40, 40)
    started = stack.call(
        "POST",
        "/uploads",
        customer,
        json={"purpose": "request_photo", "content_type": "image/png", "size_bytes": len(photo)},
    ).json()
    requests.post(started["url"], data=started["fields"], files={"file": ("p", photo)}, timeout=30)
    post_request(stack, customer, where, media_ids=[started["id"]])
    seen = stack.call("GET", f"/media/{started['id']}", provider)
    assert seen.status_code == 200, seen.text
    assert stack.call("GET", f"/media/{started['id']}", stranger).status_code == 404


def test_the_local_s3_enforces_the_presigned_post_policy_as_s3_does(stack):
    """Another user's key, another Content-Type, a size outside the range, a forged or
    unsigned field: each is S3's 403 AccessDenied and nothing is stored; the form as issued
    is taken."""
    _, token = stack.new_account("customers")
    data = b"\x89PNG\r\n\x1a\n" + b"0" * 200
    started = stack.call(
        "POST",
        "/uploads",
        token,
        json={"purpose": "chat_image", "content_type": "image/png", "size_bytes": len(data)},
    ).json()
    fields = started["fields"]
    s3 = stack.client("s3")
    bucket = started["url"].rstrip("/").rsplit("/", 1)[-1]

    def post(form: dict, payload: bytes = data) -> requests.Response:
        return requests.post(
            started["url"], data=form, files={"file": ("f", payload, "image/png")}, timeout=30
        )

    for tampered, payload in (
        ({**fields, "key": fields["key"].replace("uploads/", "uploads/someone-else-")}, data),
        ({**fields, "Content-Type": "text/html"}, data),
        ({**fields, "signature": "Zm9yZ2Vk"}, data),
        ({**fields, "acl": "public-read"}, data),
        (fields, b""),
        (fields, data * 200_000),
    ):
        refused = post(tampered, payload)
        assert refused.status_code == 403 and b"AccessDenied" in refused.content, tampered
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents", [])
    assert fields["key"] not in [o["Key"] for o in listed]
    assert post(fields).status_code in (200, 201, 204)
