"""The marketplace through the app's routes: requests, offers, quotes, jobs, reviews, feed."""

from __future__ import annotations

import pytest

from chalicelib.store import counters, keys
from chalicelib.store.models import ProviderItem
from tests.support import count_dynamodb_calls, geo_index_writes

pytestmark = pytest.mark.api

HERE = {"lat": 38.7223, "lng": -9.1393}
NEAR = {"lat": 38.73, "lng": -9.15}
FAR = {"lat": 41.15, "lng": -8.61}  # Porto, ~275 km


@pytest.fixture(autouse=True)
def _settings_first(aws):
    """Read the settings before chalice's test client patches the stage into the
    environment (the idempotency table's name depends on it)."""
    from chalicelib import runtime

    runtime.settings()


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
    assert offer1["id"] == request["id"]  # one offer per provider and request
    assert offer1["category"] == "plumbing"
    assert offer1["distance_km"] < 2
    assert "address" not in offer1["approx_location"] or not offer1["approx_location"]["address"]

    # The offered provider sees the request (approximately), a stranger does not.
    seen = near1.call("GET", f"/requests/{request['id']}")
    assert seen.status_code == 200
    assert seen.json_body["location"]["address"] is None
    rounded = {"lat": 38.72, "lng": -9.14}  # about a kilometre, never the exact point
    assert {k: seen.json_body["location"][k] for k in ("lat", "lng")} == rounded
    assert {k: offer1["approx_location"][k] for k in ("lat", "lng")} == rounded
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

    stats = counters.exact(ProviderItem.get(keys.user(near1.user_id), keys.PROVIDER))
    assert (stats["offers_received"], stats["offers_accepted"]) == (1, 1)


def _with_history(api, history):
    """Give a provider a past: exact counts and the copy matching reads, equal."""
    item = ProviderItem(keys.user(api.user_id), keys.PROVIDER)
    item.update(
        actions=[getattr(ProviderItem, n).set(v) for n, v in history.items()]
        + [getattr(ProviderItem, counters.EXACT[n]).set(v) for n, v in history.items()]
    )


def _counts(api):
    item = ProviderItem.get(keys.user(api.user_id), keys.PROVIDER, consistent_read=True)
    return counters.exact(item), counters.indexed(item)


def test_a_count_that_does_not_move_the_ranking_writes_no_geo_index_entry(as_user):
    history = {"rating_count": 40, "rating_sum": 184, "offers_received": 300, "offers_accepted": 99}
    seasoned = become_provider(as_user(("providers",)))
    _with_history(seasoned, history)
    customer = as_user(("customers",))

    with count_dynamodb_calls() as calls:
        created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201, created.json_body
    assert geo_index_writes(calls) == set()
    exact, indexed = _counts(seasoned)
    assert exact == history | {"offers_received": 301}
    assert indexed == history  # what matching ranks by: within ranking.QUALITY_STEP

    offer = offers_of(seasoned)[0]
    with count_dynamodb_calls() as calls:
        won = seasoned.call("POST", f"/offers/{offer['id']}/accept")
    assert won.status_code == 200, won.json_body
    assert geo_index_writes(calls) == set()
    exact, indexed = _counts(seasoned)
    assert exact == history | {"offers_received": 301, "offers_accepted": 100}
    assert indexed == history
    shown = customer.call("GET", f"/providers/{seasoned.user_id}").json_body["rating"]
    assert shown == {"count": 40, "average": 4.6}  # the profile shows the exact counts


def test_a_count_that_moves_the_ranking_rewrites_the_indexed_copy(as_user):
    newcomer = become_provider(as_user(("providers",)))  # no history: one offer moves it
    customer = as_user(("customers",))
    with count_dynamodb_calls() as calls:
        created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201, created.json_body
    assert geo_index_writes(calls) == {"gsi3", "gsi4"}
    exact, indexed = _counts(newcomer)
    assert exact["offers_received"] == 1
    assert indexed == exact


def test_going_online_again_makes_the_indexed_copy_exact(as_user):
    history = {"rating_count": 40, "rating_sum": 184, "offers_received": 300, "offers_accepted": 99}
    provider = become_provider(as_user(("providers",)))
    _with_history(provider, history)
    customer = as_user(("customers",))
    assert customer.call("POST", "/requests", request_body()).status_code == 201
    assert _counts(provider)[1] == history  # the copy lags by one offer
    for online in (False, True):
        body = {"online": online}
        assert provider.call("PUT", "/me/provider/availability", body).status_code == 200
    exact, indexed = _counts(provider)
    assert indexed == exact == history | {"offers_received": 301}


