"""Matching: who may take a request, best first (docs/marketplace.md, "Matching").

Only the top ``k`` are wanted (the offers to make, plus those already made when the timer
re-dispatches), so the geo indexes are read nearest first and no farther than the bound
of ``domain.ranking.best_nearby`` needs (ADR 0014): the 20 km around the request at most
:data:`~chalicelib.domain.ranking.PROBE_LIMIT` per range (2 Queries: a sparse area ends
there), then rings of the fine index in a crowded one. The providers are filtered (online,
the category, the request within their own radius; the customer never) and ranked
(``domain.ranking``). Dispatch (``domain.dispatch``) decides whom to offer it to.

The dispatch settings come from the environment, read once per container:

========================================  ========  ===========================================
variable                                  default   meaning
========================================  ========  ===========================================
``SUMMON_OFFER_TTL_SECONDS``              60        an instant offer's life
``SUMMON_REQUEST_TTL_SECONDS``            900       an instant request's life if nobody takes it
``SUMMON_QUOTE_REQUEST_TTL_SECONDS``      86400     how long a quote request takes quotes
``SUMMON_OFFERS_AT_ONCE``                 3         live offers per instant request
``SUMMON_QUOTE_INVITATIONS``              10        providers invited to quote
========================================  ========  ===========================================
"""

from __future__ import annotations

import os
from collections.abc import Collection
from datetime import timedelta

from chalicelib import runtime
from chalicelib.domain import dispatch, ranking
from chalicelib.store import marketplace as store

OFFER_TTL_SECONDS = "SUMMON_OFFER_TTL_SECONDS"
REQUEST_TTL_SECONDS = "SUMMON_REQUEST_TTL_SECONDS"
QUOTE_REQUEST_TTL_SECONDS = "SUMMON_QUOTE_REQUEST_TTL_SECONDS"
OFFERS_AT_ONCE = "SUMMON_OFFERS_AT_ONCE"
QUOTE_INVITATIONS = "SUMMON_QUOTE_INVITATIONS"


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _seconds(name: str, default: timedelta) -> timedelta:
    return timedelta(seconds=_positive(name, int(default.total_seconds())))


def market_settings() -> dispatch.Settings:
    """The dispatch settings of this deployment (read once per runtime); ``ValueError``
    naming a bad variable."""
    return runtime.get().memo("market_settings", _read_settings)


def _read_settings() -> dispatch.Settings:
    return dispatch.Settings(
        offer_ttl=_seconds(OFFER_TTL_SECONDS, dispatch.OFFER_TTL),
        instant_request_ttl=_seconds(REQUEST_TTL_SECONDS, dispatch.INSTANT_REQUEST_TTL),
        quote_request_ttl=_seconds(QUOTE_REQUEST_TTL_SECONDS, dispatch.QUOTE_REQUEST_TTL),
        offers_at_once=_positive(OFFERS_AT_ONCE, dispatch.OFFERS_AT_ONCE),
        quote_invitations=_positive(QUOTE_INVITATIONS, dispatch.QUOTE_INVITATIONS),
    )


def find_candidates(
    lat: float, lng: float, category: str, exclude: Collection[str] = (), *, k: int
) -> list[ranking.Ranked]:
    """The ``k`` best eligible providers for a request there, best first (exactly the top
    ``k`` of all of them). 2 Queries in a sparse area (1-4); in a crowded one 2 more
    per ring of the fine index (a ring's Queries run in parallel)."""
    return ranking.best_nearby(lat, lng, category, k, store.online_providers_in, exclude)
