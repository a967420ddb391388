"""The marketplace's timers over the running local stack: the event pump runs the app's own
``@schedule`` handler (every second here), with offer and request lifetimes shortened
through the environment, as a stage would set them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.harness import Stack, running, wait_until
from tests.e2e.test_marketplace import Person, ask

pytestmark = pytest.mark.e2e

SPOT = (42.60, -5.57)  # León: nobody seeded here, nobody else's test either
OFFER_TTL_S = 2
REQUEST_TTL_S = 9


@pytest.fixture(scope="module")
def fast_stack() -> Iterator[Stack]:
    timers = {
        "SUMMON_OFFER_TTL_SECONDS": str(OFFER_TTL_S),
        "SUMMON_REQUEST_TTL_SECONDS": str(REQUEST_TTL_S),
        "SUMMON_OFFERS_AT_ONCE": "1",
    }
    with running(providers=0, schedule_period=1.0, env=timers) as stack:
        yield stack


def test_an_unanswered_offer_moves_on_and_an_untaken_request_expires(fast_stack):
    customer = Person(fast_stack, "customers")
    closer = Person(fast_stack, "providers").provide(SPOT[0] + 0.005, SPOT[1])
    further = Person(fast_stack, "providers").provide(SPOT[0] + 0.05, SPOT[1])
    request = ask(customer, SPOT, "instant")

    assert [o["request_id"] for o in closer.offers()] == [request["id"]]
    assert further.offers() == []  # one offer at a time here: the best-ranked first

    wait_until(
        lambda: closer.offers() == [] and len(further.offers()) == 1,
        timeout_s=OFFER_TTL_S + 6,
        what="the unanswered offer expires and the next candidate gets one",
    )
    withdrawn = closer.call("GET", "/notifications").json()["items"]
    assert any(n["type"] == "offer.withdrawn" for n in withdrawn)

    def expired() -> bool:
        state = customer.call("GET", f"/requests/{request['id']}").json()
        return state["status"] == "expired"

    wait_until(expired, "the untaken request expires", timeout_s=REQUEST_TTL_S + 8)
    feed = customer.call("GET", "/notifications").json()["items"]
    updates = [n for n in feed if n["type"] == "request.updated"]
    assert updates and updates[0]["data"]["status"] == "expired"
    assert further.offers() == []  # the last offer went with the request
