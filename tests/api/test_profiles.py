"""Profiles, settings, categories and provider profiles through the app's routes."""

from __future__ import annotations

import json

import pytest

from chalicelib.store import keys
from chalicelib.store.models import Entity, ProviderItem, SettingsItem, UserItem
from tests.support import count_dynamodb_calls, geo_index_writes, route_calls

pytestmark = pytest.mark.api

PROVIDER_BODY = {
    "categories": ["plumbing", "electrical"],
    "bio": "20 years of pipes",
    "location": {"lat": 38.72, "lng": -9.14, "address": "Rua Augusta 1"},
    "radius_km": 10,
    "rate": {"amount": "30", "currency": "EUR", "unit": "hour"},
}


def items_of(user_id: str) -> list[str]:
    return sorted(i.sk for i in Entity.query(keys.user(user_id)))


def test_profile_is_created_on_first_use_and_patchable(as_user):
    me = as_user(("customers",))
    first = me.call("GET", "/me")
    assert first.status_code == 200
    assert first.json_body["id"] == me.user_id
    assert first.json_body["roles"] == ["customers"]
    patched = me.call("PATCH", "/me", {"name": "Ana", "phone": "+351912345678"})
    assert patched.status_code == 200
    assert patched.json_body["name"] == "Ana"
    assert me.call("GET", "/me").json_body["phone"] == "+351912345678"
    cleared = me.call("PATCH", "/me", {"phone": None})
    assert cleared.json_body["phone"] is None
    assert cleared.json_body["name"] == "Ana"


