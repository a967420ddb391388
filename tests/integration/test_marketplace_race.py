"""First accept wins: 20 providers accept one request at the same moment, over and over,
against a real moto server (real sockets, real conditional transactions), and never do two
of them get the job.

moto's own server runs each DynamoDB call without isolation (a TransactWriteItems snapshots
the whole table, applies its items one by one and, when one fails, restores the snapshot --
undoing whatever other threads wrote meanwhile). DynamoDB executes every call atomically, so
the test runs the local stack's emulator (``devstack/emulator.py``), which runs one
DynamoDB call at a time, the guarantee the code relies on; the threads still race for real,
interleaving their reads and transactions in any order.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.errors import Conflict
from chalicelib.schemas.marketplace import QuoteIn
from chalicelib.services import matching, offers, quotes, requests
from chalicelib.store import counters, keys
from chalicelib.store import marketplace as store
from chalicelib.store.models import ProviderItem
from devstack.emulator import Emulator
from tests.integration.marketplace_support import customer, provider, request_in

pytestmark = pytest.mark.integration

SPOT = (39.50, -7.80)
CONTENDERS = 20
ROUNDS = 5


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    moto = Emulator().start()  # the local stack's emulator: DynamoDB calls atomic
    endpoint = moto.endpoint
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv(matching.OFFERS_AT_ONCE, str(CONTENDERS))
    runtime.reset()
    runtime.use(sinks=[])  # delivery is not what races here
    try:
        fresh_tables(endpoint)
        yield endpoint
    finally:
        runtime.reset()
        moto.stop()


def fresh_tables(endpoint: str) -> None:
    """An empty emulator with the app's tables and the categories."""
    from chalicelib import config
    from chalicelib.store import profiles
    from devstack import provision, seed

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    provision.tables(endpoint, config.DEFAULT_REGION)
    profiles.put_categories(seed.CATEGORIES)


def _race(calls: list[Any]) -> list[Any]:
    """Run the calls at the same moment from as many threads; each result or exception."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - the test inspects every outcome
            return exc

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twenty_simultaneous_accepts_never_make_two_winners(server: str) -> None:
    providers = [provider(SPOT[0] + i * 0.001, SPOT[1]) for i in range(CONTENDERS)]
    for round_ in range(ROUNDS):
        buyer = customer()
        request = requests.create(buyer, request_in(*SPOT))
        assert request.offers_sent == CONTENDERS
        calls = []
        for who in providers:
            offer = store.provider_offers(who.user_id, 1, None)[0][0]
            assert offer.request_id == request.id
            calls.append(lambda who=who, oid=offer.id: offers.accept(who, oid))
        outcomes = _race(calls)

        winners = [o for o in outcomes if not isinstance(o, Exception)]
        losers = [o for o in outcomes if isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, Conflict) for o in losers), losers
        job = winners[0]
        stored = store.get_request(request.id)
        assert stored is not None
        assert (stored.status, stored.job_id) == ("matched", job.id)
        states = sorted(o.status for o in stored.offers.values())
        assert states == ["accepted"] + ["withdrawn"] * (CONTENDERS - 1)
        jobs_of_customer, _ = store.user_jobs(buyer.user_id, 10, None)
        assert [j.id for j in jobs_of_customer] == [job.id]
        assert store.provider_offers(job.provider_id, 10, None, pending_only=True)[0] == []
        accepted = [
            counters.exact(ProviderItem.get(keys.user(p.user_id), keys.PROVIDER))["offers_accepted"]
            for p in providers
        ]
        assert sum(accepted) == round_ + 1  # one more accepted offer per round, in total


def test_a_customer_choosing_two_quotes_at_once_gets_one_job(server: str) -> None:
    quoters = [provider(SPOT[0], SPOT[1] + i * 0.001) for i in range(4)]
    for _ in range(3):
        buyer = customer()
        request = requests.create(buyer, request_in(*SPOT, mode="quote"))
        made = [
            quotes.create(
                who,
                request.id,
                QuoteIn.model_validate(
                    {"price": {"amount": "50", "currency": "EUR"}, "eta_minutes": 20}
                ),
            )
            for who in quoters
        ]
        outcomes = _race([lambda q=q, b=buyer: quotes.accept(b, q.id) for q in made])
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        assert all(isinstance(o, Conflict) for o in outcomes if isinstance(o, Exception))
        stored = store.get_request(request.id)
        assert stored is not None and stored.job_id == winners[0].id
