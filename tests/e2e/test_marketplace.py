"""The marketplace over the running local stack: real tokens, real HTTP, the real emulator.

Everything happens around spots in inland Spain, far from the providers seeded around
Lisbon, with accounts made for the test, so nothing else in the stack takes part."""

from __future__ import annotations

import threading
import uuid

import pytest

pytestmark = pytest.mark.e2e

INSTANT_SPOT = (40.656, -4.700)  # Ávila
FAR_SPOT = (40.656, 0.050)  # ~400 km east
QUOTE_SPOT = (41.652, -4.724)  # Valladolid


class Person:
    def __init__(self, stack, *groups: str) -> None:
        self.stack = stack
        _, self.token = stack.new_account(*groups)
        me = stack.call("GET", "/me", self.token)
        assert me.status_code == 200, me.text
        self.id = me.json()["id"]

    def call(self, method: str, path: str, body=None, **kw):
        return self.stack.call(method, path, self.token, json=body, **kw)

    def provide(self, lat: float, lng: float) -> Person:
        profile = {
            "categories": ["plumbing"],
            "location": {"lat": lat, "lng": lng},
            "radius_km": 15,
        }
        assert self.call("PUT", "/me/provider", profile).status_code == 200
        online = self.call("PUT", "/me/provider/availability", {"online": True})
        assert online.status_code == 200, online.text
        return self

    def offers(self) -> list[dict]:
        response = self.call("GET", "/offers")
        assert response.status_code == 200, response.text
        return response.json()["items"]


def ask(customer: Person, spot: tuple[float, float], mode: str, **headers: str) -> dict:
    body = {
        "category": "plumbing",
        "description": "Water everywhere under the sink",
        "location": {"lat": spot[0], "lng": spot[1], "address": "Calle Mayor 1"},
        "mode": mode,
    }
    response = customer.call("POST", "/requests", body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_instant_request_first_accept_wins_then_job_and_reviews(stack):
    customer = Person(stack, "customers")
    near1 = Person(stack, "providers").provide(INSTANT_SPOT[0] + 0.01, INSTANT_SPOT[1])
    near2 = Person(stack, "providers").provide(INSTANT_SPOT[0], INSTANT_SPOT[1] + 0.02)
    far = Person(stack, "providers").provide(*FAR_SPOT)

    request = ask(customer, INSTANT_SPOT, "instant")
    assert request["offers_sent"] == 2
    offer1, offer2 = near1.offers(), near2.offers()
    assert [o["request_id"] for o in offer1 + offer2] == [request["id"]] * 2
    assert far.offers() == []

    barrier = threading.Barrier(2)
    answers: dict[str, object] = {}

    def accept(who: Person, offer_id: str) -> None:
        barrier.wait()
        answers[who.id] = who.call("POST", f"/offers/{offer_id}/accept")

    threads = [
        threading.Thread(target=accept, args=(near1, offer1[0]["id"])),
        threading.Thread(target=accept, args=(near2, offer2[0]["id"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers.values())  # type: ignore[attr-defined]
    assert codes == [200, 409], {k: r.text for k, r in answers.items()}  # type: ignore[attr-defined]
    winner = near1 if answers[near1.id].status_code == 200 else near2  # type: ignore[attr-defined]
    loser = near2 if winner is near1 else near1
    job = answers[winner.id].json()  # type: ignore[attr-defined]
    assert answers[loser.id].json()["status"] == 409  # type: ignore[attr-defined]
    assert loser.offers() == []

    for state in ("en_route", "arrived", "in_progress", "completed"):
        moved = winner.call("POST", f"/jobs/{job['id']}/transitions", {"to": state})
        assert moved.status_code == 200, (state, moved.text)
    assert customer.call("GET", f"/jobs/{job['id']}").json()["state"] == "completed"
    assert loser.call("GET", f"/jobs/{job['id']}").status_code == 404

    mine = customer.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 5, "text": "Saved us"})
    assert mine.status_code == 201, mine.text
    theirs = winner.call("POST", f"/jobs/{job['id']}/reviews", {"rating": 4, "text": "Friendly"})
    assert theirs.status_code == 201, theirs.text

    reviews = far.call("GET", f"/providers/{winner.id}/reviews").json()["items"]
    assert [(r["rating"], r["text"]) for r in reviews] == [(5, "Saved us")]
    profile = far.call("GET", f"/providers/{winner.id}").json()
    assert profile["rating"] == {"count": 1, "average": 5.0}
    kinds = {n["type"] for n in customer.call("GET", "/notifications").json()["items"]}
    assert {"request.updated", "job.updated"} <= kinds


def test_quote_mode_end_to_end(stack):
    customer = Person(stack, "customers")
    cheap = Person(stack, "providers").provide(QUOTE_SPOT[0] + 0.01, QUOTE_SPOT[1])
    pricey = Person(stack, "providers").provide(QUOTE_SPOT[0], QUOTE_SPOT[1] + 0.01)

    key = str(uuid.uuid4())
    request = ask(customer, QUOTE_SPOT, "quote", **{"Idempotency-Key": key})
    again = ask(customer, QUOTE_SPOT, "quote", **{"Idempotency-Key": key})
    assert again["id"] == request["id"]
    assert request["offers_sent"] == 2

    made = {}
    for who, amount in ((cheap, "45"), (pricey, "120")):
        invitation = who.offers()
        assert [i["mode"] for i in invitation] == ["quote"]
        quote = who.call(
            "POST",
            f"/requests/{request['id']}/quotes",
            {"price": {"amount": amount, "currency": "EUR"}, "eta_minutes": 40, "note": "ok"},
        )
        assert quote.status_code == 201, quote.text
        made[who.id] = quote.json()

    listed = customer.call("GET", f"/requests/{request['id']}/quotes").json()["items"]
    assert sorted(q["price"]["amount"] for q in listed) == ["120.00", "45.00"]
    chosen = made[cheap.id]
    job = customer.call("POST", f"/quotes/{chosen['id']}/accept")
    assert job.status_code == 200, job.text
    assert job.json()["provider_id"] == cheap.id
    assert job.json()["conversation_id"] == chosen["conversation_id"]
    assert job.json()["price"] == {"amount": "45.00", "currency": "EUR"}

    after = {
        q["id"]: q["status"]
        for q in customer.call("GET", f"/requests/{request['id']}/quotes").json()["items"]
    }
    assert after == {chosen["id"]: "accepted", made[pricey.id]["id"]: "declined"}
    assert pricey.offers() == []
    feed = {n["type"] for n in customer.call("GET", "/notifications").json()["items"]}
    assert "quote.new" in feed
    jobs = cheap.call("GET", "/jobs").json()["items"]
    assert [j["id"] for j in jobs] == [job.json()["id"]]
