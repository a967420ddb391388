"""The parts of a service request: the status sets and their machines, offers, quotes,
and the events a request's changes cause. No I/O.

Status machines::

    request: open -> matched | expired | cancelled;  matched -> cancelled (with its job)
    offer:   pending -> accepted | declined | expired | withdrawn
    quote:   pending -> accepted | declined | withdrawn
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from chalicelib import ids
from chalicelib.domain.dispatch import Mode
from chalicelib.errors import Conflict


class RequestStatus(StrEnum):
    OPEN = "open"
    MATCHED = "matched"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class OfferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class QuoteStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class StatusMachine:
    """A status field without actors: which status may follow which."""

    name: str
    moves: Mapping[str, frozenset[str]]

    def check(self, current: str, to: str) -> None:
        """Return if ``current -> to`` is allowed; ``Conflict`` saying why otherwise."""
        onward = self.moves.get(current, frozenset())
        if to in onward:
            return
        if not onward:
            raise Conflict(f"the {self.name} is already {current}")
        raise Conflict(
            f"a {self.name} cannot go from {current} to {to}; "
            f"it can go to: {', '.join(sorted(onward))}"
        )


REQUEST_MACHINE = StatusMachine(
    "request",
    MappingProxyType(
        {
            RequestStatus.OPEN: frozenset(
                {RequestStatus.MATCHED, RequestStatus.EXPIRED, RequestStatus.CANCELLED}
            ),
            RequestStatus.MATCHED: frozenset({RequestStatus.CANCELLED}),
        }
    ),
)
OFFER_MACHINE = StatusMachine(
    "offer",
    MappingProxyType({OfferStatus.PENDING: frozenset(OfferStatus) - {OfferStatus.PENDING}}),
)
QUOTE_MACHINE = StatusMachine(
    "quote",
    MappingProxyType({QuoteStatus.PENDING: frozenset(QuoteStatus) - {QuoteStatus.PENDING}}),
)

NOBODY_NEARBY = "no provider is available nearby right now"
REMOVED = "[removed by a moderator]"
"""What stands in for text an operator removed."""
APPROX_DECIMALS = 2
"""Providers see a request's location rounded to 2 decimals (about 1 km) until it is theirs."""


def approx(value: float) -> float:
    return round(float(value), APPROX_DECIMALS)


# --- parts and events -------------------------------------------------------------------


@dataclass
class Brief:
    """What the customer asked for: a request's terms, which its job takes over as they
    are."""

    customer_id: str
    category: str
    description: str
    lat: float
    lng: float
    address: str | None
    mode: Mode
    window: tuple[datetime, datetime] | None
    media_ids: list[str]


@dataclass
class Offer:
    """One provider's offer of the request (instant) or invitation to quote (quote mode).
    A provider has at most one per request, so its id is the request's id."""

    provider_id: str
    status: OfferStatus
    expires_at: datetime
    distance_km: float
    reason: str | None = None
    """Why it left ``pending`` (kept on the provider's listing, not on the request)."""
    created_at: datetime | None = None
    """When it was made (kept on the provider's listing, not on the request)."""


@dataclass
class OfferListing:
    """An offer as its provider lists it: the offer with a summary of its request (the
    location only approximately)."""

    request_id: str
    provider_id: str
    customer_id: str
    mode: Mode
    status: OfferStatus
    reason: str | None
    expires_at: datetime
    distance_km: float
    category: str
    description: str
    approx_lat: float
    approx_lng: float
    window: tuple[datetime, datetime] | None
    quote_id: str | None
    job_id: str | None
    created_at: datetime

    @property
    def id(self) -> str:
        """An offer's id is its request's id (one offer per provider and request)."""
        return self.request_id


@dataclass
class Quote:
    """A provider's price for a quote-mode request. Its id starts with the request's id."""

    id: str
    request_id: str
    provider_id: str
    customer_id: str
    amount: Decimal
    currency: str
    eta_minutes: int
    note: str | None
    conversation_id: str
    status: QuoteStatus = QuoteStatus.PENDING
    job_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class OffersMade:
    """``offer.new`` to each of ``providers``."""

    providers: tuple[str, ...]


@dataclass(frozen=True)
class OffersClosed:
    """``offer.withdrawn`` to each of ``providers``: their offers became ``status``
    (``code``: cancelled, taken, another_quote, expired, request_expired)."""

    providers: tuple[str, ...]
    status: OfferStatus
    code: str


@dataclass(frozen=True)
class RequestChanged:
    """``request.updated`` to the customer (``actor``: the user who caused it, if any)."""

    actor: str | None = None


@dataclass(frozen=True)
class QuoteSubmitted:
    """``quote.new`` to the customer."""

    quote: Quote


Event = OffersMade | OffersClosed | RequestChanged | QuoteSubmitted


_ANSWERED = {
    OfferStatus.DECLINED: "you declined this offer",
    OfferStatus.EXPIRED: "this offer expired before it was answered",
    OfferStatus.WITHDRAWN: "this offer was withdrawn",
}


def offer_refused(offer: Offer) -> Conflict:
    """Why an offer that is no longer pending cannot be answered."""
    why = _ANSWERED.get(offer.status, f"this offer is {offer.status}")
    if offer.reason:
        why = f"{why}: {offer.reason}"
    return Conflict(why[0].upper() + why[1:] + ".")


def iso(moment: datetime) -> str:
    """The API's timestamp form (millisecond precision, ``Z``)."""
    return ids.iso(moment)
