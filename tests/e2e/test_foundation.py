"""The local stack over real sockets: health, the sign-in matrix, first use, roles, settings."""

from __future__ import annotations

import gzip
import json
import threading
import time
from importlib import resources

import jwt
import pytest

from tests.support import alg_none_token, forged_token

pytestmark = pytest.mark.e2e


def test_health_reports_its_dependencies(stack):
    response = stack.call("GET", "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["dynamodb"]["status"] == "ok"
    assert body["checks"]["cognito_jwks"]["status"] == "ok"


def test_openapi_is_public(stack):
    response = stack.call("GET", "/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.1")


def _moto_signed(claims: dict) -> str:
    """A token signed with the emulator's own pool key: how an *expired* or *wrong-audience*
    token from the real pool looks (we cannot wait an hour for a real one to expire)."""
    packed = resources.files("moto.cognitoidp").joinpath("resources/jwks-private.json.gz")
    key = json.loads(gzip.decompress(packed.read_bytes()))
    private = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": "dummy"})


def test_the_token_matrix(stack):
    token = stack.sign_in("customer@summon.local")
    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(time.time())
    other_client = stack.client("cognito-idp").create_user_pool_client(
        UserPoolId=stack.pool_id,
        ClientName=f"other-{now}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_audience = stack.client("cognito-idp").initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "customer@summon.local", "PASSWORD": "Summon-demo-2026"},
    )["AuthenticationResult"]
    bad = {
        "no header": None,
        "garbage": "garbage",
        "bearer x.y.z": "Bearer x.y.z",
        "empty bearer": "Bearer ",
        "forged signature": forged_token(claims),
        "alg=none": alg_none_token(claims),
        "expired": _moto_signed({**claims, "iat": now - 7200, "exp": now - 3600}),
        "wrong audience": other_audience["IdToken"],
        "access token": other_audience["AccessToken"],
        "tampered claims": token.rsplit(".", 2)[0]
        + "."
        + jwt.utils.base64url_encode(
            json.dumps({**claims, "cognito:groups": ["providers"]}).encode()
        ).decode()
        + "."
        + token.rsplit(".", 1)[1],
    }
    for name, value in bad.items():
        headers = {} if value is None else {"Authorization": value}
        response = stack.call("GET", "/me", headers=headers)
        assert response.status_code == 401, (name, response.status_code, response.text)
        assert response.headers["Content-Type"] == "application/problem+json", name
        assert response.json()["status"] == 401
    assert stack.call("GET", "/me", token).status_code == 200
    assert stack.call("GET", "/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_an_admin_created_account_works_on_its_first_call(stack):
    email, token = stack.new_account("customers")
    response = stack.call("GET", "/me", token)
    assert response.status_code == 200
    assert response.json()["email"] == email
    assert response.json()["roles"] == ["customers"]


def test_roles_come_from_the_token(stack):
    customer = stack.sign_in("customer@summon.local")
    body = {"categories": ["plumbing"], "location": {"lat": 38.7, "lng": -9.1}, "radius_km": 5}
    assert stack.call("PUT", "/me/provider", customer, json=body).status_code == 403
    _, provider = stack.new_account("providers")
    assert stack.call("PUT", "/me/provider", provider, json=body).status_code == 200


def test_two_devices_racing_on_settings(stack):
    _, token = stack.new_account("customers")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def device(locale: str) -> None:
        barrier.wait()
        response = stack.call(
            "PUT", "/me/settings", token, json={"locale": locale}, headers={"If-Match": '"0"'}
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=device, args=(loc,)) for loc in ("pt-PT", "de-DE")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 412]
    now = stack.call("GET", "/me/settings", token)
    assert now.headers["ETag"] == '"1"'
    assert now.json()["locale"] in ("pt-PT", "de-DE")


def test_unknown_routes_are_404_problems(stack):
    response = stack.call("GET", "/nowhere")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"


def test_demo_data_is_seeded(stack):
    token = stack.sign_in("customer@summon.local")
    categories = stack.call("GET", "/categories", token).json()["items"]
    assert len(categories) >= 5
    provider = stack.sign_in("provider@summon.local")
    me = stack.call("GET", "/me", provider).json()
    assert stack.call("GET", f"/providers/{me['id']}", token).json()["online"] is True
