"""Marketplace routes at their edges: bad input and other people's ids on every route (a 4xx
that says what is wrong, and nothing written), and each route's DynamoDB cost."""

from __future__ import annotations

import json

import pytest

from chalicelib import runtime
from chalicelib.domain import geo
from chalicelib.services import notifications
from chalicelib.store.models import Entity
from tests.api.test_marketplace import HERE, become_provider, offers_of, request_body, walk
from tests.support import count_dynamodb_calls, route_calls

pytestmark = pytest.mark.api

QUOTE = {"price": {"amount": "10", "currency": "EUR"}, "eta_minutes": 5}


@pytest.fixture(autouse=True)
def _settings_first(aws):
    from chalicelib import runtime

    runtime.settings()


def everything() -> set[tuple[str, str, str]]:
    """Every item of the main table with its version stamp (tests may Scan; routes never)."""
    return {(i.pk, i.sk, str(i.updated_at)) for i in Entity.scan()}


@pytest.fixture
def world(as_user):
    """Two customers, two providers, and one of everything: an open instant request with
    offers, an open quote request with a quote, and a completed job."""
    p1 = become_provider(as_user(("providers",)))
    p2 = become_provider(as_user(("providers",)), where={"lat": 38.71, "lng": -9.13})
    c1, c2 = as_user(("customers",)), as_user(("customers",))
    instant = c1.call("POST", "/requests", request_body()).json_body
    quoting = c1.call("POST", "/requests", request_body(mode="quote")).json_body
    quote = p1.call("POST", f"/requests/{quoting['id']}/quotes", QUOTE).json_body
    done_req = c2.call("POST", "/requests", request_body()).json_body
    offer = next(o for o in offers_of(p2) if o["request_id"] == done_req["id"])
    job = p2.call("POST", f"/offers/{offer['id']}/accept").json_body
    walk(p2, job["id"], "en_route", "arrived", "in_progress", "completed")
    return {
        "p1": p1,
        "p2": p2,
        "c1": c1,
        "c2": c2,
        "stranger": as_user(("customers", "providers")),
        "instant": instant["id"],
        "quoting": quoting["id"],
        "quote": quote["id"],
        "job": job["id"],
        "offer": next(o["id"] for o in offers_of(p1) if o["request_id"] == instant["id"]),
    }


