"""Devices and push: registration (one device per token, moves between accounts), removal,
push to offline users in each platform's format, mute settings, dead endpoints and failures
(announcements: test_announcements.py)."""

from __future__ import annotations

import pytest

from tests import pushmedia
from tests.pushmedia import APNS_TOKEN, APNS_TOKEN_2, FCM_TOKEN
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.api


@pytest.fixture
def push(aws, monkeypatch):
    return pushmedia.provision(monkeypatch)


@pytest.fixture
def api(push, client, as_user):
    return as_user


def _register(user, platform="apns", token=APNS_TOKEN):
    return user.call("POST", "/devices", {"platform": platform, "token": token})


def test_registering_the_same_token_twice_is_one_device(api):
    alice = api()
    first = _register(alice)
    assert first.status_code == 201, first.json_body
    again = _register(alice)
    assert again.status_code == 200
    assert again.json_body["id"] == first.json_body["id"]
    listed = alice.call("GET", "/devices").json_body["items"]
    assert [d["id"] for d in listed] == [first.json_body["id"]]
    assert len(pushmedia.endpoints()) == 1


def test_a_token_signed_in_on_another_account_moves_there(api):
    alice, bob = api(), api()
    old = _register(alice).json_body["id"]
    moved = _register(bob)
    assert moved.status_code == 201
    assert alice.call("GET", "/devices").json_body["items"] == []
    assert [d["id"] for d in bob.call("GET", "/devices").json_body["items"]] == [
        moved.json_body["id"]
    ]
    assert alice.call("DELETE", f"/devices/{old}").status_code == 404
    assert len(pushmedia.endpoints()) == 1  # one endpoint per token, whoever holds it


def test_delete_removes_the_device_and_its_endpoint(api):
    alice, mallory = api(), api()
    device = _register(alice).json_body["id"]
    assert mallory.call("DELETE", f"/devices/{device}").status_code == 404
    assert len(pushmedia.endpoints()) == 1
    response = alice.call("DELETE", f"/devices/{device}")
    assert response.status_code == 204
    assert alice.call("GET", "/devices").json_body["items"] == []
    assert pushmedia.endpoints() == {}
    assert alice.call("DELETE", f"/devices/{device}").status_code == 404
    # the token can be registered again afterwards
    assert _register(alice).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"platform": "windows", "token": APNS_TOKEN},
        {"platform": "apns", "token": "not-hex-" * 10},
        {"platform": "apns", "token": "abc"},
        {"platform": "fcm", "token": "has spaces in it, which FCM tokens never do"},
        {"platform": "fcm"},
        {"platform": "fcm", "token": FCM_TOKEN, "extra": 1},
    ],
)
def test_bad_registrations_are_400_and_write_nothing(api, body):
    alice = api()
    with count_dynamodb_calls() as calls:
        response = alice.call("POST", "/devices", body)
    assert response.status_code == 400
    assert response.json_body["detail"].startswith("Invalid body")
    assert calls.calls == []
    assert pushmedia.endpoints() == {}


def test_route_costs(api):
    alice = api()
    with count_dynamodb_calls() as new:
        device = _register(alice).json_body["id"]
    with count_dynamodb_calls() as known:
        _register(alice)
    with count_dynamodb_calls() as listed:
        alice.call("GET", "/devices")
    with count_dynamodb_calls() as deleted:
        alice.call("DELETE", f"/devices/{device}")
    assert new.calls == ["GetItem", "TransactWriteItems"]
    assert known.calls == ["GetItem"]
    assert listed.calls == ["Query"]
    assert deleted.calls == ["GetItem", "TransactWriteItems"]


# --- push -------------------------------------------------------------------------------


def _offer(user_id, offer_id="O1"):
    from chalicelib.services.events import Event

    return Event(
        type="offer.new",
        recipients=(user_id,),
        data={"offer_id": offer_id, "request": {"category": "plumbing", "description": "Tap"}},
    )


def test_an_offline_user_gets_the_push_on_every_device_in_its_format(api):
    from chalicelib.services import push

    alice = api()
    _register(alice, "apns", APNS_TOKEN)
    _register(alice, "fcm", FCM_TOKEN)
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    payloads = [p for _, p in pushmedia.pushes()]
    assert len(payloads) == 2
    apns = next(p for p in payloads if "aps" in p)
    fcm = next(p for p in payloads if "fcmV1Message" in p)["fcmV1Message"]["message"]
    assert apns["aps"]["alert"]["title"] == "New job offer: plumbing"
    assert apns["offer_id"] == "O1"
    assert fcm["notification"]["body"] == "Tap"
    assert fcm["data"]["offer_id"] == "O1"
    assert fcm["android"]["collapse_key"] == "offer:O1"


def test_pushes_sent_are_counted(api, monkeypatch):
    from chalicelib import observability
    from chalicelib.services import push

    counted: list[tuple[str, float]] = []
    monkeypatch.setattr(observability, "count", lambda name, value=1: counted.append((name, value)))
    alice = api()
    _register(alice, "apns", APNS_TOKEN)
    _register(alice, "fcm", FCM_TOKEN)
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    assert counted == [("PushesSent", 2)]


def test_muted_types_are_not_pushed(api):
    from chalicelib.services import push
    from chalicelib.services.events import Event

    alice = api()
    _register(alice)
    saved = alice.call(
        "PUT",
        "/me/settings",
        {"notifications": {"muted": ["offer.new"]}},
        headers={"If-Match": '"0"'},
    )
    assert saved.status_code == 200, saved.json_body
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    assert pushmedia.pushes() == []
    chat = Event(
        type="chat.message",
        recipients=(alice.user_id,),
        data={"conversation_id": "C", "text": "hi"},
    )
    push.send_to_users([(chat, [alice.user_id])])
    assert [p["aps"]["alert"]["body"] for _, p in pushmedia.pushes()] == ["hi"]


