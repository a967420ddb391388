"""The demo world gets a few open requests, offered to the seeded providers, once."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.store import marketplace as store
from chalicelib.store.models import Entity

pytestmark = pytest.mark.integration


def test_seeded_open_requests_are_offered_to_nearby_providers_and_seeded_once(
    aws, monkeypatch
) -> None:
    from chalicelib.store import profiles
    from devstack import seed

    runtime.use(sinks=[])
    profiles.put_categories(seed.CATEGORIES)
    with Entity.batch_write() as batch:
        for user, provider in seed.demo_providers(120):
            batch.save(user)
            batch.save(provider)
    assert seed.seed_open_requests("demo-customer") == len(seed.DEMO_REQUESTS)
    assert seed.seed_open_requests("demo-customer") == 0
    made, _ = store.customer_requests("demo-customer", 10, None)
    assert len(made) == len(seed.DEMO_REQUESTS)
    assert {r.status for r in made} == {"open"}
    assert all(r.offers for r in made)


def test_the_seed_keeps_the_operators_online_gauge_true_when_run_again(aws) -> None:
    from chalicelib import config, ids
    from chalicelib.store import metrics, profiles
    from devstack import provision, seed

    pool = provision.user_pool(None, config.DEFAULT_REGION)[config.USER_POOL_ID]
    runtime.use(sinks=[])

    def gauge() -> int:
        return metrics.figures(ids.now()).providers_online

    subs = seed.seed(None, config.DEFAULT_REGION, pool, providers=30)
    online = 3 + sum(1 for _, p in seed.demo_providers(30) if p.online)  # + the demo accounts
    assert gauge() == online
    profiles.set_availability(subs["provider@summon.local"], online=False, lat=None, lng=None)
    assert gauge() == online - 1
    seed.seed(None, config.DEFAULT_REGION, pool, providers=30)  # puts it back online
    assert gauge() == online
