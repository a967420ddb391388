"""Bad input through every route: always a clear, documented 4xx, never a 5xx (issue 12).

Each test walks every route ``web.route`` registered (not a sample), so a route added later
is covered too."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

import app  # noqa: F401 - registers every route before the parameters are listed
from chalicelib import openapi
from chalicelib.store import conversations
from chalicelib.web import ROUTES, RouteSpec
from tests.support import assert_documented, documented_statuses

pytestmark = pytest.mark.api

ULID = "01J0000000000000000000000Z"
BODY_ROUTES = [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]
NO_BODY_POSTS = [r for r in BODY_ROUTES if r.body is None]


def path_of(spec: RouteSpec, value: str = ULID) -> str:
    return re.sub(r"\{[^}]*\}", value, spec.path)


def route_id(spec: RouteSpec) -> str:
    return f"{spec.method} {spec.path}"


@pytest.fixture
def anyone(as_user: Any) -> Any:
    """A caller with every role, so a route's role check never hides what follows it."""
    return as_user(("customers", "providers", "operators"))


def call(api: Any, spec: RouteSpec, raw: bytes | None, path: str | None = None) -> Any:
    target = path or path_of(spec)
    headers = {"If-Match": '"0"'} if spec.versioned else {}
    response = api.call(spec.method, target, raw=raw or b"", headers=headers)
    assert response.status_code < 500, (route_id(spec), response.status_code, response.body)
    assert_documented(spec.method, target, response.status_code)
    return response


DEEP = b"[" * 5000 + b"]" * 5000


MALFORMED = [
    DEEP,
    b'{"a": ' + DEEP + b"}",
    b'{"name": "x", "name": "y"}',
    b'{"lat": NaN}',
    b'{"x": Infinity}',
    b"\xff\xfe{}",
]


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=route_id)
def test_malformed_json_is_400_on_every_body_route(anyone, spec):
    for raw in MALFORMED:
        response = call(anyone, spec, raw)
        assert response.status_code == 400, (route_id(spec), raw[:20], response.json_body)
        assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("spec", NO_BODY_POSTS, ids=route_id)
def test_routes_that_take_no_body_refuse_fields(anyone, spec):
    response = call(anyone, spec, b'{"force": true}')
    assert response.status_code == 400
    assert "takes no body" in response.json_body["detail"]


def test_routes_that_take_no_query_refuse_parameters(anyone):
    for spec in ROUTES:
        if spec.query is not None:
            continue
        response = anyone.call(spec.method, path_of(spec) + "?debug=1", raw=b"")
        assert response.status_code == 400, (route_id(spec), response.json_body)
        assert "debug" in response.json_body["detail"]


@pytest.mark.parametrize("spec", [r for r in ROUTES if "{" in r.path], ids=route_id)
def test_odd_path_ids_are_a_documented_4xx(anyone, spec):
    for value in ("x", "%C2%B2", "a" * 300, "..", "%00", "%20"):
        response = call(anyone, spec, None, path_of(spec, value))
        assert 400 <= response.status_code < 500


def test_every_route_without_a_token_is_a_documented_401(client):
    for spec in ROUTES:
        if not spec.auth:
            continue
        response = client.http.request(spec.method, path_of(spec), headers={}, body=b"")
        assert response.status_code == 401, route_id(spec)
        assert_documented(spec.method, path_of(spec), 401)


def test_the_document_lists_what_routes_answer_besides_their_main_status():
    doc = openapi.document()["paths"]
    assert {"200", "201"} <= set(doc["/devices"]["post"]["responses"])
    assert {"200", "201"} <= set(
        doc["/conversations/{conversation_id}/messages"]["post"]["responses"]
    )
    assert "400" in doc["/jobs/{job_id}/location"]["get"]["responses"]
    for spec in BODY_ROUTES:
        assert {400, 413, 415} <= (documented_statuses(spec.method, path_of(spec)) or set())


# --- cursors ----------------------------------------------------------------------------


@pytest.fixture
def two_pages(as_user: Any, aws: None) -> tuple[Any, str]:
    me = as_user()
    for n in range(3):
        conversations.open_conversation([me.user_id, as_user().user_id], "quote", f"Q{n}")
    first = me.call("GET", "/conversations?limit=1").json_body
    assert first["cursor"]
    return me, first["cursor"]