def matched_job(as_user, **request_overrides):
    """A customer, a provider and the job between them (instant, accepted)."""
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    created = customer.call("POST", "/requests", request_body(**request_overrides))
    assert created.status_code == 201, created.json_body
    offer = offers_of(provider)[0]
    job = provider.call("POST", f"/offers/{offer['id']}/accept").json_body
    return customer, provider, job


def walk(api, job_id, *states):
    for state in states:
        response = api.call("POST", f"/jobs/{job_id}/transitions", {"to": state})
        assert response.status_code == 200, (state, response.json_body)
    return response.json_body


def test_the_job_lifecycle_enforces_who_moves_it_and_says_why(as_user):
    customer, provider, job = matched_job(as_user)
    jid = job["id"]
    early = customer.call("POST", f"/jobs/{jid}/transitions", {"to": "en_route"})
    assert early.status_code == 409
    assert "only the provider" in early.json_body["detail"]
    skip = provider.call("POST", f"/jobs/{jid}/transitions", {"to": "in_progress"})
    assert skip.status_code == 409
    assert "cannot go from accepted to in_progress" in skip.json_body["detail"]

    arrived = walk(provider, jid, "en_route", "arrived")
    assert arrived["state"] == "arrived"
    assert arrived["next"] == ["in_progress"]  # the provider may no longer cancel
    late_cancel = provider.call("POST", f"/jobs/{jid}/transitions", {"to": "cancelled"})
    assert late_cancel.status_code == 409
    assert "can cancel only while" in late_cancel.json_body["detail"]

    walk(provider, jid, "in_progress")
    done = walk(customer, jid, "completed")
    assert done["state"] == "completed"
    assert done["reviews"]["window_closes_at"]
    assert [h["to"] for h in done["history"]] == [
        "accepted",
        "en_route",
        "arrived",
        "in_progress",
        "completed",
    ]
    assert done["history"][-1]["from"] == "in_progress"
    assert done["history"][-1]["by"] == "customer"
    final = customer.call("POST", f"/jobs/{jid}/transitions", {"to": "cancelled"})
    assert final.status_code == 409
    assert "final state" in final.json_body["detail"]

    listed = provider.call("GET", "/jobs").json_body["items"]
    assert [j["id"] for j in listed] == [jid]
    assert customer.call("GET", f"/jobs/{jid}").json_body["state"] == "completed"
    assert as_user().call("GET", f"/jobs/{jid}").status_code == 404


def test_reviews_are_hidden_until_both_sides_reviewed_then_rate_the_provider(as_user):
    customer, provider, job = matched_job(as_user)
    jid = job["id"]
    not_yet = customer.call("POST", f"/jobs/{jid}/reviews", {"rating": 5})
    assert not_yet.status_code == 409
    assert "only once it is completed" in not_yet.json_body["detail"]
    walk(provider, jid, "en_route", "arrived", "in_progress", "completed")

    first = customer.call("POST", f"/jobs/{jid}/reviews", {"rating": 4, "text": "Quick, tidy"})
    assert first.status_code == 201, first.json_body
    assert first.json_body["published_at"] is None
    reviews = customer.call("GET", f"/providers/{provider.user_id}/reviews").json_body
    assert reviews["items"] == []  # hidden until the provider reviewed too
    twice = customer.call("POST", f"/jobs/{jid}/reviews", {"rating": 5})
    assert twice.status_code == 409
    assert "already reviewed" in twice.json_body["detail"]

    second = provider.call("POST", f"/jobs/{jid}/reviews", {"rating": 5, "text": "Kind"})
    assert second.status_code == 201
    assert second.json_body["published_at"] is not None
    visible = as_user().call("GET", f"/providers/{provider.user_id}/reviews").json_body["items"]
    assert [(r["rating"], r["text"], r["author_role"]) for r in visible] == [
        (4, "Quick, tidy", "customer")
    ]
    profile = as_user().call("GET", f"/providers/{provider.user_id}").json_body
    assert profile["rating"] == {"count": 1, "average": 4.0}
    state = customer.call("GET", f"/jobs/{jid}").json_body["reviews"]
    assert state["customer_reviewed"] and state["provider_reviewed"]
    assert state["published_at"] == second.json_body["published_at"]


