"""The outbox: a marketplace change writes its feed entries in its own TransactWriteItems and
hands its events to the sinks only once that committed. A cancelled transaction leaves no
feed entry and publishes nothing; a committed one has each entry exactly once (the feed
sink does not write it again)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import ids, runtime
from chalicelib.services import events, notifications, offers, requests
from chalicelib.store import keys
from chalicelib.store import marketplace as store
from chalicelib.store.marketplace import mapping
from chalicelib.store.marketplace.changes import Changes
from chalicelib.store.marketplace.items import JobMemberItem, NotificationItem
from tests.integration.marketplace_support import customer, provider, request_in
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.integration

SPOT = (41.60, -8.40)


@pytest.fixture(autouse=True)
def published(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[events.Event]]:
    """The real feed sink, and a spy in place of live delivery: every event the sinks got."""
    from chalicelib.store import profiles
    from devstack import seed

    profiles.put_categories(seed.CATEGORIES)
    seen: list[events.Event] = []
    runtime.use(sinks=[("feed", notifications.record), ("spy", seen.extend)])
    yield seen


def feed(user_id: str) -> list[NotificationItem]:
    items, _ = store.feed(user_id, 100, None)
    return items


def stage(changes: Changes, recipients: tuple[str, ...] | list[str], data: dict) -> None:
    event = notifications.event("request.updated", recipients, data)
    changes.notify(event, store.feed_entries(event))


def test_a_lost_race_leaves_no_feed_entry_and_publishes_nothing(
    published: list[events.Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first decline loses to a concurrent change of the request (its transaction is
    cancelled) and the service decides again: only the winning attempt's event reaches the
    feed and the sinks."""
    first, second = provider(*SPOT), provider(SPOT[0] + 0.01, SPOT[1])
    buyer = customer()
    request = requests.create(buyer, request_in(*SPOT))
    before = {n.event_id for n in feed(buyer.user_id)}
    published.clear()

    original = Changes.commit
    lost: list[str] = []

    def racing_commit(self: Changes) -> None:
        if not lost:
            lost.extend(event.id for event, _ in self.events())
            meanwhile = store.get_request(request.id)
            assert meanwhile is not None
            rival = Changes()  # someone else got there first
            rival.save_versioned(mapping.request_item(meanwhile), meanwhile.version)
            original(rival)
        original(self)

    monkeypatch.setattr(Changes, "commit", racing_commit)
    offer = offers.decline(first, request.id)
    assert offer.status == "declined"

    assert len(lost) == 1  # the cancelled attempt had staged its request.updated
    fresh = [n for n in feed(buyer.user_id) if n.event_id not in before]
    assert [n.type for n in fresh] == ["request.updated"]
    assert fresh[0].event_id not in lost
    assert [e.id for e in published] == [fresh[0].event_id]
    everyone = (buyer.user_id, first.user_id, second.user_id)
    assert not {n.event_id for uid in everyone for n in feed(uid)} & set(lost)


def test_a_cancelled_transaction_writes_no_feed_entry() -> None:
    buyer = customer()
    request = requests.create(buyer, request_in(*SPOT))  # nobody nearby: expired at once
    stored = store.get_request(request.id)
    assert stored is not None
    before = len(feed(buyer.user_id))
    changes = Changes()
    changes.save_versioned(mapping.request_item(stored), stored.version + 7)  # cancelled
    stage(changes, (buyer.user_id,), {"id": request.id})
    with pytest.raises(store.Stale):
        changes.commit()
    assert len(feed(buyer.user_id)) == before


