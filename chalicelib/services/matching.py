"""Matching: who may take a request, best first (docs/marketplace.md, "Matching").

The geo index is read for the 20 km around the request (``domain.geo``: 2 Queries, at most
4), the providers filtered (online, the category, the request within their own radius; the
customer never) and ranked (``domain.ranking``). Dispatch (``domain.dispatch``) decides
whom to offer it to.

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
from chalicelib.domain import dispatch, geo, ranking
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
    lat: float, lng: float, category: str, exclude: Collection[str] = ()
) -> list[ranking.Ranked]:
    """Every eligible provider for a request there, best first. 1 Query per index range
    (2; 1-4), in parallel."""
    providers = store.online_providers_in(geo.ranges_to_query(lat, lng))
    return ranking.rank(ranking.candidates_for(lat, lng, category, providers, exclude=exclude))
