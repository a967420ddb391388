"""TokenVerifier against a real Cognito emulator: JWKS over HTTP, real ID tokens."""

from __future__ import annotations

import jwt
import pytest

from chalicelib.auth import TokenVerifier
from chalicelib.errors import Unauthenticated
from devstack import provision
from tests.support import alg_none_token, forged_token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pool(moto_server):
    ids = provision.user_pool(moto_server, "us-east-1")
    provision.ensure_user(
        moto_server,
        "us-east-1",
        ids["SUMMON_USER_POOL_ID"],
        "ana@example.com",
        "Passw0rd-long",
        ["customers", "providers"],
    )
    return moto_server, ids


def sign_in(endpoint, client_id, email="ana@example.com"):
    idp = provision._client("cognito-idp", endpoint, "us-east-1")
    return idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": "Passw0rd-long"},
    )["AuthenticationResult"]


def verifier(ids):
    return TokenVerifier(
        jwks_url=ids["SUMMON_JWKS_URL"],
        issuer=ids["SUMMON_TOKEN_ISSUER"],
        audience=ids["SUMMON_USER_POOL_CLIENT_ID"],
    )


def test_a_real_id_token_gives_the_principal_with_groups(pool):
    endpoint, ids = pool
    token = sign_in(endpoint, ids["SUMMON_USER_POOL_CLIENT_ID"])["IdToken"]
    principal = verifier(ids).principal(f"Bearer {token}")
    assert principal.email == "ana@example.com"
    assert principal.groups == {"customers", "providers"}


def test_every_bad_token_is_refused(pool):
    endpoint, ids = pool
    tokens = sign_in(endpoint, ids["SUMMON_USER_POOL_CLIENT_ID"])
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    v = verifier(ids)
    for name, token in {
        "access token": tokens["AccessToken"],
        "forged": forged_token(claims),
        "unknown kid": forged_token(claims, kid="other"),
        "alg none": alg_none_token(claims),
    }.items():
        with pytest.raises(Unauthenticated):
            v.verify(token)
        assert name
    wrong_issuer = TokenVerifier(
        jwks_url=ids["SUMMON_JWKS_URL"],
        issuer="https://elsewhere",
        audience=ids["SUMMON_USER_POOL_CLIENT_ID"],
    )
    with pytest.raises(Unauthenticated, match="another user pool"):
        wrong_issuer.verify(tokens["IdToken"])
    wrong_audience = TokenVerifier(
        jwks_url=ids["SUMMON_JWKS_URL"],
        issuer=ids["SUMMON_TOKEN_ISSUER"],
        audience="another-client",
    )
    with pytest.raises(Unauthenticated, match="another app client"):
        wrong_audience.verify(tokens["IdToken"])


def test_unreachable_signing_keys_fail_closed(pool):
    endpoint, ids = pool
    valid = sign_in(endpoint, ids["SUMMON_USER_POOL_CLIENT_ID"])["IdToken"]
    v = TokenVerifier(
        jwks_url="http://127.0.0.1:9/jwks.json",
        issuer=ids["SUMMON_TOKEN_ISSUER"],
        audience=ids["SUMMON_USER_POOL_CLIENT_ID"],
    )
    with pytest.raises(Unauthenticated, match="signing keys could not be fetched"):
        v.verify(valid)  # a genuine token: refused only because the keys are unreachable