def test_a_disabled_endpoint_is_cleaned_up_and_the_other_devices_still_get_it(api):
    from chalicelib.services import push

    alice = api()
    dead = _register(alice, "apns", APNS_TOKEN).json_body["id"]
    _register(alice, "fcm", FCM_TOKEN)
    sns = pushmedia.client("sns")
    dead_arn = next(a for a, e in pushmedia.endpoints().items() if e.token == APNS_TOKEN)
    sns.set_endpoint_attributes(EndpointArn=dead_arn, Attributes={"Enabled": "false"})
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    assert [d["platform"] for d in alice.call("GET", "/devices").json_body["items"]] == ["fcm"]
    assert dead_arn not in pushmedia.endpoints()
    assert len(pushmedia.pushes()) == 1
    assert alice.call("DELETE", f"/devices/{dead}").status_code == 404


def test_one_failing_device_never_stops_the_others(api, monkeypatch):
    from chalicelib.adapters import sns
    from chalicelib.services import push

    alice, bob = api(), api()
    _register(alice, "apns", APNS_TOKEN)
    _register(bob, "apns", APNS_TOKEN_2)
    _register(bob, "fcm", FCM_TOKEN)
    real = sns.send
    broken = next(a for a, e in pushmedia.endpoints().items() if e.token == APNS_TOKEN)

    def flaky(arn, platform, n):
        if arn == broken:
            raise RuntimeError("throttled")
        return real(arn, platform, n)

    monkeypatch.setattr(sns, "send", flaky)
    push.send_to_users([(_offer("x"), [alice.user_id, bob.user_id])])
    assert len(pushmedia.pushes()) == 2
    assert len(alice.call("GET", "/devices").json_body["items"]) == 1  # kept: not gone


def test_push_is_a_noop_for_users_without_devices(api):
    from chalicelib.services import push

    with count_dynamodb_calls() as calls:
        push.send_to_users([(_offer("nobody"), ["nobody"])])
    assert calls.calls == ["BatchGetItem"]
    assert pushmedia.pushes() == []


def _three_with_devices(api):
    """alice (an APNs device), bob (FCM) and carol (APNs, job.updated muted)."""
    alice, bob, carol = api(), api(), api()
    _register(alice, "apns", APNS_TOKEN)
    _register(bob, "fcm", FCM_TOKEN)
    muted = carol.call(
        "PUT",
        "/me/settings",
        {"notifications": {"muted": ["job.updated"]}},
        headers={"If-Match": '"0"'},
    )
    assert muted.status_code == 200, muted.json_body
    _register(carol, "apns", APNS_TOKEN_2)
    return alice, bob, carol


def test_the_events_of_one_change_reach_every_offline_user_with_one_read(api):
    from chalicelib.services import push
    from chalicelib.services.events import Event

    alice, bob, carol = _three_with_devices(api)
    job = Event(
        type="job.updated",
        recipients=(alice.user_id, carol.user_id),
        data={"job_id": "J1", "state": "accepted"},
    )
    with count_dynamodb_calls() as calls:
        push.send_to_users(
            [(job, [alice.user_id, carol.user_id]), (_offer(bob.user_id), [bob.user_id])]
        )
    assert calls.calls == ["BatchGetItem"]
    tokens = sorted(pushmedia.endpoints()[arn].token for arn, _ in pushmedia.pushes())
    assert tokens == sorted([APNS_TOKEN, FCM_TOKEN])  # carol muted job.updated


def test_a_token_that_moves_account_is_pushed_to_its_new_owner_only(api):
    from chalicelib.services import push

    alice, bob = api(), api()
    _register(alice, "fcm", FCM_TOKEN)
    assert _register(bob, "fcm", FCM_TOKEN).status_code == 201
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    assert pushmedia.pushes() == []
    push.send_to_users([(_offer(bob.user_id), [bob.user_id])])
    assert len(pushmedia.pushes()) == 1


def test_a_removed_device_gets_no_more_pushes(api):
    from chalicelib.services import push

    alice = api()
    device = _register(alice, "fcm", FCM_TOKEN).json_body["id"]
    _register(alice, "apns", APNS_TOKEN)
    assert alice.call("DELETE", f"/devices/{device}").status_code == 204
    push.send_to_users([(_offer(alice.user_id), [alice.user_id])])
    assert ["aps" in p for _, p in pushmedia.pushes()] == [True]


def test_an_offline_recipient_is_pushed_from_the_live_look_up_with_no_read_of_its_own(api):
    from chalicelib.services import events
    from chalicelib.services.events import Event

    alice, bob, carol = _three_with_devices(api)
    job = Event(
        type="job.updated",
        recipients=(alice.user_id, bob.user_id, carol.user_id),
        data={"job_id": "J1", "state": "en_route"},
        actor=bob.user_id,
    )
    with count_dynamodb_calls() as calls:
        events.publish(job)
    # the feed's write, and one look-up of sockets + settings + devices; push reads nothing
    assert sorted(calls.calls) == ["BatchGetItem", "BatchWriteItem"]
    tokens = [pushmedia.endpoints()[arn].token for arn, _ in pushmedia.pushes()]
    assert tokens == [APNS_TOKEN]  # not bob (the actor), not carol (muted job.updated)