def bad_cases(w):
    """(who, method, path, body or raw bytes, expected status, words of the detail)."""
    huge = request_body(description="x" * (1024 * 1024))
    rid, qid, jid, oid = w["instant"], w["quote"], w["job"], w["offer"]
    return [
        ("c1", "POST", "/requests", request_body(location={"lat": 999, "lng": 0}), 400, "lat"),
        ("c1", "POST", "/requests", request_body(category="astrology"), 400, "category"),
        ("c1", "POST", "/requests", request_body(mode="auction"), 400, "mode"),
        ("c1", "POST", "/requests", huge, 413, "limit"),
        ("c1", "POST", "/requests", b'{"category": ', 400, "not valid JSON"),
        ("c1", "POST", "/requests", request_body(description=""), 400, "description"),
        ("c1", "POST", "/requests", request_body(colour="red"), 400, "colour"),
        ("c1", "POST", "/requests", request_body(media_ids=["nope"]), 400, "media_ids"),
        (
            "c1",
            "POST",
            "/requests",
            request_body(window={"start": "2030-01-02T10:00Z", "end": "2030-01-01T10:00Z"}),
            400,
            "end must be after start",
        ),
        (
            "c1",
            "POST",
            "/requests",
            request_body(window={"start": "2020-01-01T10:00Z", "end": "2020-01-01T12:00Z"}),
            400,
            "already over",
        ),
        ("p1", "POST", "/requests", request_body(), 403, "customers"),
        ("c1", "GET", "/requests?role=admin", None, 400, "role"),
        ("c1", "GET", "/requests?limit=0", None, 400, "limit"),
        ("c1", "GET", "/requests?cursor=garbage", None, 400, "cursor"),
        ("stranger", "GET", f"/requests/{rid}", None, 404, "No request"),
        ("c1", "GET", "/requests/not-an-id", None, 404, "No request"),
        ("c2", "POST", f"/requests/{rid}/cancel", None, 404, "No request"),
        ("c1", "POST", f"/requests/{rid}/cancel", b"{nope", 400, "not valid JSON"),
        ("c1", "GET", "/offers", None, 403, "providers"),
        ("p1", "GET", "/offers?limit=1000", None, 400, "limit"),
        ("stranger", "POST", f"/offers/{oid}/accept", None, 404, "No offer"),
        ("p1", "POST", "/offers/01ARZ3NDEKTSV4RRFFQ69G5FAV/accept", None, 404, "No offer"),
        ("p1", "POST", f"/offers/{oid}/accept", b"not json", 400, "not valid JSON"),
        ("c1", "POST", f"/offers/{oid}/accept", None, 403, "providers"),
        ("stranger", "POST", f"/offers/{oid}/decline", None, 404, "No offer"),
        ("c1", "POST", f"/offers/{oid}/decline", None, 403, "providers"),
        (
            "p2",
            "POST",
            f"/requests/{w['quoting']}/quotes",
            {**QUOTE, "price": {"amount": "-5", "currency": "EUR"}},
            400,
            "price.amount",
        ),
        (
            "p2",
            "POST",
            f"/requests/{w['quoting']}/quotes",
            {**QUOTE, "eta_minutes": 0},
            400,
            "eta_minutes",
        ),
        (
            "p2",
            "POST",
            f"/requests/{w['quoting']}/quotes",
            {**QUOTE, "note": "x" * (1024 * 1024)},
            413,
            "limit",
        ),
        ("stranger", "POST", f"/requests/{w['quoting']}/quotes", QUOTE, 404, "No request"),
        ("stranger", "GET", f"/requests/{w['quoting']}/quotes", None, 404, "No request"),
        ("c2", "POST", f"/quotes/{qid}/accept", None, 404, "No quote"),
        ("c1", "POST", f"/quotes/{qid[:26]}/accept", None, 404, "No quote"),
        ("c1", "POST", f"/quotes/{qid[26:] + qid[:26]}/accept", None, 404, "No quote"),
        ("p1", "POST", f"/quotes/{qid}/accept", None, 403, "customers"),
        ("c1", "GET", "/jobs?cursor=garbage", None, 400, "cursor"),
        ("c1", "GET", f"/jobs/{jid}", None, 404, "No job"),
        ("c2", "POST", f"/jobs/{jid}/transitions", {"to": "teleported"}, 400, "to"),
        ("c2", "POST", f"/jobs/{jid}/transitions", {"to": "accepted"}, 400, "to"),
        ("c2", "POST", f"/jobs/{jid}/transitions", b"[", 400, "not valid JSON"),
        ("stranger", "POST", f"/jobs/{jid}/transitions", {"to": "cancelled"}, 404, "No job"),
        ("c2", "POST", f"/jobs/{jid}/reviews", {"rating": 6}, 400, "rating"),
        ("c2", "POST", f"/jobs/{jid}/reviews", {"rating": "5"}, 400, "rating"),
        ("c2", "POST", f"/jobs/{jid}/reviews", {"rating": 5, "text": "x" * 2001}, 400, "text"),
        ("stranger", "POST", f"/jobs/{jid}/reviews", {"rating": 1}, 404, "No job"),
        ("c1", "GET", "/providers/nobody/reviews", None, 404, "provider"),
        ("c1", "GET", f"/providers/{w['p1'].user_id}/reviews?limit=0", None, 400, "limit"),
        ("c1", "GET", "/notifications?cursor=garbage", None, 400, "cursor"),
    ]


def test_bad_input_and_other_peoples_ids_are_4xx_that_say_why_and_write_nothing(world):
    before = everything()
    for who, method, path, body, status, words in bad_cases(world):
        api = world[who]
        if isinstance(body, bytes):
            response = api.call(method, path, raw=body)
        elif len(json.dumps(body or {})) > 64 * 1024:
            response = api.call(method, path, raw=json.dumps(body).encode())
        else:
            response = api.call(method, path, body)
        case = (who, method, path[:60], status)
        assert response.status_code == status, (case, response.json_body)
        assert response.headers["Content-Type"] == "application/problem+json", case
        assert words.lower() in json.dumps(response.json_body).lower(), (case, response.json_body)
    assert everything() == before


def test_someone_elses_cursor_is_refused(world):
    c1, c2 = world["c1"], world["c2"]
    c1.call("POST", "/requests", request_body())
    theirs = c1.call("GET", "/requests?limit=1").json_body["cursor"]
    assert theirs
    assert c2.call("GET", f"/requests?cursor={theirs}").status_code == 400
    feed = c1.call("GET", "/notifications?limit=1").json_body["cursor"]
    assert c2.call("GET", f"/notifications?cursor={feed}").status_code == 400


