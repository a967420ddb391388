"""The HTTP edge's pure parts: tokens, cursors, If-Match, problem bodies."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.auth import _groups, bearer_token, claims_of, principal_from_claims
from chalicelib.errors import Invalid, PreconditionFailed, Unauthenticated
from chalicelib.payloads import if_match, problem
from chalicelib.services.profiles import etag
from chalicelib.store import pagination

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


LIST = "gsi1|gsi1pk=USER#a|"


def test_cursors_round_trip_and_refuse_other_partitions():
    key = {"pk": {"S": "USER#a"}, "sk": {"S": "CONV#01"}}
    cursor = pagination.encode(key, list_id="conversations|USER#a")
    assert cursor is not None and "USER" not in cursor  # opaque
    assert (
        pagination.decode(
            cursor, list_id="conversations|USER#a", hash_key="pk", hash_value="USER#a"
        )
        == key
    )
    with pytest.raises(Invalid):
        pagination.decode(
            cursor, list_id="conversations|USER#b", hash_key="pk", hash_value="USER#b"
        )
    with pytest.raises(Invalid):
        pagination.decode("%%%not-base64", list_id=LIST, hash_key="pk", hash_value="USER#a")
    assert pagination.encode(None, list_id=LIST) is None
    assert pagination.decode(None, list_id=LIST, hash_key="pk", hash_value="USER#a") is None


def _payload(cursor: str) -> dict:
    raw = cursor.split(".", maxsplit=1)[0]
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def _forge(doc: dict, signature: str) -> str:
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature


KEY = {"gsi1pk": {"S": "USER#a"}, "gsi1sk": {"S": "2026#01"}, "pk": {"S": "REQ#1"}}


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["k"].update(gsi1sk={"N": "5"}),  # a number where a string was
        lambda d: d["k"].pop("pk"),  # a key missing
        lambda d: d.update(k=[1, 2]),  # a list
        lambda d: d["k"].update(gsi1sk={"S": "2099#99"}),  # another start
        lambda d: d["k"].update(extra={"S": "x"}),
    ],
)
def test_an_edited_cursor_is_refused(edit):
    cursor = pagination.encode(KEY, list_id=LIST)
    assert cursor is not None
    doc = _payload(cursor)
    edit(doc)
    with pytest.raises(Invalid, match="cursor"):
        pagination.decode(
            _forge(doc, cursor.split(".")[1]), list_id=LIST, hash_key="gsi1pk", hash_value="USER#a"
        )


@pytest.mark.parametrize(
    "cursor", ["", ".", "abc", "abc.def", "e30.", "W10.AAAA", "a" * 300, "eyJsIjpbXX0.x"]
)
def test_garbage_cursors_are_invalid(cursor):
    if not cursor:
        assert pagination.decode(cursor, list_id=LIST, hash_key="pk", hash_value="x") is None
        return
    with pytest.raises(Invalid):
        pagination.decode(cursor, list_id=LIST, hash_key="gsi1pk", hash_value="USER#a")


def test_a_cursor_of_another_list_on_the_same_partition_is_refused():
    cursor = pagination.encode(KEY, list_id=LIST)
    with pytest.raises(Invalid, match="not a cursor of this list"):
        pagination.decode(
            cursor, list_id="gsi1|gsi1pk=USER#a|x", hash_key="gsi1pk", hash_value="USER#a"
        )


def test_a_cursor_signed_with_another_key_is_refused():
    from dataclasses import replace

    from chalicelib import runtime

    cursor = pagination.encode(KEY, list_id=LIST)
    runtime.use(settings=replace(runtime.settings(), cursor_key="another-stage"))
    with pytest.raises(Invalid, match="not a cursor this API returned"):
        pagination.decode(cursor, list_id=LIST, hash_key="gsi1pk", hash_value="USER#a")


@pytest.mark.parametrize(
    ("header", "version"),
    [('"3"', 3), ("*", None), ('"0"', 0), (' "4" ', 4), ('W/"3", "3"', 3), ('"x", "5"', 5)],
)
def test_if_match(header, version):
    assert if_match(header) == version


@pytest.mark.parametrize("header", ['W/"3"', '"\u00b2"', '"²"', '"v3"', '"' + "9" * 5000 + '"'])
def test_if_match_without_a_strong_version_is_412(header):
    with pytest.raises(PreconditionFailed):
        if_match(header)


@pytest.mark.parametrize("header", ["3", "abc", '"3', "W/3", '"1", "2"', "", '"a"b"', "²"])
def test_malformed_if_match_is_400(header):
    with pytest.raises(Invalid):
        if_match(header)


def test_etag_quotes():
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


# Where API Gateway puts the verified claims (abridged from AWS's documented sample events;
# values as API Gateway sends them: strings, a list claim flattened to "[a b]").
CLAIMS = {
    "sub": "s2",
    "custom:user_id": "u1",
    "cognito:username": "s2",
    "email": "a@x.com",
    "cognito:groups": "[customers providers]",
    "token_use": "id",
}
REST_CONTEXT = {  # REST API, Cognito user pool authorizer
    "resourcePath": "/me",
    "httpMethod": "GET",
    "authorizer": {"claims": CLAIMS},
    "stage": "api",
}
HTTP_API_V1_CONTEXT = {  # HTTP API, JWT authorizer, payload format 1.0
    "resourcePath": "/me",
    "httpMethod": "GET",
    "authorizer": {"claims": CLAIMS, "scopes": None},
    "stage": "$default",
}
HTTP_API_V2_CONTEXT = {  # HTTP API, JWT authorizer, payload format 2.0
    "routeKey": "GET /me",
    "authorizer": {"jwt": {"claims": CLAIMS, "scopes": None}},
    "stage": "$default",
}


@pytest.mark.parametrize("context", [REST_CONTEXT, HTTP_API_V1_CONTEXT, HTTP_API_V2_CONTEXT])
def test_claims_are_read_wherever_either_api_puts_them(context):
    p = principal_from_claims(claims_of(context))
    assert (p.user_id, p.username, p.email) == ("u1", "s2", "a@x.com")
    assert p.groups == {"customers", "providers"}


@pytest.mark.parametrize(
    "context",
    [
        None,
        {},
        {"authorizer": None},
        {"authorizer": {"claims": None, "scopes": None}},  # an HTTP API route without authorizer
        {"authorizer": {"jwt": {"claims": {}}}},
        {"authorizer": {"claims": "sub=u1"}},
    ],
)
def test_a_context_without_claims_is_unauthenticated(context):
    with pytest.raises(Unauthenticated):
        claims_of(context)
