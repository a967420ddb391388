"""Announcements on the running local stack: an operator's announcement to an audience fans
out through the SQS fan-out queue (the event pump plays Lambda's event source mapping) and
reaches that audience's sockets only."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from devstack.harness import wait_until
from tests.e2e.test_push_live import _frames_until

pytestmark = pytest.mark.e2e


def _fanout_drained(stack) -> bool:
    """No page waiting on the fan-out queue and none in flight (the pump deletes a page's
    message once its invocation returned)."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["SUMMON_FANOUT_QUEUE"])["QueueUrl"]
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(v == "0" for v in attrs.values())


def _announcements(ws, timeout: float) -> list[dict[str, Any]]:
    """Every announcement frame the socket receives within ``timeout`` seconds."""
    got = []
    while True:
        try:
            frame = json.loads(ws.recv(timeout=timeout))
        except TimeoutError:
            return got
        if frame.get("type") == "announcement":
            got.append(frame["data"])


def test_an_announcement_to_providers_reaches_a_providers_socket_and_not_a_customers(stack):
    from websockets.sync.client import connect

    _, staff = stack.new_account("operators")
    _, provider = stack.new_account("providers")
    _, customer = stack.new_account("customers")
    for token in (provider, customer):  # as the app does when it starts: the profile
        stack.ok("GET", "/me", token)  # holds the account's roles
    for_providers = f"Providers' news {secrets.token_hex(3)}"
    for_customers = f"Customers' news {secrets.token_hex(3)}"

    with (
        connect(f"{stack.ws}/?token={provider}") as provider_ws,
        connect(f"{stack.ws}/?token={customer}") as customer_ws,
    ):
        sent = stack.ok(
            "POST",
            "/admin/announcements",
            staff,
            json={"title": for_providers, "text": "New categories", "audience": "providers"},
        )
        assert sent["audience"] == "providers"
        frame = _frames_until(
            provider_ws,
            lambda f: f.get("type") == "announcement" and f["data"]["title"] == for_providers,
        )
        assert frame["data"]["body"] == "New categories"
        wait_until(lambda: _fanout_drained(stack), "every page of the fan-out")
        # every page was delivered: the customer's socket got nothing
        assert [a["title"] for a in _announcements(customer_ws, 1.0)] == []

        stack.ok(
            "POST",
            "/admin/announcements",
            staff,
            json={"title": for_customers, "text": "Spring offers", "audience": "customers"},
        )
        _frames_until(
            customer_ws,
            lambda f: f.get("type") == "announcement" and f["data"]["title"] == for_customers,
        )
        wait_until(lambda: _fanout_drained(stack), "every page of the fan-out")
        assert [a["title"] for a in _announcements(provider_ws, 1.0)] == []
