"""The fan-out model of ``bench.fanout``: pages, calls and time to reach a user base."""

from __future__ import annotations

import pytest

from bench.fanout import Page, full_page_ms, model

pytestmark = pytest.mark.unit


def test_pages_calls_and_time_follow_the_shards_and_the_pages():
    estimate = model(
        100_000,
        {"push": (5, 1000.0), "live": (4, 500.0)},
        device_share=0.8,
        live_share=0.2,
        concurrency=(5, 1000),
        hop_ms=100.0,
    )
    # 80,000 devices: 5,000 a shard, 50 pages each; 20,000 sockets: 1,250 a shard, 13 pages
    assert estimate.pages == 16 * 50 + 16 * 13
    assert estimate.calls == 800 * 5 + 208 * 4
    # 5 at a time: the pages' total time / 5; unlimited: the longest shard's chain of hops
    assert estimate.seconds[5] == pytest.approx((800 * 1000 + 208 * 500) / 5 / 1000)
    assert estimate.seconds[1000] == pytest.approx((50 * 100 + 1000) / 1000)


def test_ten_times_the_users_is_ten_times_the_pages_not_bigger_invocations():
    small = model(10_000, {"push": (5, 1000.0), "live": (4, 500.0)})
    large = model(100_000, {"push": (5, 1000.0), "live": (4, 500.0)})
    assert large.pages >= 9 * small.pages
    assert large.calls / large.pages == pytest.approx(small.calls / small.pages, rel=0.05)


def test_a_full_page_adds_the_sends_a_measured_page_lacked():
    pages = [Page("push", 5, 100.0 + 15.0 * n, n) for n in (10, 40, 70)]
    assert full_page_ms(pages, send_ms=15.0) == pytest.approx(100.0 + 15.0 * 100)
    assert full_page_ms([Page("live", 4, 80.0, 100)], send_ms=15.0) == 80.0