def test_a_removed_review_leaves_the_rating_and_the_indexed_copy(as_user):
    from chalicelib.store import moderation

    customer, provider, job = matched_job(as_user)
    jid = job["id"]
    walk(provider, jid, "en_route", "arrived", "in_progress", "completed")
    assert customer.call("POST", f"/jobs/{jid}/reviews", {"rating": 1}).status_code == 201
    assert provider.call("POST", f"/jobs/{jid}/reviews", {"rating": 5}).status_code == 201
    exact, indexed = _counts(provider)
    assert (exact["rating_count"], exact["rating_sum"]) == (1, 1)
    assert indexed == exact  # a first 1-star moves the ranking

    moderation.remove_review(jid, "customer")
    exact, indexed = _counts(provider)
    assert (exact["rating_count"], exact["rating_sum"]) == (0, 0)
    assert indexed == exact
    profile = as_user().call("GET", f"/providers/{provider.user_id}").json_body
    assert profile["rating"] == {"count": 0, "average": None}


def test_quote_mode_end_to_end(as_user):
    cheap = become_provider(as_user(("providers",)))
    pricey = become_provider(as_user(("providers",)), where={"lat": 38.71, "lng": -9.12})
    customer = as_user(("customers",))
    created = customer.call("POST", "/requests", request_body(mode="quote"))
    assert created.status_code == 201
    rid = created.json_body["id"]
    invitation = offers_of(cheap)[0]
    assert invitation["mode"] == "quote"
    wrong_way = cheap.call("POST", f"/offers/{invitation['id']}/accept")
    assert wrong_way.status_code == 409
    assert "quotes" in wrong_way.json_body["detail"]

    q1 = cheap.call(
        "POST",
        f"/requests/{rid}/quotes",
        {"price": {"amount": "40", "currency": "EUR"}, "eta_minutes": 30, "note": "Today"},
    )
    assert q1.status_code == 201, q1.json_body
    assert q1.json_body["conversation_id"]
    assert q1.json_body["price"] == {"amount": "40.00", "currency": "EUR"}
    q2 = pricey.call(
        "POST",
        f"/requests/{rid}/quotes",
        {"price": {"amount": "90.5", "currency": "EUR"}, "eta_minutes": 15},
    )
    assert q2.status_code == 201
    again = cheap.call(
        "POST",
        f"/requests/{rid}/quotes",
        {"price": {"amount": "35", "currency": "EUR"}, "eta_minutes": 30},
    )
    assert again.status_code == 409
    assert "already quoted" in again.json_body["detail"]
    assert "quote.new" in feed_types(customer)

    listed = customer.call("GET", f"/requests/{rid}/quotes").json_body["items"]
    assert {q["id"] for q in listed} == {q1.json_body["id"], q2.json_body["id"]}
    own = cheap.call("GET", f"/requests/{rid}/quotes").json_body["items"]
    assert [q["id"] for q in own] == [q1.json_body["id"]]  # not the competitor's price

    chosen = customer.call("POST", f"/quotes/{q1.json_body['id']}/accept")
    assert chosen.status_code == 200, chosen.json_body
    job = chosen.json_body
    assert job["provider_id"] == cheap.user_id
    assert job["conversation_id"] == q1.json_body["conversation_id"]
    assert job["price"] == {"amount": "40.00", "currency": "EUR"}
    other = customer.call("POST", f"/quotes/{q2.json_body['id']}/accept")
    assert other.status_code == 409
    statuses = {
        q["id"]: q["status"]
        for q in customer.call("GET", f"/requests/{rid}/quotes").json_body["items"]
    }
    assert statuses == {q1.json_body["id"]: "accepted", q2.json_body["id"]: "declined"}
    assert "offer.withdrawn" in feed_types(pricey)
    assert customer.call("GET", f"/requests/{rid}").json_body["status"] == "matched"


def test_quotes_only_from_invited_providers_on_quote_requests(as_user):
    invited = become_provider(as_user(("providers",)))
    outsider = become_provider(as_user(("providers",)), where=FAR)
    customer = as_user(("customers",))
    instant = customer.call("POST", "/requests", request_body()).json_body
    quote = {"price": {"amount": "10", "currency": "EUR"}, "eta_minutes": 5}
    refused = invited.call("POST", f"/requests/{instant['id']}/quotes", quote)
    assert refused.status_code == 409
    assert "instant" in refused.json_body["detail"]
    quoting = customer.call("POST", "/requests", request_body(mode="quote")).json_body
    stranger = outsider.call("POST", f"/requests/{quoting['id']}/quotes", quote)
    assert stranger.status_code == 404
    assert outsider.call("GET", f"/requests/{quoting['id']}/quotes").status_code == 404


