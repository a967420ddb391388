"""Requests, offers, quotes, jobs, reviews and the notification feed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from chalicelib.domain.dispatch import Mode
from chalicelib.domain.jobs import Actor, JobState
from chalicelib.domain.market import OfferStatus, QuoteStatus, RequestStatus
from chalicelib.domain.reviews import MAX_RATING, MIN_RATING, REVIEW_TEXT_MAX_CHARS
from chalicelib.ids import ULID_PATTERN
from chalicelib.schemas.common import Location, Model, PageQuery, Strict

DESCRIPTION_MAX_CHARS = 2000
MAX_MEDIA = 10
NOTE_MAX_CHARS = 1000
MAX_ETA_MINUTES = 7 * 24 * 60

RouteTarget = Literal["en_route", "arrived", "in_progress", "completed", "cancelled"]
"""``chalicelib.domain.jobs.ROUTE_TARGETS`` (a unit test holds them equal)."""
Side = Literal["customer", "provider"]
"""The actors who review (``chalicelib.domain.reviews.REVIEWING_SIDES``)."""


# --- requests ---------------------------------------------------------------------------------


class TimeWindow(Strict):
    """When the customer wants the work done (absent: now)."""

    start: AwareDatetime = Field(description="ISO 8601 with a timezone, e.g. 2026-05-01T09:00Z")
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RequestIn(Strict):
    category: str = Field(min_length=1, max_length=64, description="A category id")
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX_CHARS)
    location: Location
    mode: Mode = Field(description="instant: offers to the nearest providers; quote: quotes")
    window: TimeWindow | None = None
    media_ids: list[str] = Field(default_factory=list, max_length=MAX_MEDIA)

    @field_validator("media_ids")
    @classmethod
    def _media(cls, value: list[str]) -> list[str]:
        import re

        bad = [m for m in value if not re.match(ULID_PATTERN, m)]
        if bad:
            raise ValueError(f"not media ids: {', '.join(bad[:3])}")
        if len(set(value)) != len(value):
            raise ValueError("media ids must be unique")
        return value


class RequestsQuery(PageQuery):
    role: Literal["customer", "provider"] | None = Field(
        default=None,
        description="customer: requests I made; provider: requests offered to me "
        "(default: customer if I am one)",
    )


class MyOffer(Model):
    id: str
    status: OfferStatus
    expires_at: str
    quote_id: str | None = None


class RequestOut(Model):
    """A request as its customer sees it, or (``my_offer`` set) as an offered provider does:
    then ``location`` is approximate (about 1 km) and ``address`` hidden until the job is
    theirs."""

    id: str
    customer_id: str
    category: str
    description: str
    location: Location
    mode: Mode
    window: TimeWindow | None = None
    media_ids: list[str]
    status: RequestStatus
    status_reason: str | None = None
    created_at: str
    updated_at: str | None = None
    expires_at: str
    job_id: str | None = None
    offers_pending: int | None = Field(default=None, description="Customer view only")
    offers_sent: int | None = Field(default=None, description="Customer view only")
    quotes: int | None = Field(default=None, description="Customer view only")
    distance_km: float | None = Field(default=None, description="Provider view only")
    my_offer: MyOffer | None = Field(default=None, description="Provider view only")


class CancelIn(Strict):
    """Why the customer cancels (optional; shown in the request's ``status_reason``)."""

    reason: str | None = Field(default=None, max_length=500)


# --- offers -----------------------------------------------------------------------------------


class OfferOut(Model):
    id: str
    request_id: str
    mode: Mode
    status: OfferStatus
    status_reason: str | None = None
    created_at: str
    expires_at: str
    category: str
    description: str
    approx_location: Location = Field(description="The request's location to about 1 km")
    distance_km: float
    window: TimeWindow | None = None
    quote_id: str | None = None
    job_id: str | None = None


# --- quotes -----------------------------------------------------------------------------------


class Money(Strict):
    amount: Decimal = Field(gt=0, le=1_000_000, max_digits=9, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")


class MoneyIn(Money):
    """``Money`` as a request takes it (a number or a decimal string). Its own class, so the
    OpenAPI document names the input and output schemas apart (``MoneyIn``, ``Money``):
    client generators that name classes by title otherwise drop operations."""


class QuoteIn(Strict):
    price: MoneyIn
    eta_minutes: StrictInt = Field(ge=1, le=MAX_ETA_MINUTES, description="Minutes until arrival")
    note: str = Field(default="", max_length=NOTE_MAX_CHARS)


class QuoteOut(Model):
    id: str
    request_id: str
    provider_id: str
    price: Money
    eta_minutes: int
    note: str
    status: QuoteStatus
    conversation_id: str
    created_at: str
    job_id: str | None = None


# --- jobs -----------------------------------------------------------------------------------


class TransitionIn(Strict):
    to: RouteTarget


class Transition(Model):
    """One step of a job's history: ``{"from", "to", "by", "at"}``."""

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    from_: JobState = Field(alias="from")
    to: JobState
    by: Actor
    at: str


class ReviewState(Model):
    customer_reviewed: bool
    provider_reviewed: bool
    published_at: str | None = None
    window_closes_at: str | None = None


class JobOut(Model):
    id: str
    request_id: str
    customer_id: str
    provider_id: str
    mode: Mode
    category: str
    description: str
    location: Location
    window: TimeWindow | None = None
    media_ids: list[str]
    state: JobState
    conversation_id: str
    offer_id: str | None = None
    quote_id: str | None = None
    price: Money | None = None
    created_at: str
    updated_at: str | None = None
    completed_at: str | None = None
    history: list[Transition]
    reviews: ReviewState
    next: list[RouteTarget] = Field(
        description="The transitions the caller may take now (POST /jobs/{id}/transitions)"
    )


class JobEvent(Model):
    """What ``job.updated`` carries (live and in the feed): who, which state, the step that
    led there. The job's text, place, photos and whole history are at ``GET /jobs/{id}``;
    this stays a few hundred bytes however long the description or the history grows."""

    id: str
    request_id: str
    customer_id: str
    provider_id: str
    conversation_id: str
    state: JobState
    transition: Transition | None = Field(
        default=None, description="The step that led to this state (none for a new job)"
    )
    price: Money | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    reviews: ReviewState


# --- reviews --------------------------------------------------------------------------------


class ReviewIn(Strict):
    rating: StrictInt = Field(ge=MIN_RATING, le=MAX_RATING)
    text: str = Field(default="", max_length=REVIEW_TEXT_MAX_CHARS)


class ReviewOut(Model):
    id: str
    job_id: str
    author_role: Side
    rating: int
    text: str
    created_at: str
    published_at: str | None = Field(
        default=None,
        description="Reviews stay hidden until both sides reviewed or the window closed",
    )


# --- feed -----------------------------------------------------------------------------------


class NotificationOut(Model):
    id: str
    type: str
    at: str
    data: dict[str, Any]