def test_a_committed_change_has_each_feed_entry_once_without_a_feed_write(
    published: list[events.Event],
) -> None:
    winner, loser = provider(*SPOT), provider(SPOT[0] + 0.01, SPOT[1])
    buyer = customer()
    request = requests.create(buyer, request_in(*SPOT))
    published.clear()

    with count_dynamodb_calls() as calls:
        job = offers.accept(winner, request.id)

    # the offer, its request and the provider's counters, then the change with its feed
    # entries; no BatchWriteItem
    assert calls.calls == ["BatchGetItem", "TransactWriteItems"]
    assert [(e.type, e.recipients, e.recorded) for e in published] == [
        ("job.updated", (buyer.user_id, winner.user_id), True),
        ("offer.withdrawn", (loser.user_id,), True),
        ("request.updated", (buyer.user_id,), True),
    ]
    for event in published:
        for uid in event.recipients:
            entries = [n for n in feed(uid) if n.event_id == event.id]
            assert len(entries) == 1, (event.type, uid)
            (entry,) = entries
            assert (entry.pk, entry.sk) == (keys.user(uid), keys.note(event.id))
            assert (entry.type, entry.at, entry.created_at) == (event.type, event.at, event.at)
            assert entry.data == event.data
            assert entry.ttl is not None and entry.ttl > ids.now().timestamp()
    assert next(e for e in published if e.type == "job.updated").data["id"] == job.id

    with count_dynamodb_calls() as again:
        notifications.record(published)  # the feed sink, handed them once more
    assert again.calls == []


def test_events_that_do_not_fit_in_the_transaction_go_through_the_feed_sink(
    published: list[events.Event],
) -> None:
    """A change never fails for its notifications: an event whose entries would pass the
    100 items of a transaction is left out of it whole and written by the feed sink."""
    buyer = customer()
    request = requests.create(buyer, request_in(*SPOT))
    stored = store.get_request(request.id)
    assert stored is not None
    published.clear()
    crowd = [f"user-{n:03}" for n in range(store.MAX_WRITES)]
    changes = Changes()
    changes.save_versioned(mapping.request_item(stored), stored.version)
    stage(changes, crowd, {"id": request.id})
    stage(changes, (buyer.user_id,), {"id": request.id})
    assert len(changes) == 1 + store.MAX_WRITES + 1

    with count_dynamodb_calls() as calls:
        changes.commit()
        notifications.publish(changes.events())

    assert calls.calls == ["TransactWriteItems"] + ["BatchWriteItem"] * 4  # 100 entries / 25
    big, small = published
    assert (len(big.recipients), big.recorded) == (store.MAX_WRITES, False)
    assert (small.recipients, small.recorded) == ((buyer.user_id,), True)
    for uid in (*crowd, buyer.user_id):
        got = [n.event_id for n in feed(uid) if n.type == "request.updated"]
        wanted = big.id if uid != buyer.user_id else small.id
        assert got.count(wanted) == 1, uid


def test_a_change_whose_own_writes_pass_the_limit_is_refused() -> None:
    changes = Changes()
    for n in range(store.MAX_WRITES + 1):
        changes.save_new(
            JobMemberItem(keys.user(f"u{n}"), keys.job("J"), job_id="J", role="customer")
        )
    with pytest.raises(ValueError, match="at most 100 items"):
        changes.commit()


def test_job_updated_is_a_small_event_however_long_the_job_grows(
    published: list[events.Event],
) -> None:
    """A job.updated event (frame and feed entry) says who, which state and the step that
    led there; the job's text and whole history are at GET /jobs/{id}. Its feed entry stays
    under 1 KB (2 write units in the transaction) even with the longest description."""
    from chalicelib.schemas.marketplace import DESCRIPTION_MAX_CHARS
    from chalicelib.services import jobs
    from devstack.meter import item_size

    who, buyer = provider(*SPOT), customer()
    long = request_in(*SPOT).model_copy(update={"description": "x" * DESCRIPTION_MAX_CHARS})
    request = requests.create(buyer, long)
    job = offers.accept(who, request.id)
    for to in ("en_route", "arrived", "in_progress", "completed"):
        published.clear()
        jobs.transition(who, job.id, to)
        (event,) = [e for e in published if e.type == "job.updated"]
        assert (event.data["id"], event.data["state"]) == (job.id, to)
        assert event.data["transition"]["to"] == to
        assert "description" not in event.data and "history" not in event.data
        entry = next(n for n in feed(buyer.user_id) if n.event_id == event.id)
        assert item_size(entry.serialize()) <= 1024  # DynamoDB's own item-size rules
    full = jobs.get(buyer, job.id)
    assert full.description == "x" * DESCRIPTION_MAX_CHARS
    assert [t.to for t in full.history][-4:] == ["en_route", "arrived", "in_progress", "completed"]
