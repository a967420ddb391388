"""Review rules and rating-summary arithmetic.

* Each side of a job (customer, provider) may review it **once**, only after it is
  ``completed`` and only within :data:`REVIEW_WINDOW` (14 days) of completion.
* A review stays hidden until it is **published**: when both sides have reviewed, or when
  the window closes, whichever comes first (so neither side writes in reaction to the
  other's review). :func:`publication_time` gives that instant; a store can keep it on
  the review and let the scheduled handler publish what is due.
* A rating is an integer 1..5. A rating summary is ``(count, total)``, so publishing a
  review is one atomic ``ADD count 1, total rating`` (:func:`rating_delta`), never a
  read-modify-write; the average is derived (:attr:`RatingSummary.average`).

All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.jobs import Actor, JobState
from chalicelib.errors import Conflict, Forbidden, Invalid

REVIEW_WINDOW = timedelta(days=14)
"""How long after completion each side may review."""

MIN_RATING = 1
MAX_RATING = 5
REVIEW_TEXT_MAX_CHARS = 2000
"""Longest review text accepted."""

REVIEWING_SIDES = frozenset({Actor.CUSTOMER, Actor.PROVIDER})


@dataclass(frozen=True)
class RatingSummary:
    """The rating of one account: number of published reviews and the sum of their
    ratings."""

    count: int = 0
    total: int = 0

    @property
    def average(self) -> float | None:
        """Mean rating, or None before the first review."""
        return self.total / self.count if self.count else None


def validate_rating(value: object) -> int:
    """An integer 1..5 (booleans and 4.5 are refused); ``Invalid`` saying why otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"rating must be a whole number from {MIN_RATING} to {MAX_RATING}")
    if not MIN_RATING <= value <= MAX_RATING:
        raise Invalid(f"rating must be from {MIN_RATING} to {MAX_RATING}, got {value}")
    return value


def validate_review_text(value: object) -> str:
    """Optional free text, stripped, at most :data:`REVIEW_TEXT_MAX_CHARS` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("review text must be a string")
    text = value.strip()
    if len(text) > REVIEW_TEXT_MAX_CHARS:
        raise Invalid(f"review text must be at most {REVIEW_TEXT_MAX_CHARS} characters")
    return text


def reviewee(side: Actor) -> Actor:
    """Whom a side's review is about: the customer reviews the provider and vice versa."""
    if side == Actor.CUSTOMER:
        return Actor.PROVIDER
    if side == Actor.PROVIDER:
        return Actor.CUSTOMER
    raise Forbidden("only the customer or the provider of a job can review it")


def window_closes_at(completed_at: datetime) -> datetime:
    """The last instant at which a review of a job completed at ``completed_at`` is taken."""
    return completed_at + REVIEW_WINDOW


def check_can_review(
    *,
    side: Actor,
    job_state: JobState,
    completed_at: datetime | None,
    now: datetime,
    already_reviewed: bool,
) -> None:
    """Return if ``side`` may review the job now; raise saying why not.

    ``Forbidden`` for the system actor; ``Conflict`` (409) if the job is not completed,
    the review window has closed, or this side has already reviewed the job.
    """
    reviewee(side)
    if job_state != JobState.COMPLETED or completed_at is None:
        raise Conflict(f"a job can be reviewed only once it is completed; it is {job_state}")
    closes = window_closes_at(completed_at)
    if now > closes:
        days = REVIEW_WINDOW.days
        raise Conflict(
            f"the review window closed at {closes.isoformat()} ({days} days after completion)"
        )
    if already_reviewed:
        raise Conflict(f"the {side.value} has already reviewed this job (one review per side)")
