"""What the API shows of the marketplace's domain objects, to whom (the response models of
:mod:`chalicelib.schemas.marketplace`)."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.domain import reviews as review_rules
from chalicelib.domain.job import Job, Review
from chalicelib.domain.jobs import ROUTE_TARGETS, allowed_targets
from chalicelib.domain.market import (
    OfferListing,
    OfferStatus,
    Quote,
    approx,
)
from chalicelib.domain.request import ServiceRequest
from chalicelib.schemas.common import Location
from chalicelib.schemas.marketplace import (
    JobEvent,
    JobOut,
    Money,
    MyOffer,
    OfferOut,
    QuoteOut,
    RequestOut,
    ReviewOut,
    ReviewState,
    TimeWindow,
    Transition,
)


def iso(moment: datetime | None) -> str | None:
    return ids.iso(moment) if moment is not None else None


def window_out(window: tuple[datetime, datetime] | None) -> TimeWindow | None:
    return TimeWindow(start=window[0], end=window[1]) if window else None


def request_out(request: ServiceRequest, viewer: str | None) -> RequestOut:
    """The customer's view (``viewer`` is the customer or None), or an offered provider's:
    the location only approximately and no address until the job is theirs, their offer."""
    base = {
        "id": request.id,
        "customer_id": request.customer_id,
        "category": request.category,
        "description": request.description,
        "mode": request.mode,
        "window": window_out(request.window),
        "media_ids": list(request.media_ids),
        "status": request.status,
        "status_reason": request.status_reason,
        "created_at": ids.iso(request.created_at),
        "updated_at": iso(request.updated_at),
        "expires_at": ids.iso(request.expires_at),
        "job_id": request.job_id,
    }
    exact = Location(lat=request.lat, lng=request.lng, address=request.address)
    mine = request.offers.get(viewer or "") if viewer != request.customer_id else None
    if mine is None:
        return RequestOut.model_validate(
            {
                **base,
                "location": exact,
                "offers_pending": len(request.pending()),
                "offers_sent": len(request.offers),
                "quotes": len(request.quotes),
            }
        )
    won = mine.status == OfferStatus.ACCEPTED
    return RequestOut.model_validate(
        {
            **base,
            "job_id": request.job_id if won else None,
            "location": exact
            if won
            else Location(lat=approx(request.lat), lng=approx(request.lng)),
            "distance_km": mine.distance_km,
            "my_offer": MyOffer(
                id=request.id,
                status=mine.status,
                expires_at=ids.iso(mine.expires_at),
                quote_id=request.quotes.get(viewer or ""),
            ),
        }
    )


def offer_out(offer: OfferListing) -> OfferOut:
    return OfferOut(
        id=offer.id,
        request_id=offer.request_id,
        mode=offer.mode,
        status=offer.status,
        status_reason=offer.reason,
        created_at=ids.iso(offer.created_at),
        expires_at=ids.iso(offer.expires_at),
        category=offer.category,
        description=offer.description,
        approx_location=Location(lat=offer.approx_lat, lng=offer.approx_lng),
        distance_km=offer.distance_km,
        window=window_out(offer.window),
        quote_id=offer.quote_id,
        job_id=offer.job_id,
    )


def quote_out(quote: Quote) -> QuoteOut:
    return QuoteOut(
        id=quote.id,
        request_id=quote.request_id,
        provider_id=quote.provider_id,
        price=Money(amount=quote.amount, currency=quote.currency),
        eta_minutes=quote.eta_minutes,
        note=quote.note or "",
        status=quote.status,
        conversation_id=quote.conversation_id,
        created_at=iso(quote.created_at) or "",
        job_id=quote.job_id,
    )


def job_out(job: Job, viewer: str) -> JobOut:
    actor = job.actor_of(viewer)
    moves = allowed_targets(job.state, actor) if actor else []
    closes = review_rules.window_closes_at(job.completed_at) if job.completed_at else None
    return JobOut(
        id=job.id,
        request_id=job.request_id,
        customer_id=job.customer_id,
        provider_id=job.provider_id,
        mode=job.mode,
        category=job.category,
        description=job.description,
        location=Location(lat=job.lat, lng=job.lng, address=job.address),
        window=window_out(job.window),
        media_ids=list(job.media_ids),
        state=job.state,
        conversation_id=job.conversation_id,
        offer_id=job.offer_id,
        quote_id=job.quote_id,
        price=Money.model_validate({"amount": job.price[0], "currency": job.price[1]})
        if job.price
        else None,
        created_at=ids.iso(job.created_at),
        updated_at=iso(job.updated_at),
        completed_at=iso(job.completed_at),
        history=[Transition.model_validate(h) for h in job.history],
        reviews=ReviewState(
            customer_reviewed=job.customer_review is not None,
            provider_reviewed=job.provider_review is not None,
            published_at=iso(job.reviews_published_at),
            window_closes_at=iso(closes),
        ),
        next=[m for m in moves if m in ROUTE_TARGETS],  # type: ignore[misc]
    )


def job_event(job: Job) -> JobEvent:
    """What ``job.updated`` carries: who, which state, the step that led there (a feed
    entry under 1 KB; the rest is at ``GET /jobs/{id}``)."""
    out = job_out(job, "")
    kept = {name: getattr(out, name) for name in JobEvent.model_fields if name != "transition"}
    return JobEvent(**kept, transition=out.history[-1] if out.history else None)


def review_out(review: Review) -> ReviewOut:
    return ReviewOut(
        id=review.id,
        job_id=review.job_id,
        author_role=review.side.value,  # type: ignore[arg-type]
        rating=review.rating,
        text=review.text or "",
        created_at=ids.iso(review.created_at),
        published_at=iso(review.published_at),
    )
