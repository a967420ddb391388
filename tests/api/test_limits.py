"""Per-user HTTP limits (docs/api.md "Limits"): a user over the limit gets 429 problem+json
with ``Retry-After``, the call does nothing, other users are not affected, and calls spread
over many containers are caught by the shared counter."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from chalicelib import runtime
from chalicelib.errors import TooFrequent
from chalicelib.services import limits
from chalicelib.store import limits as counters
from tests.support import count_dynamodb_calls

pytestmark = pytest.mark.api


def _limit(per_minute: int, burst: int) -> None:
    runtime.use(
        settings=replace(
            runtime.settings(), limit_http_per_minute=per_minute, limit_http_burst=burst
        )
    )


def test_a_user_over_the_burst_gets_429_with_retry_after_and_the_call_does_nothing(as_user):
    _limit(per_minute=1, burst=3)  # one token a minute: nothing refills during the test
    carla, other = as_user(), as_user()
    for _ in range(3):
        assert carla.call("GET", "/me").status_code == 200
    refused = carla.call("PATCH", "/me", {"name": "Too Fast"})
    assert refused.status_code == 429
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json_body["status"] == 429
    assert "per minute" in refused.json_body["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # one token, at 1 a minute
    assert carla.call("GET", "/me").status_code == 429  # still nothing left
    assert other.call("GET", "/me").status_code == 200  # per user, not per container
    _limit(per_minute=300, burst=60)  # the same bucket, refilled at the new rate later
    runtime.use(http_buckets=runtime.Bounded())  # a fresh container
    assert carla.call("GET", "/me").json_body["name"] != "Too Fast"  # the 429 changed nothing


def test_the_bucket_refills_at_the_per_minute_rate():
    _limit(per_minute=60, burst=2)  # one call a second
    limits.http_call("u", now=100.0)
    limits.http_call("u", now=100.0)
    with pytest.raises(TooFrequent) as refused:
        limits.http_call("u", now=100.5)
    assert refused.value.retry_after == 1  # half a token missing, at one a second
    limits.http_call("u", now=101.0)  # refilled
    with pytest.raises(TooFrequent):
        limits.http_call("u", now=101.0)
    limits.http_call("u", now=200.0)  # an idle user has the whole burst again...
    limits.http_call("u", now=200.0)
    with pytest.raises(TooFrequent):
        limits.http_call("u", now=200.0)  # ...and no more


def test_calls_spread_over_containers_are_caught_by_the_shared_counter(as_user):
    carla = as_user()
    s = runtime.settings()
    # Other containers already let through a minute's worth (both minutes this test may
    # straddle), short of tripping the shared counter by less than one share of this one.
    minute = int(time.time() // 60)
    for m in (minute, minute + 1):
        counters.add_http_calls(
            carla.user_id,
            m,
            s.limit_http_per_minute + s.limit_http_burst - limits.SHARE_EVERY + 1,
            expires=(m + 1) * 60,
        )
    for _ in range(limits.SHARE_EVERY - 1):
        assert carla.call("GET", "/me").status_code == 200
    with count_dynamodb_calls() as calls:
        last = carla.call("GET", "/me")  # this container shares its count: over the total
    assert last.status_code == 200
    assert calls.calls.count("UpdateItem") == 1
    refused = carla.call("GET", "/me")
    assert refused.status_code == 429  # this container's bucket still had 35 calls left
    assert 1 <= int(refused.headers["Retry-After"]) <= 60  # until the minute ends
    assert as_user().call("GET", "/me").status_code == 200


def test_calls_under_the_limit_make_no_dynamodb_call_for_it(as_user):
    carla = as_user()
    carla.call("GET", "/me")
    with count_dynamodb_calls() as calls:
        carla.call("GET", "/me")
    with count_dynamodb_calls() as unlimited:
        _limit(per_minute=10**6, burst=10**6)
        carla.call("GET", "/me")
    assert calls.calls == unlimited.calls


def test_every_signed_in_route_documents_429_with_retry_after():
    from chalicelib import openapi

    for path, operations in openapi.document()["paths"].items():
        for method, op in operations.items():
            if "security" in op:
                assert "Retry-After" in op["responses"]["429"]["headers"], (method, path)
            else:  # /health, /openapi.json: the WAF's per-IP limit only
                assert "429" not in op["responses"], (method, path)


def test_the_limits_are_settings_from_the_environment(monkeypatch):
    from chalicelib import config

    monkeypatch.setenv(config.LIMIT_HTTP_PER_MINUTE, "120")
    monkeypatch.setenv(config.LIMIT_SOCKETS, "2")
    monkeypatch.setenv(config.LIMIT_CHAT_PER_SECOND, "0.5")
    loaded = config.load()
    assert (loaded.limit_http_per_minute, loaded.limit_sockets) == (120, 2)
    assert loaded.limit_chat_per_second == 0.5
    assert (loaded.limit_http_burst, loaded.limit_chat_burst) == (60, 10)  # defaults
    monkeypatch.setenv(config.LIMIT_SOCKETS, "0")
    with pytest.raises(ValueError, match=config.LIMIT_SOCKETS):
        config.load()
