"""The marketplace's own small rules: clock settings, due-timer keys, sweep days, views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib import ids, runtime
from chalicelib.domain.dispatch import Mode
from chalicelib.domain.market import Offer, OfferStatus, approx
from chalicelib.services import matching
from chalicelib.store import keys
from chalicelib.store import marketplace as store
from chalicelib.store.marketplace import mapping
from chalicelib.store.marketplace.items import RequestItem
from tests.unit.fakes import a_request

pytestmark = pytest.mark.unit


def test_clock_settings_default_to_the_dispatch_policy(monkeypatch):
    for name in (matching.OFFER_TTL_SECONDS, matching.REQUEST_TTL_SECONDS):
        monkeypatch.delenv(name, raising=False)
    settings = matching.market_settings()
    assert settings.offer_ttl == timedelta(seconds=60)
    assert settings.request_ttl("instant") == timedelta(minutes=15)
    assert settings.request_ttl("quote") == timedelta(hours=24)
    assert (settings.offers_at_once, settings.quote_invitations) == (3, 10)


def test_clock_settings_come_from_the_environment_and_refuse_nonsense(monkeypatch):
    monkeypatch.setenv(matching.OFFER_TTL_SECONDS, "2")
    assert matching.market_settings().offer_ttl == timedelta(seconds=2)
    runtime.reset()  # the settings are read once per runtime
    monkeypatch.setenv(matching.OFFER_TTL_SECONDS, "soon")
    with pytest.raises(ValueError, match="SUMMON_OFFER_TTL_SECONDS must be a whole number"):
        matching.market_settings()
    runtime.reset()
    monkeypatch.setenv(matching.OFFER_TTL_SECONDS, "0")
    with pytest.raises(ValueError, match="at least 1"):
        matching.market_settings()


def test_due_timer_keys_sort_by_time_and_compare_with_now():
    early = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    item = RequestItem(keys.request("A"), keys.META)
    mapping.set_due(item, early, keys.request("A"))
    assert item.gsi2pk == keys.due("2026-05-01", keys.request("A"))
    assert str(item.gsi2pk).startswith("DUE#2026-05-01#")
    assert item.due_at == "2026-05-01T09:00:00.000Z"
    upper_now = ids.iso(early) + "~"
    assert item.gsi2sk is not None and item.gsi2sk <= upper_now  # due exactly now
    assert item.gsi2sk > ids.iso(early - timedelta(milliseconds=1)) + "~"
    mapping.set_due(item, None, "")
    assert (item.gsi2pk, item.gsi2sk, item.due_at) == (None, None, None)


def test_sweep_days():
    assert store.days_between("2026-02-27", "2026-03-01") == [
        "2026-02-27",
        "2026-02-28",
        "2026-03-01",
    ]
    assert store.day_of(datetime(2026, 5, 1, 23, 59, tzinfo=UTC)) == "2026-05-01"


def test_next_due_is_the_first_offer_to_expire_or_the_request():
    t0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    request = a_request(t0, mode="instant")
    request.expires_at = t0 + timedelta(minutes=15)
    request.offers = {
        "a": Offer("a", OfferStatus.PENDING, t0 + timedelta(minutes=1), 1.0),
        "b": Offer("b", OfferStatus.DECLINED, t0 + timedelta(seconds=30), 1.0),
    }
    assert request.next_due() == t0 + timedelta(minutes=1)
    request.offers = {}
    assert request.next_due() == t0 + timedelta(minutes=15)
    request.mode = Mode.QUOTE
    request.offers = {"a": Offer("a", OfferStatus.PENDING, t0 + timedelta(minutes=1), 1.0)}
    assert request.next_due() == t0 + timedelta(minutes=15)


def test_providers_see_a_request_only_approximately():
    assert approx(38.722345) == 38.72
    assert approx(-9.139301) == -9.14
