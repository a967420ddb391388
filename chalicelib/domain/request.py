"""The service request aggregate: a request with its offers, quotes, status and timer.

Every change to a request, its offers or its quotes is a method of :class:`ServiceRequest`.
Each method checks the status machines (:mod:`chalicelib.domain.market`), changes the
state, and appends the events it causes to :attr:`ServiceRequest.events`; it raises
``Conflict`` (409) saying why when the change is not allowed now. No I/O: the store loads
and saves the aggregate, and its ``version`` makes concurrent decisions exclusive. All
datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain import dispatch
from chalicelib.domain.dispatch import Mode
from chalicelib.domain.job import Job
from chalicelib.domain.jobs import Actor, JobState
from chalicelib.domain.market import (
    NOBODY_NEARBY,
    OFFER_MACHINE,
    QUOTE_MACHINE,
    REMOVED,
    REQUEST_MACHINE,
    Brief,
    Event,
    Offer,
    OfferListing,
    OffersClosed,
    OffersMade,
    OfferStatus,
    Quote,
    QuoteStatus,
    QuoteSubmitted,
    RequestChanged,
    RequestStatus,
    approx,
    iso,
    offer_refused,
)
from chalicelib.domain.ranking import Ranked
from chalicelib.errors import Conflict, NotFound

# --- the aggregate --------------------------------------------------------------------------


@dataclass
class ServiceRequest(Brief):
    """A customer's request for a service and everything that hangs off it until it ends."""

    id: str
    status: RequestStatus
    expires_at: datetime
    created_at: datetime
    status_reason: str | None = None
    job_id: str | None = None
    offers: dict[str, Offer] = field(default_factory=dict)
    quotes: dict[str, str] = field(default_factory=dict)
    """provider id -> quote id (one quote per provider)."""
    due_at: datetime | None = None
    version: int = 0
    updated_at: datetime | None = None
    events: list[Event] = field(default_factory=list)
    new_quote: Quote | None = None
    """The quote :meth:`submit_quote` created (the store creates it with the request)."""
    job: Job | None = None
    """The job :meth:`accept_offer` / :meth:`accept_quote` created, or the matched job
    :meth:`cancel` cancelled (saved with the request, its events first)."""
    quote_status: dict[str, QuoteStatus] = field(default_factory=dict)
    """Quotes this change moved on from pending (quote id -> status)."""

    # --- reading -------------------------------------------------------------------------

    def pending(self) -> dict[str, Offer]:
        return {p: o for p, o in self.offers.items() if o.status == OfferStatus.PENDING}

    def next_due(self) -> datetime:
        """When an open request must be looked at next: its earliest pending instant
        offer's expiry, or its own."""
        moments = [self.expires_at]
        if self.mode == Mode.INSTANT:
            moments += [o.expires_at for o in self.pending().values()]
        return min(moments)

    def listing(self, provider_id: str, created_at: datetime) -> OfferListing:
        """``provider_id``'s offer of this request, as the provider lists it."""
        offer = self.offers[provider_id]
        accepted = offer.status == OfferStatus.ACCEPTED
        return OfferListing(
            request_id=self.id,
            provider_id=provider_id,
            customer_id=self.customer_id,
            mode=self.mode,
            status=offer.status,
            reason=offer.reason,
            expires_at=offer.expires_at,
            distance_km=offer.distance_km,
            category=self.category,
            description=self.description,
            approx_lat=approx(self.lat),
            approx_lng=approx(self.lng),
            window=self.window,
            quote_id=self.quotes.get(provider_id),
            job_id=self.job_id if accepted else None,
            created_at=created_at,
        )

    def visible_to(self, user_id: str) -> bool:
        return user_id == self.customer_id or user_id in self.offers

    def why_not_open(self) -> Conflict:
        reasons = {
            RequestStatus.MATCHED: "another provider already took this request",
            RequestStatus.EXPIRED: "the request has expired",
            RequestStatus.CANCELLED: "the customer cancelled the request",
        }
        return Conflict(reasons.get(self.status, f"the request is {self.status}"))

    # --- creating and offering ----------------------------------------------------------

    def dispatch_first(
        self, ranked: Sequence[Ranked], now: datetime, settings: dispatch.Settings
    ) -> None:
        """A new request's first offers (instant: the top ``offers_at_once``; quote: the
        top ``quote_invitations``), or its expiry when nobody is near."""
        order = [c.provider_id for c in ranked]
        if self.mode == Mode.INSTANT:
            plan = dispatch.plan_dispatch(
                now=now,
                expires_at=self.expires_at,
                live_offers=0,
                ranked=order,
                already_offered=(),
                k=settings.offers_at_once,
            )
            chosen = list(plan.offer_to)
        else:
            chosen = dispatch.next_candidates(order, (), settings.quote_invitations)
        by_id = {c.provider_id: c for c in ranked}
        made = self._offer([by_id[p] for p in chosen], now, settings)
        if made:
            self.due_at = self.next_due()
            self.events.append(OffersMade(made))
        else:
            self._end(RequestStatus.EXPIRED, NOBODY_NEARBY)
        self.events.append(RequestChanged(actor=self.customer_id))

    def _offer(
        self, chosen: Iterable[Ranked], now: datetime, settings: dispatch.Settings
    ) -> tuple[str, ...]:
        expires = now + settings.offer_ttl if self.mode == Mode.INSTANT else self.expires_at
        made = []
        for candidate in chosen:
            self.offers[candidate.provider_id] = Offer(
                candidate.provider_id,
                OfferStatus.PENDING,
                expires,
                round(candidate.candidate.distance_km, 2),
                created_at=now,
            )
            made.append(candidate.provider_id)
        return tuple(made)

    def _close_offers(
        self, status: OfferStatus, reason: str, only: Iterable[str] | None = None
    ) -> tuple[str, ...]:
        """Move the pending offers (or those of ``only``) to ``status``."""
        wanted = set(only) if only is not None else None
        moved = []
        for pid, offer in self.offers.items():
            if offer.status != OfferStatus.PENDING or (wanted is not None and pid not in wanted):
                continue
            OFFER_MACHINE.check(offer.status, status)
            offer.status, offer.reason = status, reason
            moved.append(pid)
        return tuple(moved)

    def _decline_quotes(self) -> None:
        """Decline every quote this change has not moved on already (the accepted one)."""
        for quote_id in self.quotes.values():
            if quote_id not in self.quote_status:
                self.quote_status[quote_id] = QuoteStatus.DECLINED

    def _end(self, status: RequestStatus, reason: str | None) -> None:
        REQUEST_MACHINE.check(self.status, status)
        self.status, self.status_reason, self.due_at = status, reason, None

    # --- the provider's answers -----------------------------------------------------------

    def offer_of(self, provider_id: str) -> Offer:
        offer = self.offers.get(provider_id)
        if offer is None:
            raise NotFound(f"No request {self.id} of yours.")
        return offer

    def accept_offer(self, provider_id: str, now: datetime, conversation_id: str) -> Job:
        """Instant mode: the provider takes the request (first accept wins). The request
        is matched, the other offers withdrawn, and a job starts (:attr:`job`)."""
        offer = self.offer_of(provider_id)
        if self.mode == Mode.QUOTE:
            raise Conflict(
                f"Request {self.id} takes quotes: send one with POST /requests/{self.id}/quotes."
            )
        if offer.status != OfferStatus.PENDING:
            raise offer_refused(offer)
        if self.status != RequestStatus.OPEN:
            raise self.why_not_open()
        if offer.expires_at <= now:
            raise Conflict(f"This offer expired at {iso(offer.expires_at)}.")
        job = Job.start(self, provider_id, Actor.PROVIDER, provider_id, now, conversation_id)
        offer.status = OfferStatus.ACCEPTED
        self._match(job, "another provider took the request", "taken", None)
        return job

    def decline_offer(self, provider_id: str, now: datetime) -> Offer:
        """The provider says no; an instant request is offered to the next candidate at
        the next sweep (its timer is set to ``now``)."""
        offer = self.offer_of(provider_id)
        if offer.status != OfferStatus.PENDING:
            raise offer_refused(offer)
        if provider_id in self.quotes:
            raise Conflict("You have quoted on this request: the customer decides now.")
        if self.status != RequestStatus.OPEN:
            raise self.why_not_open()
        self._close_offers(OfferStatus.DECLINED, "declined by the provider", only=[provider_id])
        if self.mode == Mode.INSTANT:
            self.due_at = now
        self.events.append(RequestChanged())
        return offer

    def submit_quote(self, quote: Quote) -> None:
        """An invited provider quotes (once per request)."""
        invitation = self.offer_of(quote.provider_id)
        if self.mode != Mode.QUOTE:
            raise Conflict(
                "This request is instant: accept its offer (POST /offers/{id}/accept) instead "
                "of quoting."
            )
        if self.status != RequestStatus.OPEN:
            raise self.why_not_open()
        if quote.provider_id in self.quotes:
            mine = self.quotes[quote.provider_id]
            raise Conflict(f"You already quoted on this request (quote {mine}).")
        if invitation.status != OfferStatus.PENDING:
            raise Conflict(f"Your invitation to quote is {invitation.status}.")
        self.quotes[quote.provider_id] = quote.id
        self.new_quote = quote
        self.events.append(QuoteSubmitted(quote))

    def accept_quote(self, quote: Quote, now: datetime) -> Job:
        """The customer chooses ``quote``: it becomes the job (keeping its conversation),
        the other quotes are declined and the other invitations withdrawn."""
        if self.status != RequestStatus.OPEN:
            raise Conflict(
                "You already chose a quote for this request."
                if self.status == RequestStatus.MATCHED
                else f"The request is {self.status}."
            )
        invitation = self.offers.get(quote.provider_id)
        if invitation is None or self.quotes.get(quote.provider_id) != quote.id:
            raise self.why_not_open()
        QUOTE_MACHINE.check(quote.status, QuoteStatus.ACCEPTED)
        customer, conversation = self.customer_id, quote.conversation_id
        job = Job.start(self, quote.provider_id, Actor.CUSTOMER, customer, now, conversation, quote)
        invitation.status = OfferStatus.ACCEPTED
        self.quote_status[quote.id] = QuoteStatus.ACCEPTED
        self._decline_quotes()
        self._match(job, "the customer chose another quote", "another_quote", self.customer_id)
        return job

    def _match(self, job: Job, reason: str, code: str, actor: str | None) -> None:
        others = self._close_offers(OfferStatus.WITHDRAWN, reason)
        self._end(RequestStatus.MATCHED, None)
        self.job_id, self.job = job.id, job
        if others:
            self.events.append(OffersClosed(others, OfferStatus.WITHDRAWN, code))
        self.events.append(RequestChanged(actor=actor))

    # --- the customer's cancel ----------------------------------------------------------------

    def cancel(self, reason: str | None, now: datetime, job: Job | None = None) -> None:
        """The customer cancels: an open request withdraws its offers and declines its
        quotes; a matched one cancels its ``job`` too while the customer still may."""
        REQUEST_MACHINE.check(self.status, RequestStatus.CANCELLED)
        withdrawn: tuple[str, ...] = ()
        if self.status == RequestStatus.OPEN:
            withdrawn = self._close_offers(
                OfferStatus.WITHDRAWN, "the customer cancelled the request"
            )
            self._decline_quotes()
        elif job is not None:
            job.move(JobState.CANCELLED, Actor.CUSTOMER, now, actor_id=self.customer_id)
            self.job = job
        note = f"cancelled by the customer: {reason}" if reason else "cancelled by the customer"
        self._end(RequestStatus.CANCELLED, note)
        if withdrawn:
            self.events.append(OffersClosed(withdrawn, OfferStatus.WITHDRAWN, "cancelled"))
        self.events.append(RequestChanged(actor=self.customer_id))

    def remove(self) -> None:
        """An operator removed the request (a report upheld): its text is gone for everyone,
        and an open one ends with its offers withdrawn."""
        self.description = REMOVED
        if self.status == RequestStatus.OPEN:
            withdrawn = self._close_offers(OfferStatus.WITHDRAWN, "removed by a moderator")
            self._decline_quotes()
            self._end(RequestStatus.CANCELLED, "removed by a moderator")
            if withdrawn:
                self.events.append(OffersClosed(withdrawn, OfferStatus.WITHDRAWN, "removed"))
        self.events.append(RequestChanged())

    def drop_provider(self, provider_id: str, now: datetime) -> bool:
        """The provider's account is being deleted: on an open request, their pending
        offer is withdrawn and their quote too (the customer is told); an instant request
        goes to the next candidate at the next sweep. Whether anything changed."""
        offer = self.offers.get(provider_id)
        if self.status != RequestStatus.OPEN or offer is None:
            return False
        closed = self._close_offers(OfferStatus.WITHDRAWN, "account deleted", [provider_id])
        quote_id = self.quotes.get(provider_id)
        if quote_id is not None and quote_id not in self.quote_status:
            self.quote_status[quote_id] = QuoteStatus.WITHDRAWN
        if not closed and quote_id is None:
            return False
        if self.mode == Mode.INSTANT:
            self.due_at = now
        self.events.append(RequestChanged())
        return True

    def cancel_with_job(self, by: Actor) -> None:
        """Its job was cancelled (``POST /jobs/{id}/transitions``): the request ends too."""
        if self.status != RequestStatus.CANCELLED:
            self._end(RequestStatus.CANCELLED, f"the job was cancelled by the {by.value}")

    # --- the timer --------------------------------------------------------------------------

    def wants_candidates(self, now: datetime, settings: dispatch.Settings) -> bool:
        """Whether :meth:`on_timer` needs a fresh ranking (an instant request short of
        live offers before its expiry)."""
        live = sum(1 for o in self.pending().values() if o.expires_at > now)
        return (
            self.status == RequestStatus.OPEN
            and (self.due_at is None or self.due_at <= now)
            and self.mode == Mode.INSTANT
            and now < self.expires_at
            and live < settings.offers_at_once
        )

    def on_timer(
        self, now: datetime, ranked: Sequence[Ranked], settings: dispatch.Settings
    ) -> bool:
        """The request's timer fired: expire unanswered instant offers, top the live offers
        up from ``ranked``, or expire the request (time up, or nobody left to ask).
        Returns whether anything a user sees changed (False: nothing to save but a
        disarmed or lagging timer)."""
        if self.status != RequestStatus.OPEN:
            self.due_at = None
            return False
        if self.due_at is not None and self.due_at > now:
            return False  # the index lags behind a re-armed timer
        timed_out: tuple[str, ...] = ()
        made: tuple[str, ...] = ()
        if self.mode == Mode.INSTANT:
            late = [p for p, o in self.pending().items() if o.expires_at <= now]
            timed_out = self._close_offers(OfferStatus.EXPIRED, "nobody answered in time", late)
            plan = dispatch.plan_dispatch(
                now=now,
                expires_at=self.expires_at,
                live_offers=len(self.pending()),
                ranked=[c.provider_id for c in ranked],
                already_offered=set(self.offers),
                k=settings.offers_at_once,
            )
            expire, why = plan.expire_request, plan.reason
            if not expire:
                by_id = {c.provider_id: c for c in ranked}
                made = self._offer([by_id[p] for p in plan.offer_to], now, settings)
        else:
            expire, why = now >= self.expires_at, "the time for quotes is up"
        withdrawn: tuple[str, ...] = ()
        if expire:
            withdrawn = self._close_offers(OfferStatus.EXPIRED, f"the request expired: {why}")
            self._decline_quotes()
            self._end(RequestStatus.EXPIRED, why)
        else:
            self.due_at = self.next_due()
        if timed_out:
            self.events.append(OffersClosed(timed_out, OfferStatus.EXPIRED, "expired"))
        if withdrawn:
            self.events.append(OffersClosed(withdrawn, OfferStatus.EXPIRED, "request_expired"))
        if made:
            self.events.append(OffersMade(made))
        changed = bool(timed_out or made or expire)
        if changed:
            self.events.append(RequestChanged())
        return changed