def test_decline_and_cancel(as_user):
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    rid = customer.call("POST", "/requests", request_body()).json_body["id"]
    offer = offers_of(provider)[0]
    declined = provider.call("POST", f"/offers/{offer['id']}/decline")
    assert declined.status_code == 200
    assert declined.json_body["status"] == "declined"
    assert offers_of(provider) == []
    assert provider.call("POST", f"/offers/{offer['id']}/accept").status_code == 409
    assert provider.call("POST", f"/offers/{offer['id']}/decline").status_code == 409
    request = customer.call("GET", f"/requests/{rid}").json_body
    assert (request["status"], request["offers_pending"]) == ("open", 0)

    cancelled = customer.call("POST", f"/requests/{rid}/cancel")
    assert cancelled.status_code == 200
    assert cancelled.json_body["status"] == "cancelled"
    twice = customer.call("POST", f"/requests/{rid}/cancel")
    assert twice.status_code == 409
    assert "already cancelled" in twice.json_body["detail"]


def test_a_cancel_may_say_why_and_nothing_else(as_user):
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    rid = customer.call("POST", "/requests", request_body()).json_body["id"]
    offer = offers_of(provider)[0]
    unknown = customer.call("POST", f"/requests/{rid}/cancel", {"why": "typo"})
    assert unknown.status_code == 400
    assert customer.call("GET", f"/requests/{rid}").json_body["status"] != "cancelled"
    said = customer.call("POST", f"/requests/{rid}/cancel", {"reason": "fixed it myself"})
    assert said.status_code == 200
    assert said.json_body["status_reason"] == "cancelled by the customer: fixed it myself"
    assert offers_of(provider) == []  # the pending offer was withdrawn with the request
    late = provider.call("POST", f"/offers/{offer['id']}/accept")
    assert late.status_code == 409 and "withdrawn" in late.json_body["detail"]


def test_cancelling_a_matched_request_cancels_its_job_while_allowed(as_user):
    customer, provider, job = matched_job(as_user)
    rid = job["request_id"]
    cancelled = customer.call("POST", f"/requests/{rid}/cancel")
    assert cancelled.status_code == 200
    assert customer.call("GET", f"/jobs/{job['id']}").json_body["state"] == "cancelled"
    assert "job.updated" in feed_types(provider)

    customer, provider, job = matched_job(as_user)
    walk(provider, job["id"], "en_route", "arrived", "in_progress")
    refused = customer.call("POST", f"/requests/{job['request_id']}/cancel")
    assert refused.status_code == 409
    assert "can cancel only while" in refused.json_body["detail"]
    assert customer.call("GET", f"/jobs/{job['id']}").json_body["state"] == "in_progress"


def test_a_provider_cancelling_the_job_cancels_the_request(as_user):
    customer, provider, job = matched_job(as_user)
    done = walk(provider, job["id"], "cancelled")
    assert done["state"] == "cancelled"
    request = customer.call("GET", f"/requests/{job['request_id']}").json_body
    assert request["status"] == "cancelled"
    assert "provider" in request["status_reason"]


def test_a_request_nobody_can_take_expires_at_once_and_says_why(as_user):
    become_provider(as_user(("providers",)), where=FAR)
    customer = as_user(("customers",))
    created = customer.call("POST", "/requests", request_body())
    assert created.status_code == 201
    assert created.json_body["status"] == "expired"
    assert created.json_body["status_reason"] == "no provider is available nearby right now"


def test_a_customer_who_is_also_a_provider_is_not_offered_their_own_request(as_user):
    both = become_provider(as_user(("customers", "providers")))
    created = both.call("POST", "/requests", request_body())
    assert created.json_body["status"] == "expired"
    assert offers_of(both) == []
    mine = both.call("GET", "/requests?role=customer").json_body["items"]
    assert [r["id"] for r in mine] == [created.json_body["id"]]


def test_lists_are_paginated_with_cursors_of_their_own(as_user):
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    made = [customer.call("POST", "/requests", request_body()).json_body["id"] for _ in range(3)]
    seen, cursor = [], None
    while True:
        path = "/requests?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = customer.call("GET", path).json_body
        seen += [r["id"] for r in page["items"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made))  # newest first
    offered = provider.call("GET", "/requests?role=provider&limit=2").json_body
    assert len(offered["items"]) == 2 and offered["cursor"]
    foreign = provider.call("GET", f"/requests?cursor={page_cursor(customer)}")
    assert foreign.status_code == 400
    assert len(offers_of(provider)) == 3
    first = provider.call("GET", "/offers?limit=1").json_body
    rest = provider.call("GET", f"/offers?limit=5&cursor={first['cursor']}").json_body
    assert len(first["items"]) + len(rest["items"]) == 3
    feed = provider.call("GET", "/notifications?limit=2").json_body
    assert len(feed["items"]) == 2 and feed["cursor"]


