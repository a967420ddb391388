"""Bounded matching on the store (moto): in a seeded city the offers made are exactly the
exhaustive ranking's top k, and the timer's re-dispatch offers the next ones in rank order,
while reading a part of the city only (ADR 0014)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

import pytest

from chalicelib import ids, runtime
from chalicelib.domain import ranking
from chalicelib.services import notifications, requests, timers
from chalicelib.store import marketplace as store
from chalicelib.store.marketplace.queries import provider_snapshot
from chalicelib.store.models import Entity
from tests.integration.marketplace_support import customer, request_in
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded_city(aws: None) -> Iterator[list[ranking.ProviderSnapshot]]:
    from chalicelib.store import profiles
    from devstack import seed

    profiles.put_categories(seed.CATEGORIES)
    runtime.use(sinks=[("feed", notifications.record)])
    everyone = seed.demo_providers(600, seed=11)
    with Entity.batch_write() as batch:
        for user, provider in everyone:
            batch.save(user)
            batch.save(provider)
    yield [provider_snapshot(p.serialize()) for _, p in everyone if p.gsi3pk]


def exhaustive(online, lat, lng, category, exclude) -> list[str]:
    eligible = ranking.candidates_for(lat, lng, category, online, exclude=exclude)
    return [r.provider_id for r in ranking.rank(eligible)]


def offered(request_id: str, status: str | None = None) -> set[str]:
    stored = store.get_request(request_id)
    assert stored is not None
    return {p for p, o in stored.offers.items() if status is None or o.status == status}


def test_offers_are_the_exhaustive_top_k_and_redispatch_the_next(seeded_city) -> None:
    rng = random.Random(3)
    buyer = customer()
    t0 = ids.now()
    for _ in range(4):
        lat, lng = 38.7223 + rng.uniform(-0.1, 0.1), -9.1393 + rng.uniform(-0.1, 0.1)
        category = rng.choice(["plumbing", "cleaning", "electrical"])
        truth = exhaustive(seeded_city, lat, lng, category, {buyer.user_id})
        with count_dynamodb_calls() as calls:
            made = requests.create(buyer, request_in(lat, lng, category=category), now=t0)
        assert offered(made.id) == set(truth[:3])
        queries = calls.calls.count("Query")
        assert queries >= 3  # the probe found a crowded range: rings of the fine index
        # nobody answers: the timer offers the next 3 in rank order
        timers.on_request_timer(made.id, t0 + timedelta(seconds=61))
        assert offered(made.id, "pending") == set(truth[3:6])
        assert offered(made.id) == set(truth[:6])


def test_quote_requests_invite_the_exhaustive_top_ten(seeded_city) -> None:
    buyer = customer()
    lat, lng = 38.75, -9.15
    made = requests.create(buyer, request_in(lat, lng, mode="quote"))
    truth = exhaustive(seeded_city, lat, lng, "plumbing", {buyer.user_id})
    assert offered(made.id) == set(truth[:10])
