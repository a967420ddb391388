"""Photos attached to a request: checked and shared in the request's own transaction.

The check is a ConditionCheck per photo (the customer's, not rejected, a request photo)
and the offered providers' read grants are written with the request, so a request with
photos costs no more calls than one without, a bad photo changes nothing, and a provider
never holds an offer whose photos they cannot open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib import ids, runtime
from chalicelib.errors import Invalid
from chalicelib.services import notifications, offers, requests
from chalicelib.store import keys
from chalicelib.store import marketplace as store
from chalicelib.store import media as media_repo
from tests.integration.marketplace_support import customer, provider, request_in
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.integration

SPOT = (41.15, -8.61)


@pytest.fixture(autouse=True)
def quiet_sinks(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from chalicelib.store import profiles
    from devstack import seed

    profiles.put_categories(seed.CATEGORIES)
    runtime.use(sinks=[("feed", notifications.record)])
    yield


def photo(owner: str, purpose: str = "request_photo", status: str | None = None) -> str:
    media_id = ids.new_id()
    media_repo.create(media_id, owner, purpose, "image/png", 100, f"uploads/{owner}/{media_id}")
    if status is not None:
        item = media_repo.MediaItem(keys.media(media_id), keys.META)
        item.update(actions=[media_repo.MediaItem.status.set(status)])
    return media_id


def requests_of(customer_id: str) -> list[object]:
    return store.customer_requests(customer_id, 100, None)[0]


def test_photos_are_checked_and_shared_in_the_request_transaction() -> None:
    near = [provider(SPOT[0] + 0.01 * i, SPOT[1]) for i in range(2)]
    buyer = customer()
    photos = [photo(buyer.user_id), photo(buyer.user_id)]
    body = request_in(*SPOT).model_copy(update={"media_ids": photos})
    with count_dynamodb_calls() as calls:
        requests.create(buyer, body)
    # the geo Queries, the offered providers' counters, then one transaction: no read of
    # the photos, no separate grant write
    assert [c for c in calls.calls if c != "Query"] == ["BatchGetItem", "TransactWriteItems"]
    for who in near:
        for media_id in photos:
            assert media_repo.get_with_grant(media_id, who.user_id)[1]


@pytest.mark.parametrize("problem", ["someone else's", "rejected", "a chat image", "unknown"])
def test_a_bad_photo_is_a_400_naming_it_and_changes_nothing(problem: str) -> None:
    near = provider(*SPOT)
    buyer, other = customer(), customer()
    bad = {
        "someone else's": lambda: photo(other.user_id),
        "rejected": lambda: photo(buyer.user_id, status=media_repo.REJECTED),
        "a chat image": lambda: photo(buyer.user_id, purpose="chat_image"),
        "unknown": ids.new_id,
    }[problem]()
    good = photo(buyer.user_id)
    body = request_in(*SPOT).model_copy(update={"media_ids": [good, bad]})
    with pytest.raises(Invalid, match=bad):
        requests.create(buyer, body)
    assert requests_of(buyer.user_id) == []  # no request, so no offers, no feed entries
    assert store.feed(near.user_id, 10, None)[0] == []
    assert not media_repo.get_with_grant(good, near.user_id)[1]


def test_grants_that_pass_the_transaction_limit_are_written_after_it() -> None:
    """Quote mode invites 10 providers; 10 photos each is 100 grants, more than a
    transaction holds beside the request: they are written right after it."""
    invited = [provider(SPOT[0] + 0.002 * i, SPOT[1]) for i in range(10)]
    buyer = customer()
    photos = [photo(buyer.user_id) for _ in range(10)]
    body = request_in(*SPOT, mode="quote").model_copy(update={"media_ids": photos})
    with count_dynamodb_calls() as calls:
        requests.create(buyer, body)
    assert "BatchWriteItem" in calls.calls
    assert all(media_repo.get_with_grant(m, p.user_id)[1] for m in photos for p in invited)


def test_providers_who_do_not_get_the_job_stop_seeing_its_photos() -> None:
    winner, loser, decliner = (provider(SPOT[0] + 0.01 * i, SPOT[1]) for i in range(3))
    buyer = customer()
    photos = [photo(buyer.user_id)]
    made = requests.create(buyer, request_in(*SPOT).model_copy(update={"media_ids": photos}))
    assert all(
        media_repo.get_with_grant(photos[0], p.user_id)[1] for p in (winner, loser, decliner)
    )
    offers.decline(decliner, made.id)
    assert not media_repo.get_with_grant(photos[0], decliner.user_id)[1]
    with count_dynamodb_calls() as calls:
        offers.accept(winner, made.id)
    assert "BatchWriteItem" not in calls.calls  # revoked in the accept's own transaction
    assert media_repo.get_with_grant(photos[0], winner.user_id)[1]
    assert not media_repo.get_with_grant(photos[0], loser.user_id)[1]
