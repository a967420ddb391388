"""Matching: who may take a request, in which order, and the offers that tell them.

1. **Ranges**: :func:`chalicelib.domain.geo.ranges_to_query` gives the longitude ranges of
   the latitude bands (0.36 deg) that hold every point within 20 km of the request: 2
   (1 when the disc sits in one band, 4 where it crosses a 10-deg block border).
2. **Read**: one Query per range on the sparse geo index (``gsi3``, ``GEO#<band>:<block>``,
   sorted by longitude) that ``PUT /me/provider/availability`` maintains: only providers
   online in an 80 x 40 km rectangle around the request are read, so the cost grows with
   the providers *near* the request, never with the total.
3. **Filter** (:func:`chalicelib.domain.ranking.candidates_for`): online, offers the
   category, and the request lies within the provider's own ``radius_km``; the customer is
   never their own candidate.
4. **Rank** (:func:`chalicelib.domain.ranking.rank`):
   ``0.5 * proximity + 0.3 * rating + 0.2 * responsiveness`` (Bayesian-smoothed rating and
   accept ratio; see that module).
5. **Dispatch** (:mod:`chalicelib.domain.dispatch`): instant mode offers the top
   ``offers_at_once`` (3) at once and tops up from the next ranks as offers expire or are
   declined; quote mode invites the top ``quote_invitations`` (10) once.

The clocks are settings (environment variables, read once per container):

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
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from chalicelib import ids
from chalicelib.domain import dispatch, geo, ranking
from chalicelib.domain.reviews import RatingSummary
from chalicelib.store import keys
from chalicelib.store import marketplace as store
from chalicelib.store.models import ProviderItem

OFFER_TTL_SECONDS = "SUMMON_OFFER_TTL_SECONDS"
REQUEST_TTL_SECONDS = "SUMMON_REQUEST_TTL_SECONDS"
QUOTE_REQUEST_TTL_SECONDS = "SUMMON_QUOTE_REQUEST_TTL_SECONDS"
OFFERS_AT_ONCE = "SUMMON_OFFERS_AT_ONCE"
QUOTE_INVITATIONS = "SUMMON_QUOTE_INVITATIONS"

APPROX_DECIMALS = 2
"""Providers see a request's location rounded to 2 decimals (about 1 km) until it is theirs."""


@dataclass(frozen=True)
class MarketSettings:
    offer_ttl: timedelta
    instant_request_ttl: timedelta
    quote_request_ttl: timedelta
    offers_at_once: int
    quote_invitations: int

    def request_ttl(self, mode: str) -> timedelta:
        return self.instant_request_ttl if mode == dispatch.Mode.INSTANT else self.quote_request_ttl


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


@lru_cache(maxsize=1)
def market_settings() -> MarketSettings:
    """Read once per container (tests: ``market_settings.cache_clear()``)."""
    return MarketSettings(
        offer_ttl=timedelta(
            seconds=_positive(OFFER_TTL_SECONDS, int(dispatch.OFFER_TTL.total_seconds()))
        ),
        instant_request_ttl=timedelta(
            seconds=_positive(
                REQUEST_TTL_SECONDS, int(dispatch.INSTANT_REQUEST_TTL.total_seconds())
            )
        ),
        quote_request_ttl=timedelta(
            seconds=_positive(
                QUOTE_REQUEST_TTL_SECONDS, int(dispatch.QUOTE_REQUEST_TTL.total_seconds())
            )
        ),
        offers_at_once=_positive(OFFERS_AT_ONCE, dispatch.OFFERS_AT_ONCE),
        quote_invitations=_positive(QUOTE_INVITATIONS, dispatch.QUOTE_INVITATIONS),
    )


# --- candidates -----------------------------------------------------------------------------


def snapshot(item: ProviderItem) -> ranking.ProviderSnapshot:
    """What ranking needs of a provider item read from the geo index."""
    return ranking.ProviderSnapshot(
        provider_id=item.pk.removeprefix(keys.user("")),
        lat=float(item.lat or 0.0),
        lng=float(item.lng or 0.0),
        radius_km=float(item.radius_km or 0.0),
        online=bool(item.online) and item.lat is not None and item.lng is not None,
        categories=frozenset(item.categories or ()),
        rating=RatingSummary(int(item.rating_count or 0), int(item.rating_sum or 0)),
        responsiveness=ranking.Responsiveness(
            offers_received=int(item.offers_received or 0),
            offers_accepted=int(item.offers_accepted or 0),
        ),
    )


def find_candidates(
    lat: float, lng: float, category: str, exclude: Collection[str] = ()
) -> list[ranking.Ranked]:
    """Every eligible provider for a request, best first.
    1 Query per index range (2; 1-4), in parallel."""
    ranges = geo.ranges_to_query(lat, lng)
    providers = (snapshot(p) for p in store.online_providers_in(ranges))
    return ranking.rank(ranking.candidates_for(lat, lng, category, providers, exclude=exclude))


# --- offers -----------------------------------------------------------------------------------


def approx(value: float) -> float:
    return round(float(value), APPROX_DECIMALS)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def pending(request: store.RequestItem) -> dict[str, dict[str, object]]:
    """The request's pending offers by provider."""
    return {p: o for p, o in (request.offers or {}).items() if o.get("status") == "pending"}


def next_due(request: store.RequestItem) -> datetime:
    """When the sweep must look at an open request next: the earliest pending instant
    offer's expiry, or the request's own expiry."""
    moments = [parse_time(request.expires_at)]
    if request.mode == dispatch.Mode.INSTANT:
        moments += [parse_time(str(o["expires_at"])) for o in pending(request).values()]
    return min(moments)


def make_offers(
    request: store.RequestItem,
    chosen: Iterable[ranking.Ranked],
    now: datetime,
    changes: store.Changes,
) -> list[store.OfferItem]:
    """Offers to ``chosen`` for ``request``: recorded on the request (``offers``), staged as
    new offer items in ``changes`` with the providers' ``offers_received`` counters."""
    settings = market_settings()
    expires = (
        now + settings.offer_ttl
        if request.mode == dispatch.Mode.INSTANT
        else parse_time(request.expires_at)
    )
    offers = dict(request.offers or {})
    made: list[store.OfferItem] = []
    for ranked in chosen:
        pid = ranked.provider_id
        oid = request.request_id  # one offer per provider and request: it bears the request's id
        distance = round(ranked.candidate.distance_km, 2)
        offer = store.OfferItem(
            keys.user(pid),
            keys.offer(oid),
            offer_id=oid,
            request_id=request.request_id,
            provider_id=pid,
            customer_id=request.customer_id,
            mode=request.mode,
            status="pending",
            expires_at=ids.iso(expires),
            distance_km=distance,
            category=request.category,
            description=request.description,
            approx_lat=approx(request.lat),
            approx_lng=approx(request.lng),
            window_start=request.window_start,
            window_end=request.window_end,
            gsi1pk=keys.pending_offers(pid),
            gsi1sk=oid,
            created_at=ids.iso(now),
            updated_at=ids.iso(now),
        )
        offers[pid] = {
            "id": oid,
            "status": "pending",
            "expires_at": offer.expires_at,
            "distance_km": distance,
        }
        changes.save_new(offer)
        changes.count_for_provider(pid, offers_received=1)
        made.append(offer)
    request.offers = offers
    return made