def test_a_report_inside_the_cell_writes_no_geo_index_entry(as_user):
    from chalicelib.domain import geo

    provider = as_user(("providers",))
    provider.call("PUT", "/me/provider", PROVIDER_BODY)
    provider.call("PUT", "/me/provider/availability", {"online": True})
    indexed = ProviderItem.get(keys.user(provider.user_id), keys.PROVIDER)

    def report(lat: float, lng: float):
        body = {"online": True, "location": {"lat": lat, "lng": lng}}
        with count_dynamodb_calls() as calls:
            response = provider.call("PUT", "/me/provider/availability", body)
        assert response.status_code == 200, response.json_body
        stored = ProviderItem.get(keys.user(provider.user_id), keys.PROVIDER)
        return response.json_body, stored, geo_index_writes(calls)

    near = (38.7205, -9.1406)  # 70 m from where the provider is indexed
    assert geo.haversine_km(38.72, -9.14, *near) < geo.REINDEX_KM
    shown, stored, written = report(*near)
    assert written == set()
    assert (shown["location"]["lat"], shown["location"]["lng"]) == near  # the live position
    assert [stored.gsi3pk, stored.gsi3sk, stored.gsi4pk, stored.gsi4sk] == [
        indexed.gsi3pk, indexed.gsi3sk, indexed.gsi4pk, indexed.gsi4sk,
    ]  # fmt: skip
    assert (stored.lat, stored.lng) == (38.72, -9.14)  # matched where it was indexed

    far = (38.7205, -9.152)  # 1 km from the indexed position: leaves the cell
    shown, stored, written = report(*far)
    assert written == {"gsi3", "gsi4"}
    assert (stored.lat, stored.lng) == far
    assert stored.gsi3sk != indexed.gsi3sk and stored.gsi4sk != indexed.gsi4sk
    assert (shown["location"]["lat"], shown["location"]["lng"]) == far


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"avatar_media_id": "not-an-id"}, "avatar_media_id"),
        ({"nickname": "typo"}, "nickname"),
        ({}, "(body)"),
    ],
)
def test_bad_profile_patch_is_400_naming_the_field_and_writes_nothing(as_user, body, field):
    me = as_user()
    me.call("PATCH", "/me", {"name": "Before"})
    response = me.call("PATCH", "/me", body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json_body
    assert problem["status"] == 400
    assert any(e["field"] == field for e in problem["errors"]), problem
    assert me.call("GET", "/me").json_body["name"] == "Before"


def test_malformed_json_and_oversized_bodies_are_rejected(as_user):
    me = as_user()
    bad = me.call("PATCH", "/me", raw=b'{"name": "unterminated')
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json_body["detail"]
    big = me.call("PATCH", "/me", raw=json.dumps({"name": "x" * 70_000}).encode())
    assert big.status_code == 413
    assert big.json_body["title"] == "Content Too Large"
    assert items_of(me.user_id) == []


def test_wrong_content_type_and_method_use_the_problem_shape(as_user):
    me = as_user()
    wrong_type = me.call("PATCH", "/me", {"name": "x"}, headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json_body["status"] == 415
    wrong_method = me.call("PUT", "/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json_body["title"] == "Method Not Allowed"


def test_settings_are_versioned_and_a_stale_device_gets_412(as_user):
    me = as_user()
    fresh = me.call("GET", "/me/settings")
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == '"0"'
    assert fresh.json_body["locale"] == "en"

    phone = me.call("PUT", "/me/settings", {"locale": "pt-PT"}, headers={"If-Match": '"0"'})
    assert phone.status_code == 200
    assert phone.headers["ETag"] == '"1"'
    tablet = me.call("PUT", "/me/settings", {"distance_unit": "mi"}, headers={"If-Match": '"0"'})
    assert tablet.status_code == 412
    now = me.call("GET", "/me/settings")
    assert now.json_body["locale"] == "pt-PT"  # the winner's write is intact
    assert now.json_body["distance_unit"] == "km"  # the loser's was not half-applied
    assert now.headers["ETag"] == '"1"'
    retry = me.call(
        "PUT",
        "/me/settings",
        {"locale": "pt-PT", "distance_unit": "mi"},
        headers={"If-Match": now.headers["ETag"]},
    )
    assert retry.status_code == 200
    assert retry.json_body["version"] == 2
    stale = me.call("PUT", "/me/settings", {"locale": "fr-FR"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412  # a saved version is checked too, not only "not yet created"
    assert me.call("GET", "/me/settings").json_body["locale"] == "pt-PT"


def test_the_body_of_get_settings_can_be_put_back_as_it_is(as_user):
    me = as_user()
    read = me.call("GET", "/me/settings").json_body
    assert read["version"] == 0
    saved = me.call("PUT", "/me/settings", {**read, "locale": "pt-PT"})  # no If-Match
    assert saved.status_code == 200, saved.json_body
    assert (saved.json_body["version"], saved.headers["ETag"]) == (1, '"1"')
    stale = me.call("PUT", "/me/settings", read)  # version 0: another device saved since
    assert stale.status_code == 412
    both = me.call(
        "PUT", "/me/settings", saved.json_body, headers={"If-Match": saved.headers["ETag"]}
    )
    assert both.status_code == 200 and both.json_body["version"] == 2
    disagree = me.call(
        "PUT", "/me/settings", {**both.json_body, "version": 1}, headers={"If-Match": '"2"'}
    )
    assert disagree.status_code == 400
    now = me.call("GET", "/me/settings").json_body
    assert (now["version"], now["locale"]) == (2, "pt-PT")


def test_settings_need_if_match_and_valid_content(as_user):
    me = as_user()
    missing = me.call("PUT", "/me/settings", {"locale": "pt-PT"})
    assert missing.status_code == 428
    garbage = me.call("PUT", "/me/settings", {"locale": "pt-PT"}, headers={"If-Match": "abc"})
    assert garbage.status_code == 400
    for body in (
        {"locale": "Portuguese"},
        {"distance_unit": "furlongs"},
        {"notifications": {"muted": ["nope"]}},
        {"client": {"blob": "x" * 9000}},
        {"theme": "dark"},
    ):
        response = me.call("PUT", "/me/settings", body, headers={"If-Match": '"0"'})
        assert response.status_code == 400, body
    assert SettingsItem.count(keys.user(me.user_id)) == 0


def test_categories(as_user):
    response = as_user().call("GET", "/categories")
    assert response.status_code == 200
    ids = [c["id"] for c in response.json_body["items"]]
    assert "plumbing" in ids
    assert response.json_body["cursor"] is None


def test_customer_cannot_become_a_provider(as_user):
    customer = as_user(("customers",))
    response = customer.call("PUT", "/me/provider", PROVIDER_BODY)
    assert response.status_code == 403
    assert "providers" in response.json_body["detail"]
    assert items_of(customer.user_id) == []


def test_provider_profile_availability_and_public_view(as_user):
    provider = as_user(("providers",))
    created = provider.call("PUT", "/me/provider", PROVIDER_BODY)
    assert created.status_code == 200, created.json_body
    assert created.json_body["rate"] == {"amount": "30.00", "currency": "EUR", "unit": "hour"}
    assert created.json_body["online"] is False

    online = provider.call("PUT", "/me/provider/availability", {"online": True})
    assert online.status_code == 200
    assert online.json_body["online"] is True
    item = ProviderItem.get(keys.user(provider.user_id), keys.PROVIDER)
    assert item.gsi3pk is not None and item.gsi3pk.startswith("GEO#")

    moved = provider.call(
        "PUT",
        "/me/provider/availability",
        {"online": True, "location": {"lat": 41.15, "lng": -8.61}},
    )
    assert moved.json_body["location"]["lat"] == 41.15
    moved_item = ProviderItem.get(keys.user(provider.user_id), keys.PROVIDER)
    assert moved_item.gsi3pk != item.gsi3pk  # Lisbon → Porto moves the geo index entry

    offline = provider.call("PUT", "/me/provider/availability", {"online": False})
    assert offline.json_body["online"] is False
    assert ProviderItem.get(keys.user(provider.user_id), keys.PROVIDER).gsi3pk is None

    public = as_user(("customers",)).call("GET", f"/providers/{provider.user_id}")
    assert public.status_code == 200
    assert "location" not in public.json_body  # never the exact location
    assert public.json_body["categories"] == ["plumbing", "electrical"]
    assert public.json_body["rating"] == {"count": 0, "average": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PROVIDER_BODY, "categories": ["astrology"]}, "categories"),
        ({**PROVIDER_BODY, "categories": []}, "categories"),
        ({**PROVIDER_BODY, "location": {"lat": 999, "lng": 0}}, "location.lat"),
        ({**PROVIDER_BODY, "radius_km": 500}, "radius_km"),
        ({**PROVIDER_BODY, "rate": {"amount": "-1", "currency": "EUR"}}, "rate.amount"),
        ({**PROVIDER_BODY, "rate": {"amount": "10", "currency": "euro"}}, "rate.currency"),
        ({**PROVIDER_BODY, "bio": "x" * 2001}, "bio"),
    ],
)
def test_bad_provider_profile_is_400_and_writes_nothing(as_user, body, field):
    provider = as_user(("providers",))
    response = provider.call("PUT", "/me/provider", body)
    assert response.status_code == 400
    assert any(e["field"] == field for e in response.json_body["errors"]), response.json_body
    assert ProviderItem.count(keys.user(provider.user_id)) == 0


def test_availability_needs_a_profile_and_a_location(as_user):
    provider = as_user(("providers",))
    response = provider.call("PUT", "/me/provider/availability", {"online": True})
    assert response.status_code == 404
    assert "PUT /me/provider" in response.json_body["detail"]
    bad = provider.call("PUT", "/me/provider/availability", {"online": "maybe"})
    assert bad.status_code == 400
    assert items_of(provider.user_id) == []


def test_unknown_provider_is_404(as_user):
    response = as_user().call("GET", "/providers/nobody")
    assert response.status_code == 404
    assert response.json_body["detail"] == "No such provider."


def test_route_costs_stay_within_their_budget(as_user):
    me = as_user(("providers",))
    me.call("GET", "/me")
    me.call("PUT", "/me/provider", PROVIDER_BODY)
    routes = [
        ("GET", "/me", None, {}),
        ("PATCH", "/me", {"name": "B"}, {}),
        ("GET", "/me/settings", None, {}),
        ("PUT", "/me/settings", {"locale": "en"}, {"If-Match": '"0"'}),
        ("GET", "/categories", None, {}),
        ("PUT", "/me/provider", PROVIDER_BODY, {}),
        ("PUT", "/me/provider/availability", {"online": True}, {}),
        ("GET", f"/providers/{me.user_id}", None, {}),
    ]
    for method, path, body, headers in routes:
        with count_dynamodb_calls() as calls:
            response = me.call(method, path, body, headers=headers)
        assert response.status_code == 200, (path, response.json_body)
        assert len(calls.calls) <= route_calls(method, path), (method, path, calls.calls)
        assert calls.scans == 0
    with count_dynamodb_calls() as calls:
        me.call("GET", f"/providers/{me.user_id}")
    assert calls.calls == ["GetItem"]  # the counter sees PynamoDB's calls


def test_the_user_table_has_one_profile_per_user(as_user):
    me = as_user()
    for _ in range(3):
        me.call("GET", "/me")
    assert UserItem.count(keys.user(me.user_id)) == 1