def edited(cursor: str, change: Any) -> str:
    import base64

    payload, _, signature = cursor.partition(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(doc)
    raw = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "." + signature


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["k"].update(sk={"N": "1"}),
        lambda d: d["k"].pop("sk"),
        lambda d: d.update(k=["a"]),
        lambda d: d["k"].update(sk={"S": "CONV#ZZZ"}),
    ],
    ids=["number-for-string", "key-missing", "list", "other-start"],
)
def test_an_edited_cursor_is_400(two_pages, change):
    me, cursor = two_pages
    response = me.call("GET", f"/conversations?limit=1&cursor={edited(cursor, change)}")
    assert response.status_code == 400, response.json_body
    assert "cursor" in response.json_body["detail"]


LISTS = [
    "/conversations",
    "/notifications",
    "/jobs",
    "/requests",
    "/offers",
    f"/providers/{ULID}/reviews",
    f"/conversations/{ULID}/messages",
]


def test_a_cursor_of_one_list_is_400_on_every_other(two_pages, as_user):
    me, cursor = two_pages
    both = as_user(("customers", "providers"), user_id=me.user_id)
    for path in LISTS[1:]:
        response = both.call("GET", f"{path}?cursor={cursor}")
        assert response.status_code in (400, 404), (path, response.json_body)
        if response.status_code == 400:
            assert "cursor" in response.json_body["detail"]
    assert me.call("GET", f"/conversations?limit=1&cursor={cursor}").status_code == 200


@pytest.mark.parametrize(
    "cursor", ["e30", "e30.AAAA", "W10.AAAA", "%00", "x" * 2000, "eyJrIjp7fX0.YQ"]
)
def test_garbage_cursors_are_400_on_every_list(as_user, aws, cursor):
    api = as_user(("customers", "providers"))
    for path in LISTS:
        response = api.call("GET", f"{path}?cursor={cursor}")
        assert response.status_code in (400, 404), (path, response.json_body)


# --- If-Match ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ('"²"', 412),
        ('"\u0663"', 412),  # ARABIC-INDIC DIGIT THREE
        ('W/"0"', 412),
        ('"' + "9" * 5000 + '"', 412),
        ("0", 400),
        ('"0", "1"', 400),
        ("²", 400),
    ],
)
def test_if_match_is_compared_strongly_and_never_a_500(as_user, header, status):
    me = as_user()
    response = me.call(
        "PUT",
        "/me/settings",
        {"locale": "pt-PT"},
        headers={"If-Match": header.encode().decode("latin-1")},
    )
    assert response.status_code == status, response.json_body
    assert me.call("GET", "/me/settings").headers["ETag"] == '"0"'


def test_nested_settings_are_400_not_a_500_at_serialisation(as_user):
    me = as_user()
    deep: Any = "x"
    for _ in range(300):
        deep = {"a": deep}
    raw = json.dumps({"client": deep})
    response = me.call("PUT", "/me/settings", raw=raw.encode(), headers={"If-Match": '"0"'})
    assert response.status_code == 400
    assert "nests" in response.json_body["detail"]


# --- methods ----------------------------------------------------------------------------


def test_a_method_a_route_lacks_is_a_405_problem_with_allow(as_user):
    me = as_user()
    for method in ("PUT", "POST"):
        response = me.call(method, "/me", raw=b"")
        assert response.status_code == 405
        assert response.headers["Content-Type"] == "application/problem+json"
        allowed = set(response.headers["Allow"].replace(" ", "").split(","))
        assert allowed == {"GET", "PATCH", "DELETE"}


# --- input accepted that should not be ----------------------------------------------------


