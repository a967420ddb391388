"""POST /uploads and GET /media/{id}: the presigned POST's policy, limits per purpose,
who may read a media, and what each route costs."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from tests import pushmedia
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.api


@pytest.fixture
def api(aws, monkeypatch, client, as_user):
    pushmedia.provision(monkeypatch)
    return as_user


def _upload(user, **overrides):
    body = {"purpose": "request_photo", "content_type": "image/png", "size_bytes": 2048}
    return user.call("POST", "/uploads", {**body, **overrides})


def _policy(fields):
    return json.loads(base64.b64decode(fields["policy"]))


def test_upload_answers_a_presigned_post_whose_policy_fixes_key_type_and_size(api):
    alice = api()
    response = _upload(alice)
    assert response.status_code == 201, response.json_body
    body = response.json_body
    media_id = body["id"]
    assert "summon-test-media" in body["url"]
    assert body["fields"]["key"] == f"uploads/{alice.user_id}/{media_id}"
    assert body["fields"]["Content-Type"] == "image/png"
    assert body["max_bytes"] == 2048
    conditions = _policy(body["fields"])["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 2048] in conditions
    assert {"key": body["fields"]["key"]} in conditions
    assert {"bucket": "summon-test-media"} in conditions
    got = alice.call("GET", f"/media/{media_id}").json_body
    assert got["status"] == "pending"
    assert got["url"] is None and got["thumbnail_url"] is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"size_bytes": 10 * 1024**3}, "size_bytes"),
        ({"purpose": "avatar", "size_bytes": 6 * 1024 * 1024}, "size_bytes"),
        ({"content_type": "image/gif"}, "content_type"),
        ({"purpose": "document", "content_type": "image/png"}, "content_type"),
        ({"purpose": "selfie"}, "purpose"),
        ({"size_bytes": 0}, "size_bytes"),
        ({"size_bytes": "big"}, "size_bytes"),
        ({"bucket": "elsewhere"}, "bucket"),
    ],
)
def test_bad_uploads_are_400_naming_the_field_and_write_nothing(api, overrides, field):
    alice = api()
    with count_dynamodb_calls() as calls:
        response = _upload(alice, **overrides)
    assert response.status_code == 400, response.json_body
    assert field in response.json_body["detail"]
    assert calls.calls == []


def test_ten_gigabytes_is_refused_up_front_with_the_limit(api):
    response = _upload(api(), size_bytes=10 * 1024**3)
    assert response.status_code == 400
    assert "at most 10485760 bytes" in response.json_body["detail"]


def test_only_the_owner_and_those_it_is_shared_with_may_read_it(api):

    alice, bob, mallory = api(), api(), api()
    media_id = _upload(alice).json_body["id"]
    assert bob.call("GET", f"/media/{media_id}").status_code == 404
    from chalicelib.store import media as repo

    repo.grant(repo.grant_items([media_id], [bob.user_id], "request", "R1"))
    assert bob.call("GET", f"/media/{media_id}").json_body["id"] == media_id
    assert mallory.call("GET", f"/media/{media_id}").status_code == 404
    assert alice.call("GET", "/media/01HZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    assert alice.call("GET", "/media/not-an-id").status_code == 404


def test_attaching_media_checks_ownership(api):
    from chalicelib.errors import Invalid
    from chalicelib.services import media

    alice, bob = api(), api()
    mine = _upload(alice).json_body["id"]
    theirs = _upload(bob).json_body["id"]
    media.check_attachable(alice.user_id, [mine], purposes=["request_photo"])
    with pytest.raises(Invalid, match=theirs):
        media.check_attachable(alice.user_id, [mine, theirs])
    with pytest.raises(Invalid, match="expected chat_image"):
        media.check_attachable(alice.user_id, [mine], purposes=["chat_image"])


def test_route_costs(api):
    alice = api()
    with count_dynamodb_calls() as post:
        media_id = _upload(alice).json_body["id"]
    with count_dynamodb_calls() as get:
        alice.call("GET", f"/media/{media_id}")
    assert post.calls == ["PutItem"]
    assert get.calls == ["BatchGetItem"]


def test_read_urls_switch_to_cloudfront_signed_urls_by_configuration(api, monkeypatch):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from chalicelib import runtime
    from chalicelib.adapters import aws_client, s3

    assert "X-Amz-Signature" in s3.read_url("uploads/u/m") or "Signature" in s3.read_url(
        "uploads/u/m"
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    aws_client("secretsmanager").create_secret(Name="summon/test/cloudfront-key", SecretString=pem)
    cdn = replace(
        runtime.settings(),
        media_cdn_domain="media.example.com",
        cloudfront_key_id="K2JCJMDEHXQW5F",
        cloudfront_key_secret_name="summon/test/cloudfront-key",
    )
    runtime.use(settings=cdn)
    url = s3.read_url("uploads/u/m")
    assert url.startswith("https://media.example.com/uploads/u/m?Expires=")
    assert "Key-Pair-Id=K2JCJMDEHXQW5F" in url and "Signature=" in url
    # the URL's signature verifies with the public half of the key in the secret
    query = dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))
    policy = (
        '{"Statement":[{"Resource":"https://media.example.com/uploads/u/m",'
        f'"Condition":{{"DateLessThan":{{"AWS:EpochTime":{query["Expires"]}}}}}}}]}}'
    )
    signature = base64.b64decode(
        query["Signature"].replace("-", "+").replace("_", "=").replace("~", "/")
    )
    key.public_key().verify(signature, policy.encode(), padding.PKCS1v15(), hashes.SHA1())