# --- cost -------------------------------------------------------------------------------------


RANGES = len(geo.ranges_to_query(HERE["lat"], HERE["lng"]))


def test_every_route_stays_within_its_documented_dynamodb_budget(as_user, monkeypatch):
    """The whole cost of each route, as documented on its service function: the state
    change with its feed entries (1 TransactWriteItems: the outbox), then its events
    delivered together (:func:`notifications.publish`): 1 BatchGetItem (every recipient's
    sockets, and the settings and push devices of those push could reach: an offline
    recipient costs no more). No route writes the feed on its own."""
    wired = runtime.get()
    assert [name for name, _ in wired.sinks] == ["feed", "live"]
    assert [name for name, _, _ in wired.offline] == ["push"]
    runtime.use(sinks=[("feed", notifications.record), *wired.sinks[1:]])
    p1 = become_provider(as_user(("providers",)))
    p2 = become_provider(as_user(("providers",)), where={"lat": 38.71, "lng": -9.13})
    customer = as_user(("customers",))
    customer.call("GET", "/categories")  # warm the per-container category cache
    measured: list[tuple[str, list[str], int]] = []

    def cost(label, api, method, path, body=None, expect=(200, 201)):
        budget = route_calls(*label.split(" (")[0].split(" ", 1))
        with count_dynamodb_calls() as calls:
            response = api.call(method, path, body)
        assert response.status_code in expect, (label, response.json_body)
        measured.append((label, calls.calls, budget))
        return response.json_body

    request = cost("POST /requests", customer, "POST", "/requests", request_body())
    rid = request["id"]
    cost("GET /requests (customer)", customer, "GET", "/requests")
    cost("GET /requests (provider)", p1, "GET", "/requests")
    cost("GET /requests/{id}", p1, "GET", f"/requests/{rid}")
    offers = cost("GET /offers", p1, "GET", "/offers")["items"]
    o2 = offers_of(p2)[0]["id"]
    cost("POST /offers/{id}/decline", p2, "POST", f"/offers/{o2}/decline")
    job = cost("POST /offers/{id}/accept", p1, "POST", f"/offers/{offers[0]['id']}/accept")
    cost("GET /jobs", p1, "GET", "/jobs")
    cost("GET /jobs/{id}", customer, "GET", f"/jobs/{job['id']}")
    cost("POST /jobs/{id}/transitions", p1, "POST", f"/jobs/{job['id']}/transitions",
         {"to": "en_route"})  # fmt: skip
    walk(p1, job["id"], "arrived", "in_progress", "completed")
    cost("POST /jobs/{id}/reviews (first)", customer, "POST", f"/jobs/{job['id']}/reviews",
         {"rating": 5})  # fmt: skip
    cost("POST /jobs/{id}/reviews (publishes)", p1, "POST", f"/jobs/{job['id']}/reviews",
         {"rating": 4})  # fmt: skip
    cost("GET /providers/{id}/reviews", customer, "GET", f"/providers/{p1.user_id}/reviews")
    cost("GET /notifications", customer, "GET", "/notifications")

    quoting = customer.call("POST", "/requests", request_body(mode="quote")).json_body["id"]
    quote = cost("POST /requests/{id}/quotes", p1, "POST", f"/requests/{quoting}/quotes", QUOTE)
    cost("GET /requests/{id}/quotes", customer, "GET", f"/requests/{quoting}/quotes")
    second = customer.call("POST", "/requests", request_body()).json_body["id"]
    cost("POST /quotes/{id}/accept", customer, "POST", f"/quotes/{quote['id']}/accept")
    cost("POST /requests/{id}/cancel (open)", customer, "POST", f"/requests/{second}/cancel")
    matched = customer.call("POST", "/requests", request_body()).json_body["id"]
    offer = next(o for o in offers_of(p2) if o["request_id"] == matched)
    p2.call("POST", f"/offers/{offer['id']}/accept")
    cost("POST /requests/{id}/cancel (matched)", customer, "POST",
         f"/requests/{matched}/cancel")  # fmt: skip

    report = "\n".join(f"{label}: {len(calls)} {calls}" for label, calls, _ in measured)
    for _label, calls, budget in measured:
        assert "Scan" not in calls, report
        assert "BatchWriteItem" not in calls, report  # the feed rides in the transaction
        assert len(calls) <= budget, report