def text_fields(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the free-text fields of a body schema (strings without a pattern,
    format or enum; nested objects too)."""
    out: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [prop])
        for option in options:
            if "$ref" in option:
                target = defs[option["$ref"].rsplit("/", 1)[-1]]
                out += text_fields(target, defs, f"{prefix}{name}.")
            elif option.get("type") == "string" and not (
                {"pattern", "format", "enum", "const"} & option.keys()
            ):
                out.append(f"{prefix}{name}")
    return out


def nested(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: nested(rest, value) if rest else value}


TEXT_ROUTES = [
    (spec, field)
    for spec in BODY_ROUTES
    if spec.body is not None
    for field in text_fields(
        spec.body.model_json_schema(), spec.body.model_json_schema().get("$defs", {})
    )
]


def test_every_free_text_field_is_found():
    found = {f"{s.method} {s.path} {f}" for s, f in TEXT_ROUTES}
    assert {
        "PATCH /me name",
        "POST /requests description",
        "POST /requests location.address",
        "POST /conversations/{conversation_id}/messages text",
        "PUT /me/provider bio",
        "POST /jobs/{job_id}/reviews text",
        "POST /requests/{request_id}/quotes note",
        "POST /requests/{request_id}/cancel reason",
    } <= found


@pytest.mark.parametrize(("spec", "field"), TEXT_ROUTES, ids=lambda v: getattr(v, "path", v))
def test_control_and_bidi_characters_are_refused_in_every_text_field(anyone, spec, field):
    for bad in ("a\x00b", "x\x07", "\u202eevil", "ab\u2066c\u2069", "\x1b[31mred", "a\x85b"):
        raw = json.dumps(nested(field, bad.ljust(24, "x"))).encode()
        response = call(anyone, spec, raw)
        assert response.status_code == 400, (route_id(spec), field, bad)
        errors = {e["field"]: e["message"] for e in response.json_body.get("errors", [])}
        assert "U+" in errors.get(field, ""), (route_id(spec), field, errors)


def test_names_and_addresses_are_one_line(anyone):
    assert anyone.call("PATCH", "/me", {"name": "Ana\nAdmin"}).status_code == 400
    assert anyone.call("PATCH", "/me", {"name": "Ana\tX"}).status_code == 400
    ok = anyone.call("PATCH", "/me", {"name": "Ana Lúcia ﷺ 日本"})
    assert ok.status_code == 200 and ok.json_body["name"] == "Ana Lúcia ﷺ 日本"


LOCATION = {"lat": 38.7, "lng": -9.1}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("PUT", "/me/provider/availability", {"online": "yes"}, "online"),
        ("PUT", "/me/provider/availability", {"online": 1}, "online"),
        (
            "PUT",
            "/me/provider/availability",
            {"online": True, "location": {"lat": "45.1", "lng": 0}},
            "location.lat",
        ),
        (
            "PUT",
            "/me/provider/availability",
            {"online": True, "location": {"lat": 1, "lng": True}},
            "location.lng",
        ),
        (
            "PUT",
            "/me/provider",
            {"categories": ["plumbing"], "location": LOCATION, "radius_km": "5"},
            "radius_km",
        ),
        (
            "POST",
            "/uploads",
            {"purpose": "avatar", "content_type": "image/png", "size_bytes": True},
            "size_bytes",
        ),
        (
            "POST",
            "/uploads",
            {"purpose": "avatar", "content_type": "image/png", "size_bytes": "100"},
            "size_bytes",
        ),
        (
            "POST",
            "/uploads",
            {"purpose": "avatar", "content_type": "image/png", "size_bytes": 100.0},
            "size_bytes",
        ),
        ("POST", f"/conversations/{ULID}/read", {"seq": "3"}, "seq"),
        ("POST", f"/jobs/{ULID}/reviews", {"rating": 4.0}, "rating"),
        ("PATCH", "/me", {"name": 42}, "name"),
    ],
)
def test_request_models_are_strictly_typed(anyone, method, path, body, field):
    response = anyone.call(method, path, body)
    assert response.status_code == 400, response.json_body
    assert field in {e["field"] for e in response.json_body["errors"]}, response.json_body


def test_strict_types_still_take_json_numbers_dates_and_decimal_strings(anyone):
    body = {
        "categories": ["plumbing"],
        "location": {"lat": 38, "lng": -9.5},
        "radius_km": 5,
        "rate": {"amount": "30.50", "currency": "EUR"},
    }
    assert anyone.call("PUT", "/me/provider", body).status_code == 200
    body["rate"] = {"amount": 30.5, "currency": "EUR"}
    assert anyone.call("PUT", "/me/provider", body).status_code == 200


def test_settings_refuse_numbers_out_of_range(anyone):
    for raw in (b'{"client": {"x": 1e400}}', b'{"client": {"x": NaN}}'):
        response = anyone.call("PUT", "/me/settings", raw=raw, headers={"If-Match": '"0"'})
        assert response.status_code == 400, response.json_body
    assert anyone.call("GET", "/me/settings").headers["ETag"] == '"0"'
