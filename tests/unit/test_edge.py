"""The HTTP edge's pure parts: tokens, cursors, If-Match, problem bodies."""

from __future__ import annotations

import json

import pytest

from chalicelib.auth import _groups, bearer_token, principal_from_claims
from chalicelib.errors import Invalid, Unauthenticated
from chalicelib.services.profiles import etag, parse_if_match
from chalicelib.store import pagination
from chalicelib.web import problem

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("header", [None, "", "   ", "garbage", "Bearer x.y", "Bearer "])
def test_malformed_authorization_headers_are_unauthenticated(header):
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_bearer_prefix_is_optional():
    assert bearer_token("a.b.c") == "a.b.c"
    assert bearer_token("Bearer a.b.c") == "a.b.c"
    assert bearer_token("bearer   a.b.c ") == "a.b.c"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["customers", "providers"], {"customers", "providers"}),
        ("customers,providers", {"customers", "providers"}),  # API Gateway REST flattening
        ("[customers providers]", {"customers", "providers"}),
        (None, set()),
        (42, set()),
    ],
)
def test_groups_claim_in_every_shape_api_gateway_sends(raw, expected):
    assert _groups(raw) == expected


def test_a_principal_needs_a_subject():
    with pytest.raises(Unauthenticated):
        principal_from_claims({"email": "x@example.com"})
    p = principal_from_claims({"sub": "u1", "cognito:groups": ["providers"]})
    assert "providers" in p.groups and not p.is_customer


def test_cursors_round_trip_and_refuse_other_partitions():
    key = {"pk": {"S": "USER#a"}, "sk": {"S": "CONV#01"}}
    cursor = pagination.encode(key)
    assert cursor is not None and "USER" not in cursor  # opaque
    assert pagination.decode(cursor, hash_key="pk", hash_value="USER#a") == key
    with pytest.raises(Invalid):
        pagination.decode(cursor, hash_key="pk", hash_value="USER#b")
    with pytest.raises(Invalid):
        pagination.decode("%%%not-base64", hash_key="pk", hash_value="USER#a")
    assert pagination.encode(None) is None
    assert pagination.decode(None, hash_key="pk", hash_value="USER#a") is None


@pytest.mark.parametrize(
    ("header", "version"), [('"3"', 3), ('W/"3"', 3), ("3", 3), ("*", None), ('"0"', 0)]
)
def test_if_match(header, version):
    assert parse_if_match(header) == version


def test_bad_if_match_is_invalid_and_etag_quotes():
    with pytest.raises(Invalid):
        parse_if_match('"v3"')
    assert etag(7) == '"7"'


def test_problem_body_shape():
    response = problem(
        409, "Conflict", "Taken.", instance="/x", errors=[{"field": "a", "message": "b"}]
    )
    body = json.loads(response.body)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "Taken.",
        "instance": "/x",
        "errors": [{"field": "a", "message": "b"}],
    }


def test_the_user_id_is_the_stable_id_when_the_pool_sets_one():
    """ADR 0013: ``custom:user_id`` stays the same in either region's pool; the ``sub``
    stands in until an account has one; the admin APIs take this pool's username."""
    standby = principal_from_claims(
        {"sub": "s2", "custom:user_id": "u1", "cognito:username": "s2", "email": "a@x.com"}
    )
    assert (standby.user_id, standby.username) == ("u1", "s2")
    legacy = principal_from_claims({"sub": "u1"})
    assert (legacy.user_id, legacy.username) == ("u1", "u1")
