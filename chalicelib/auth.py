"""Cognito ID-token verification and the signed-in principal.

In the cloud, API Gateway verifies the token and hands the claims to the app: the REST API's
Cognito authorizer, and the optional HTTP API's JWT authorizer with payload format 1.0, in
``requestContext.authorizer.claims`` (:func:`claims_of` also reads format 2.0's
``authorizer.jwt.claims``). The WebSocket ``$connect`` route has no
Cognito authorizer, and ``chalice local`` only decodes tokens, so both the app's
``$connect`` handler and devstack's local HTTP gateway verify with :class:`TokenVerifier`:
RS256 signature against the pool's JWKS (cached per container), expiry, issuer, audience
(the app client) and ``token_use == "id"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import lazy, runtime
from chalicelib.errors import Unauthenticated

if TYPE_CHECKING:
    import jwt
else:  # PyJWT (~50 ms) loads with the first verification (runtime.py: late imports)
    jwt = lazy.module("jwt")

CUSTOMERS = "customers"
PROVIDERS = "providers"
OPERATORS = "operators"
"""The marketplace's staff (the ``/admin`` routes); never granted by ``POST /me/roles``."""
ROLES = (CUSTOMERS, PROVIDERS)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the Cognito ``sub``, email and groups (roles)."""

    user_id: str
    email: str
    groups: frozenset[str]
    username: str = ""
    """This pool's name for the account (the Cognito admin APIs take it)."""

    @property
    def is_customer(self) -> bool:
        return CUSTOMERS in self.groups


def _groups(raw: Any) -> frozenset[str]:
    """``cognito:groups`` as a set. Decoded JWTs carry a list; API Gateway's REST authorizer
    flattens it to a string (``"a,b"`` or ``"[a b]"``)."""
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        parts = raw.strip("[]").replace(",", " ").split()
        return frozenset(p for p in parts if p)
    if isinstance(raw, list | tuple):
        return frozenset(str(p) for p in raw)
    return frozenset()


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The caller of these (verified) claims. The user id is ``custom:user_id``, the id
    that stays the same in either region's pool (ADR 0013), or the ``sub`` for an account
    that has none yet; ``username`` is this pool's name for the account."""
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("The token has no subject.")
    stable = claims.get("custom:user_id")
    username = claims.get("cognito:username")
    email = claims.get("email")
    return Principal(
        user_id=stable if isinstance(stable, str) and stable else sub,
        email=email if isinstance(email, str) else "",
        groups=_groups(claims.get("cognito:groups")),
        username=username if isinstance(username, str) and username else sub,
    )


def claims_of(request_context: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The verified claims API Gateway put in a request's context: ``authorizer.claims``
    (REST API Cognito authorizer; HTTP API JWT authorizer, payload format 1.0) or
    ``authorizer.jwt.claims`` (HTTP API, payload format 2.0); :class:`Unauthenticated`
    when there are none."""
    authorizer = (request_context or {}).get("authorizer") or {}
    claims = authorizer.get("claims")
    if claims is None:
        claims = (authorizer.get("jwt") or {}).get("claims")
    if not isinstance(claims, Mapping) or not claims:
        raise Unauthenticated("Missing or invalid token.")
    return claims


def bearer_token(header: str | None) -> str:
    """The raw token of an ``Authorization`` header (raw token or ``Bearer <token>``)."""
    if header is None or not header.strip():
        raise Unauthenticated("Missing Authorization header: send the Cognito ID token.")
    value = header.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    if value.count(".") != 2:
        raise Unauthenticated("Malformed token: expected a JWT (three dot-separated parts).")
    return value


class TokenVerifier:
    """Verifies Cognito ID tokens against a JWKS URL: RS256, this pool's issuer and app
    client, every standard claim present, no clock leeway (``exp`` passed or ``nbf`` ahead
    is refused). The keys are cached an hour; fetching them times out after 5 s."""

    def __init__(self, *, jwks_url: str, issuer: str, audience: str) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks = jwt.PyJWKClient(jwks_url, lifespan=3600, timeout=5)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid ID token; :class:`Unauthenticated` (saying why) otherwise.
        Cost: fetches the JWKS when its cache (an hour) has no key for the token."""
        try:
            key = self._jwks.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "sub", "aud", "token_use"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("The token has expired: sign in again.") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("The token was issued to another app client.") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthenticated("The token was issued by another user pool.") from exc
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthenticated("The signing keys could not be fetched.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"Invalid token: {exc}.") from exc
        if claims.get("token_use") != "id":
            raise Unauthenticated("Send the ID token, not the access token.")
        return claims

    def jwks_keys(self) -> int:
        """Fetch (or reuse the cached) signing keys; the number of keys."""
        return len(self._jwks.get_signing_keys())

    def principal(self, header_or_token: str | None) -> Principal:
        return principal_from_claims(self.verify(bearer_token(header_or_token)))


def verifier() -> TokenVerifier:
    """The verifier of this container's user pool (one per runtime; JWKS cached an hour)."""
    return runtime.get().memo("verifier", _pool_verifier)


def _pool_verifier() -> TokenVerifier:
    s = runtime.settings()
    return TokenVerifier(jwks_url=s.jwks_url, issuer=s.token_issuer, audience=s.user_pool_client_id)
