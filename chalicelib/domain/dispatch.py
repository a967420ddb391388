"""Dispatch policy for instant mode (and the clocks of quote mode), as pure functions.

* A new instant request is offered to the top :data:`OFFERS_AT_ONCE` (3) ranked candidates
  at once.
* Each offer lives :data:`OFFER_TTL` (60 s). When offers expire or are declined, the
  scheduled handler tops the live offers back up to 3 with the next candidates in rank
  order who have never been offered this request (re-dispatch).
* The request expires :data:`INSTANT_REQUEST_TTL` (15 min) after creation, or as soon as
  nobody holds a live offer and no candidate is left -- whichever comes first.
* Quote mode invites the top :data:`QUOTE_INVITATIONS` (10) candidates once; the request
  stays open for quotes for :data:`QUOTE_REQUEST_TTL` (24 h).

:func:`plan_dispatch` is the one decision both the create path and the timer take.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

OFFERS_AT_ONCE = 3
OFFER_TTL = timedelta(seconds=60)
INSTANT_REQUEST_TTL = timedelta(minutes=15)
QUOTE_REQUEST_TTL = timedelta(hours=24)
QUOTE_INVITATIONS = 10


class Mode(StrEnum):
    INSTANT = "instant"
    QUOTE = "quote"


@dataclass(frozen=True)
class Settings:
    """The dispatch clocks and counts of a deployment (defaults: the policy above)."""

    offer_ttl: timedelta = OFFER_TTL
    instant_request_ttl: timedelta = INSTANT_REQUEST_TTL
    quote_request_ttl: timedelta = QUOTE_REQUEST_TTL
    offers_at_once: int = OFFERS_AT_ONCE
    quote_invitations: int = QUOTE_INVITATIONS

    def request_ttl(self, mode: str) -> timedelta:
        return self.instant_request_ttl if mode == Mode.INSTANT else self.quote_request_ttl


def next_candidates(
    ranked: Sequence[str], already_offered: Collection[str], k: int = OFFERS_AT_ONCE
) -> list[str]:
    """The next ``k`` provider ids in rank order that have never had an offer for this
    request (whatever became of it: pending, declined, expired or withdrawn)."""
    out: list[str] = []
    for provider_id in ranked:
        if len(out) >= k:
            break
        if provider_id not in already_offered and provider_id not in out:
            out.append(provider_id)
    return out


@dataclass(frozen=True)
class DispatchPlan:
    """What to do with an open instant request now: send ``offer_to`` (possibly none), or
    expire the request (then withdraw its live offers and tell the customer)."""

    offer_to: tuple[str, ...]
    expire_request: bool
    reason: str


def plan_dispatch(
    *,
    now: datetime,
    expires_at: datetime,
    live_offers: int,
    ranked: Sequence[str],
    already_offered: Collection[str],
    k: int = OFFERS_AT_ONCE,
) -> DispatchPlan:
    """Decide the next step for an open instant request.

    ``live_offers`` counts pending, unexpired offers; ``ranked`` is the current ranked
    candidate ids; ``already_offered`` every provider who ever had an offer for it.
    """
    if now >= expires_at:
        return DispatchPlan((), True, "the request's time is up")
    fresh = next_candidates(ranked, already_offered, max(0, k - live_offers))
    if not fresh and live_offers == 0:
        return DispatchPlan((), True, "every candidate has been offered and none accepted")
    return DispatchPlan(tuple(fresh), False, "offering" if fresh else "waiting for answers")
