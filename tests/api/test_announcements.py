"""Announcements fan out per shard through the fan-out queue: the topic's handler queues
one message per shard, each invocation of the queue's consumer delivers one bounded page
(its audience's sockets live, the rest by push), retries change nothing twice.

The topic and queue handlers are invoked as Lambda would (``client.lambda_.invoke``), the
queue is moto's: each test drains it the way the event source mapping does (a message
goes away only when its invocation returned). Sockets are recorded the way ``$connect``
records them and reached through a fake ``@connections`` sender (the e2e test uses the
real gateway)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

import pytest

from chalicelib import runtime
from chalicelib.auth import CUSTOMERS, PROVIDERS, Principal
from chalicelib.schemas.devices import DeviceIn
from chalicelib.services import announcements
from chalicelib.services import devices as device_service
from chalicelib.store import connections as sockets
from chalicelib.store import profiles
from tests import pushmedia
from tests.api.test_realtime import ENDPOINT, FakeSender
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.api


@dataclass
class User:
    user_id: str
    roles: tuple[str, ...]
    connection: str | None = None
    endpoint: str | None = None


@dataclass
class Fanout:
    """What draining the fan-out queue took: DynamoDB calls of each invocation."""

    calls: list[int] = field(default_factory=list)
    failures: int = 0


@pytest.fixture
def world(aws, client, monkeypatch):
    env = pushmedia.provision(monkeypatch)
    sender = FakeSender()
    runtime.use(sender=sender)
    return env, sender


def _user(roles: tuple[str, ...], *, live: bool = False, device: bool = False) -> User:
    user = User(str(uuid.uuid4()), roles)
    profiles.get_or_create_user(user.user_id, f"{user.user_id[:8]}@example.com", list(roles))
    if live:
        user.connection = f"conn-{user.user_id[:12]}"
        sockets.add_connection(user.connection, user.user_id, ENDPOINT)
    if device:
        principal = Principal(user.user_id, "", frozenset(roles))
        token = uuid.uuid4().hex * 2  # an APNs token: 64 hex digits
        device_service.register(principal, DeviceIn(platform="apns", token=token))
        user.endpoint = pushmedia.client("sns").list_endpoints_by_platform_application(
            PlatformApplicationArn=runtime.settings().push_apns_arn
        )["Endpoints"][-1]["EndpointArn"]
    return user


def _announce(client, message_id: str, audience: str | None = None, title: str = "Hello"):
    body: dict[str, object] = {"title": title, "body": "Tonight 2-3am"}
    if audience is not None:
        body["data"] = {"audience": audience}
    event = client.events.generate_sns_event(message=json.dumps(body), subject="ignored")
    event["Records"][0]["Sns"]["MessageId"] = message_id
    client.lambda_.invoke("announcements_topic", event)


def _drain(client, env, *, keep: bool = False, max_rounds: int = 10_000) -> Fanout:
    """Deliver every message on the fan-out queue to its consumer, one per invocation (its
    batch size), until the queue is empty; a message whose invocation raised stays (moto:
    visible again at once, the queue's visibility timeout set to 0 here). ``keep``: leave
    the messages on the queue (a redelivery of each follows)."""
    sqs = pushmedia.client("sqs")
    url = sqs.get_queue_url(QueueName=env["SUMMON_FANOUT_QUEUE"])["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    done = Fanout()
    for _ in range(max_rounds):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        if not messages:
            return done
        (message,) = messages
        event = client.events.generate_sqs_event([message["Body"]], env["SUMMON_FANOUT_QUEUE"])
        with count_dynamodb_calls() as counter:
            try:
                client.lambda_.invoke("announcement_pages", event)
            except Exception:  # noqa: BLE001 -- Lambda reports any exception as a failure
                done.failures += 1
                continue
            finally:
                done.calls.append(len(counter.calls))
        if not keep:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the fan-out queue never emptied")


def _frames(sender: FakeSender, user: User) -> list[str]:
    assert user.connection is not None
    return [
        f["data"]["title"] for f in sender.frames[user.connection] if f["type"] == "announcement"
    ]


def _pushed(user: User) -> list[str]:
    found = []
    for arn, payload in pushmedia.pushes():
        if arn == user.endpoint:
            found.append(payload["aps"]["alert"]["title"])
    return found


def test_calls_per_invocation_stay_the_same_as_the_user_base_grows(world, client, monkeypatch):
    env, sender = world
    monkeypatch.setattr(announcements, "PAGE", 4)  # many pages per shard with few users
    per_invocation = {}
    invocations = {}
    for size in (16, 96):
        users = [_user((CUSTOMERS,), live=i % 2 == 0, device=i % 3 == 0) for i in range(size)]
        _announce(client, f"grow-{size}", "customers", title=f"to {size}")
        fanout = _drain(client, env)
        assert fanout.failures == 0
        per_invocation[size] = max(fanout.calls)
        invocations[size] = len(fanout.calls)
        reached = [
            u
            for u in users
            if (u.connection and f"to {size}" in _frames(sender, u))
            or (u.endpoint and f"to {size}" in _pushed(u))
        ]
        # everyone with a socket or a device, once: a device owner with a socket live only
        assert len(reached) == len([u for u in users if u.connection or u.endpoint])
        for u in users:
            if u.endpoint and u.connection:
                assert _pushed(u).count(f"to {size}") == 0
            assert _frames(sender, u).count(f"to {size}") <= 1 if u.connection else True
    # claim + Query + roles + sockets and push settings + done; never more, whatever the size
    assert per_invocation[16] <= 5
    assert per_invocation[96] <= 5
    assert invocations[96] > invocations[16]


def test_only_the_audience_gets_it_and_users_with_both_roles_get_both(world, client):
    env, sender = world
    customer_live = _user((CUSTOMERS,), live=True)
    provider_live = _user((PROVIDERS,), live=True)
    both_live = _user((CUSTOMERS, PROVIDERS), live=True)
    customer_phone = _user((CUSTOMERS,), device=True)
    provider_phone = _user((PROVIDERS,), device=True)
    provider_phone_and_live = _user((PROVIDERS,), live=True, device=True)

    _announce(client, "m-cust", "customers", title="for customers")
    _announce(client, "m-prov", "providers", title="for providers")
    _announce(client, "m-all", None, title="for all")
    assert _drain(client, env).failures == 0

    assert _frames(sender, customer_live) == ["for customers", "for all"]
    assert _frames(sender, provider_live) == ["for providers", "for all"]
    assert sorted(_frames(sender, both_live)) == ["for all", "for customers", "for providers"]
    assert sorted(_pushed(customer_phone)) == ["for all", "for customers"]
    assert sorted(_pushed(provider_phone)) == ["for all", "for providers"]
    # live where a socket took it, so no push
    assert sorted(_frames(sender, provider_phone_and_live)) == ["for all", "for providers"]
    assert _pushed(provider_phone_and_live) == []


def test_a_redelivered_page_or_topic_message_sends_nothing_twice(world, client):
    env, sender = world
    phone = _user((CUSTOMERS,), device=True)
    live = _user((CUSTOMERS,), live=True)
    _announce(client, "m-twice", "all")
    _announce(client, "m-twice", "all")  # SNS delivers the topic message again
    first = _drain(client, env, keep=True)  # every page message comes back once more...
    assert first.failures == 0
    assert _pushed(phone) == ["Hello"]
    assert _frames(sender, live) == ["Hello"]
    assert first.calls  # ...and was delivered again: still one push, one frame


def test_a_failed_page_is_retried_alone(world, client, monkeypatch):
    env, _ = world
    users = [_user((PROVIDERS,), device=True) for _ in range(6)]
    real = announcements.repo.audience_profiles
    failed: list[int] = []

    def flaky(user_ids, *, devices):
        user_ids = list(user_ids)
        if not failed and not devices:  # the first push page that reads roles
            failed.append(len(user_ids))
            raise RuntimeError("DynamoDB throttled")
        return real(user_ids, devices=devices)

    monkeypatch.setattr(announcements.repo, "audience_profiles", flaky)
    _announce(client, "m-retry", "providers")
    fanout = _drain(client, env)
    assert fanout.failures == 1 and failed
    for user in users:  # the failed page was sent by its retry; no other page twice
        assert _pushed(user) == ["Hello"]


def test_an_unknown_audience_is_dropped_and_a_message_that_is_not_a_page_too(world, client, caplog):
    env, _ = world
    phone = _user((CUSTOMERS,), device=True)
    _announce(client, "m-bad", "admins")
    assert _drain(client, env).calls == []
    assert _pushed(phone) == []
    event = client.events.generate_sqs_event(['{"not": "a page"}'], env["SUMMON_FANOUT_QUEUE"])
    client.lambda_.invoke("announcement_pages", event)
    assert "not a page" in caplog.text