def page_cursor(api):
    return api.call("GET", "/requests?limit=1").json_body["cursor"]


def test_idempotency_key_answers_a_retry_with_the_first_request(as_user):
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    headers = {"Idempotency-Key": "retry-1"}
    first = customer.call("POST", "/requests", request_body(), headers=headers)
    retry = customer.call("POST", "/requests", request_body(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json_body["id"] == retry.json_body["id"]
    assert len(offers_of(provider)) == 1
    other_body = customer.call(
        "POST", "/requests", request_body(description="Other"), headers=headers
    )
    assert other_body.status_code == 422
    neighbour = as_user(("customers",))  # the same key and body from another user
    theirs = neighbour.call("POST", "/requests", request_body(), headers=headers)
    assert theirs.status_code == 201 and theirs.json_body["id"] != first.json_body["id"]
    assert theirs.json_body["customer_id"] == neighbour.user_id

    quoting = customer.call("POST", "/requests", request_body(mode="quote")).json_body
    quote = {"price": {"amount": "10", "currency": "EUR"}, "eta_minutes": 5}
    a = provider.call("POST", f"/requests/{quoting['id']}/quotes", quote, headers=headers)
    b = provider.call("POST", f"/requests/{quoting['id']}/quotes", quote, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json_body["id"] == b.json_body["id"]


def pages(api, path):
    """Every item of a list route, read two at a time through its cursors, and the size of
    each page."""
    seen, sizes, cursor = [], [], None
    while True:
        sep = "&" if "?" in path else "?"
        page = api.call("GET", f"{path}{sep}limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.json_body
        seen += page.json_body["items"]
        sizes.append(len(page.json_body["items"]))
        cursor = page.json_body["cursor"]
        if not cursor:
            return seen, sizes


def test_jobs_quotes_and_reviews_are_listed_page_by_page(as_user):
    provider = become_provider(as_user(("providers",)))
    customer = as_user(("customers",))
    made = []
    for _ in range(3):
        customer.call("POST", "/requests", request_body())
        offer = offers_of(provider)[0]
        job = provider.call("POST", f"/offers/{offer['id']}/accept").json_body
        walk(provider, job["id"], "en_route", "arrived", "in_progress", "completed")
        for side in (customer, provider):
            assert side.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 5}).status_code == 201
        made.append(job["id"])

    mine, sizes = pages(customer, "/jobs")
    assert [j["id"] for j in mine] == list(reversed(made)) and sizes == [2, 1]
    assert all(j["next"] == [] for j in mine)  # completed: no move left for anyone
    reviews, sizes = pages(as_user(), f"/providers/{provider.user_id}/reviews")
    assert [r["job_id"] for r in reviews] == list(reversed(made)) and sizes == [2, 1]
    nobody = customer.call("GET", f"/providers/{customer.user_id}/reviews")
    assert (nobody.status_code, nobody.json_body["detail"]) == (404, "No such provider.")

    quoters = [become_provider(as_user(("providers",))) for _ in range(3)]
    rid = customer.call("POST", "/requests", request_body(mode="quote")).json_body["id"]
    price = {"price": {"amount": "50", "currency": "EUR"}, "eta_minutes": 20}
    quoted = [q.call("POST", f"/requests/{rid}/quotes", price).json_body["id"] for q in quoters]
    listed, sizes = pages(customer, f"/requests/{rid}/quotes")
    assert [q["id"] for q in listed] == quoted and sizes == [2, 1]  # oldest first
    with count_dynamodb_calls() as calls:
        silent = provider.call("GET", f"/requests/{rid}/quotes")  # invited, has not quoted
    assert (silent.status_code, silent.json_body["items"]) == (200, [])
    assert calls.calls == ["GetItem"]  # the request: no quote of theirs to read


def test_each_side_sees_its_own_next_moves_in_the_job_list(as_user):
    customer, provider, _ = matched_job(as_user)
    assert [j["next"] for j in customer.call("GET", "/jobs").json_body["items"]] == [["cancelled"]]
    assert [j["next"] for j in provider.call("GET", "/jobs").json_body["items"]] == [
        ["en_route", "cancelled"]
    ]
