"""TokenVerifier's contract with tokens signed by a key it fetches over HTTP (a JWKS server
on 127.0.0.1, as Cognito serves a pool's): what it accepts, what it refuses and the reason
it gives (the 401's detail a client shows), and how often it fetches the keys."""

from __future__ import annotations

import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import auth, runtime
from chalicelib.auth import TokenVerifier, bearer_token
from chalicelib.errors import Unauthenticated

pytestmark = pytest.mark.integration

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_verifier"
CLIENT = "verifier-client"


class Keys:
    """The JWKS endpoint and how many times it was fetched."""

    def __init__(self) -> None:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        body = json.dumps({"keys": [{**public, "kid": "k1", "alg": "RS256", "use": "sig"}]})
        self.fetches = 0
        keys = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                keys.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"


@pytest.fixture
def keys() -> Iterator[Keys]:
    served = Keys()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()
    served.server.server_close()


def token(drop: tuple[str, ...] = (), **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "sub": "user-1",
        "email": "ana@example.com",
        "token_use": "id",
        "aud": CLIENT,
        "iss": ISSUER,
        "iat": now,
        "exp": now + 3600,
        **changes,
    }
    for name in drop:
        claims.pop(name)
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "k1"})


def verifier(url: str, issuer: str = ISSUER, audience: str = CLIENT) -> TokenVerifier:
    return TokenVerifier(jwks_url=url, issuer=issuer, audience=audience)


def refused(reason: str) -> Any:
    return pytest.raises(Unauthenticated, match=f"^{re.escape(reason)}$")


def test_a_valid_token_gives_its_claims_and_the_keys_are_fetched_once(keys):
    v = verifier(keys.url)
    assert v.verify(token())["email"] == "ana@example.com"
    assert v.principal(f"Bearer {token(sub='user-2')}").user_id == "user-2"
    assert keys.fetches == 1  # the second token's key came from the cache


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "sub", "aud", "token_use"])
def test_a_token_without_a_required_claim_is_refused(keys, claim):
    with refused(f'Invalid token: Token is missing the "{claim}" claim.'):
        verifier(keys.url).verify(token(drop=(claim,)))


def test_no_clock_leeway(keys):
    now = int(time.time())
    with refused("The token has expired: sign in again."):
        verifier(keys.url).verify(token(exp=now - 1))
    with refused("Invalid token: The token is not yet valid (nbf)."):
        verifier(keys.url).verify(token(nbf=now + 2))


def test_each_refusal_says_why(keys):
    with refused("The token was issued to another app client."):
        verifier(keys.url, audience="another-client").verify(token())
    with refused("The token was issued by another user pool."):
        verifier(keys.url, issuer="https://elsewhere").verify(token())
    with refused("Send the ID token, not the access token."):
        verifier(keys.url).verify(token(token_use="access"))
    with refused("The signing keys could not be fetched."):
        verifier("http://127.0.0.1:9/jwks.json").verify(token())
    with refused("Missing Authorization header: send the Cognito ID token."):
        bearer_token("  ")
    with refused("Malformed token: expected a JWT (three dot-separated parts)."):
        bearer_token("Bearer abc.def")


@pytest.mark.timeout(60)
def test_a_key_server_that_never_answers_fails_closed_instead_of_hanging():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/jwks.json"
        with refused("The signing keys could not be fetched."):
            verifier(url).verify(token())
    finally:
        silent.close()


def test_the_containers_verifier_is_built_once_from_its_settings(keys, monkeypatch):
    monkeypatch.setenv("SUMMON_JWKS_URL", keys.url)
    monkeypatch.setenv("SUMMON_TOKEN_ISSUER", ISSUER)
    monkeypatch.setenv("SUMMON_USER_POOL_CLIENT_ID", CLIENT)
    runtime.reset()
    try:
        first = auth.verifier()
        assert first is auth.verifier()
        assert first.verify(token())["sub"] == "user-1"
        with refused("The token was issued to another app client."):
            first.verify(token(aud="another-client"))
        with refused("The token was issued by another user pool."):
            first.verify(token(iss="https://cognito-idp.eu-west-1.amazonaws.com/other"))
    finally:
        runtime.reset()
