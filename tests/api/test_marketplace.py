"""The marketplace through the app's routes: requests, offers, quotes, jobs, reviews, feed."""

from __future__ import annotations

import pytest

from chalicelib.store import keys
from chalicelib.store.marketplace import JobItem, OfferItem, RequestItem
from chalicelib.store.models import Entity, ProviderItem

pytestmark = pytest.mark.api

HERE = {"lat": 38.7223, "lng": -9.1393}
NEAR = {"lat": 38.73, "lng": -9.15}
FAR = {"lat": 41.15, "lng": -8.61}  # Porto, ~275 km


def become_provider(api, where=NEAR, categories=("plumbing",), radius_km=15, online=True):
    body = {
        "categories": list(categories),
        "bio": "pipes",
        "location": where,
        "radius_km": radius_km,
    }
    assert api.call("PUT", "/me/provider", body).status_code == 200
    if online:
        response = api.call("PUT", "/me/provider/availability", {"online": True})
        assert response.status_code == 200
    return api


def request_body(**overrides):
    body = {
        "category": "plumbing",
        "description": "The kitchen sink leaks",
        "location": {**HERE, "address": "Rua Augusta 1"},
        "mode": "instant",
    }
    body.update(overrides)
    return body


def offers_of(api):
    response = api.call("GET", "/offers")
    assert response.status_code == 200, response.json_body
    return response.json_body["items"]


def feed_types(api):
    return [n["type"] for n in api.call("GET", "/notifications").json_body["items"]]


def test_instant_request_offers_nearby_providers_and_first_accept_wins(as_user):
    near1 = become_provider(as_user(("providers",)))
    near2 = become_provider(as_user(("providers",)), where={"lat": 38.70, "lng": -9.13})
    far = become_provider(as_user(("providers",)), where=FAR, radius_km=20)
    other_trade = become_provider(as_user(("providers",)), categories=("tutoring",))
    customer = as_user(("customers",))

    created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201, created.json_body
    request = created.json_body
    assert request["status"] == "open"
    assert request["offers_sent"] == 2
    assert request["offers_pending"] == 2

    offered = {p.user_id: offers_of(p) for p in (near1, near2, far, other_trade)}
    assert len(offered[near1.user_id]) == 1
    assert len(offered[near2.user_id]) == 1
    assert offered[far.user_id] == []
    assert offered[other_trade.user_id] == []
    offer1 = offered[near1.user_id][0]
    assert offer1["request_id"] == request["id"]
    assert offer1["category"] == "plumbing"
    assert offer1["distance_km"] < 2
    assert "address" not in offer1["approx_location"] or not offer1["approx_location"]["address"]

    # The offered provider sees the request (approximately), a stranger does not.
    seen = near1.call("GET", f"/requests/{request['id']}")
    assert seen.status_code == 200
    assert seen.json_body["location"]["address"] is None
    assert seen.json_body["my_offer"]["id"] == offer1["id"]
    assert far.call("GET", f"/requests/{request['id']}").status_code == 404

    won = near1.call("POST", f"/offers/{offer1['id']}/accept")
    assert won.status_code == 200, won.json_body
    job = won.json_body
    assert job["state"] == "accepted"
    assert job["provider_id"] == near1.user_id
    assert job["customer_id"] == customer.user_id
    assert job["conversation_id"]
    assert job["location"]["address"] == "Rua Augusta 1"
    assert job["next"] == ["en_route", "cancelled"]

    offer2 = offered[near2.user_id][0]
    lost = near2.call("POST", f"/offers/{offer2['id']}/accept")
    assert lost.status_code == 409
    assert "withdrawn" in lost.json_body["detail"]
    assert offers_of(near2) == []
    assert "offer.withdrawn" in feed_types(near2)

    again = near1.call("POST", f"/offers/{offer1['id']}/accept")
    assert again.status_code == 200
    assert again.json_body["id"] == job["id"]

    after = customer.call("GET", f"/requests/{request['id']}").json_body
    assert after["status"] == "matched"
    assert after["job_id"] == job["id"]
    assert set(feed_types(customer)) >= {"request.updated", "job.updated"}
    assert "offer.new" in feed_types(near1)

    stats = ProviderItem.get(keys.user(near1.user_id), keys.PROVIDER)
    assert (stats.offers_received, stats.offers_accepted) == (1, 1)
