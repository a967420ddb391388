"""The job aggregate: what a request becomes once a provider has it, walked through the
lifecycle of :mod:`chalicelib.domain.jobs` by its two participants, and reviewed by both
(rules: :mod:`chalicelib.domain.reviews`).

Methods check the rules, change the job and raise ``Conflict`` (409) saying why a change
is not allowed; the reviews a change creates or publishes are in :attr:`Job.new_review`
and :attr:`Job.published`. No I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib import ids
from chalicelib.domain import reviews as rules
from chalicelib.domain.jobs import Actor, JobState, check_transition
from chalicelib.domain.market import Brief, Quote

if TYPE_CHECKING:
    from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict


@dataclass
class Review:
    """One side's review of a job; public once ``published_at`` is set."""

    id: str
    job_id: str
    side: Actor
    author_id: str
    subject_id: str
    rating: int
    text: str | None
    created_at: datetime
    published_at: datetime | None = None


@dataclass(frozen=True)
class JobChanged:
    """``job.updated`` to both participants (``actor``: who caused it, not pushed to)."""

    job: Job
    actor: str | None = None


@dataclass
class Job(Brief):
    """A request a provider has, from acceptance to completion and its reviews."""

    id: str
    request_id: str
    provider_id: str
    state: JobState
    conversation_id: str
    created_at: datetime
    offer_id: str | None = None
    quote_id: str | None = None
    price: tuple[str, str] | None = None
    """(amount, currency) of the accepted quote."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Every transition taken: ``{"from", "to", "by", "at"}``."""
    completed_at: datetime | None = None
    customer_review: dict[str, Any] | None = None
    """``{"rating", "at"}`` once the customer reviewed."""
    provider_review: dict[str, Any] | None = None
    reviews_published_at: datetime | None = None
    due_at: datetime | None = None
    version: int = 0
    updated_at: datetime | None = None
    new_review: Review | None = None
    published: list[tuple[Actor, datetime]] = field(default_factory=list)
    """Sides whose review this change publishes, and when."""
    events: list[JobChanged] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        request: ServiceRequest,
        provider_id: str,
        by: Actor,
        actor_id: str,
        now: datetime,
        conversation_id: str,
        quote: Quote | None = None,
    ) -> Job:
        """The job a request becomes when ``by`` accepts (``quote``: the one chosen):
        ``scheduled`` when the request names a later time window, else ``accepted``."""
        later = request.window is not None and request.window[0] > now
        state = JobState.SCHEDULED if later else JobState.ACCEPTED
        check_transition(JobState.OFFERED, state, by)
        job = cls(
            id=ids.new_id(),
            request_id=request.id,
            provider_id=provider_id,
            state=state,
            conversation_id=conversation_id,
            created_at=now,
            offer_id=request.id,
            quote_id=quote.id if quote else None,
            price=(str(quote.amount), quote.currency) if quote else None,
            history=[_step(JobState.OFFERED, state, by, now)],
            **{f.name: copy.copy(getattr(request, f.name)) for f in fields(Brief)},
        )
        job.events.append(JobChanged(job, actor_id))
        return job

    def actor_of(self, user_id: str) -> Actor | None:
        if user_id == self.customer_id:
            return Actor.CUSTOMER
        if user_id == self.provider_id:
            return Actor.PROVIDER
        return None

    def move(self, to: JobState, by: Actor, now: datetime, actor_id: str | None = None) -> None:
        """Take one transition (``IllegalTransition``, a 409 saying why, if not allowed).
        Completing arms the review-window timer."""
        check_transition(self.state, to, by)
        self.history = [*self.history, _step(self.state, to, by, now)]
        self.state = to
        if to == JobState.COMPLETED:
            self.completed_at = now
            self.due_at = rules.window_closes_at(now)
        self.events.append(JobChanged(self, actor_id))

    def review(self, side: Actor, author_id: str, rating: int, text: str, now: datetime) -> Review:
        """``side`` reviews the job (once, after completion, within the window). When the
        other side has reviewed already, both reviews are published now."""
        rating = rules.validate_rating(rating)
        text = rules.validate_review_text(text)
        rules.check_can_review(
            side=side,
            job_state=self.state,
            completed_at=self.completed_at,
            now=now,
            already_reviewed=self.review_by(side) is not None,
        )
        if self.reviews_published_at:
            raise Conflict("The reviews of this job are already published: it takes no more.")
        review = Review(
            id=ids.new_id(),
            job_id=self.id,
            side=side,
            author_id=author_id,
            subject_id=self.subject_of(side),
            rating=rating,
            text=text or None,
            created_at=now,
        )
        given = {"rating": rating, "at": ids.iso(now)}
        if side == Actor.CUSTOMER:
            self.customer_review = given
        else:
            self.provider_review = given
        self.new_review = review
        other = Actor.PROVIDER if side == Actor.CUSTOMER else Actor.CUSTOMER
        if self.review_by(other) is not None:
            self._publish([side, other], now)
            review.published_at = now
        self.events.append(JobChanged(self, author_id))
        return review

    def on_timer(self, now: datetime) -> bool:
        """The review window closed: publish whatever reviews the job got. Returns whether
        anything a user sees changed (a stale timer is only disarmed)."""
        if self.reviews_published_at or self.state != JobState.COMPLETED or not self.completed_at:
            self.due_at = None
            return False
        closes = rules.window_closes_at(self.completed_at)
        if now < closes:
            return False
        sides = [s for s in (Actor.CUSTOMER, Actor.PROVIDER) if self.review_by(s) is not None]
        self._publish(sides, closes)
        self.events.append(JobChanged(self))
        return True

    def review_by(self, side: Actor) -> dict[str, Any] | None:
        return self.customer_review if side == Actor.CUSTOMER else self.provider_review

    def subject_of(self, side: Actor) -> str:
        """The user ``side``'s review is about."""
        return self.provider_id if rules.reviewee(side) == Actor.PROVIDER else self.customer_id

    def _publish(self, sides: Sequence[Actor], at: datetime) -> None:
        self.published = [(side, at) for side in sides]
        self.reviews_published_at = at
        self.due_at = None


def _step(source: str, target: str, by: Actor, now: datetime) -> dict[str, Any]:
    return {"from": str(source), "to": str(target), "by": by.value, "at": ids.iso(now)}
