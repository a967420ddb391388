"""Items to domain objects and back (keys, index attributes and stored forms stay here)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from chalicelib import ids
from chalicelib.domain.dispatch import Mode
from chalicelib.domain.job import Job, Review
from chalicelib.domain.jobs import Actor, JobState
from chalicelib.domain.market import (
    Offer,
    OfferListing,
    OfferStatus,
    Quote,
    QuoteStatus,
    RequestStatus,
)
from chalicelib.domain.request import ServiceRequest
from chalicelib.store import keys
from chalicelib.store.marketplace.items import (
    JobItem,
    OfferItem,
    QuoteItem,
    RequestItem,
    ReviewItem,
)


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def at(value: str | None) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.fromtimestamp(0, UTC)


def iso(value: datetime | None) -> str | None:
    return ids.iso(value) if value is not None else None


def _window(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    return (at(start), at(end)) if start and end else None


def set_due(item: RequestItem | JobItem, due: datetime | None, ref: str) -> None:
    """Arm (or disarm) an item's timer in the sparse due index (gsi2)."""
    if due is None:
        item.due_at = item.gsi2pk = item.gsi2sk = None
        return
    moment = ids.iso(due)
    item.due_at = moment
    item.gsi2pk = keys.due(due.astimezone(UTC).date().isoformat())
    item.gsi2sk = keys.due_sort(moment, ref)


# --- requests ---------------------------------------------------------------------------


def request_of(item: RequestItem) -> ServiceRequest:
    offers = {
        pid: Offer(
            provider_id=pid,
            status=OfferStatus(entry["status"]),
            expires_at=at(str(entry["expires_at"])),
            distance_km=float(entry.get("distance_km") or 0.0),
        )
        for pid, entry in (item.offers or {}).items()
    }
    return ServiceRequest(
        id=item.request_id,
        customer_id=item.customer_id,
        category=item.category,
        description=item.description,
        lat=float(item.lat),
        lng=float(item.lng),
        address=item.address,
        mode=Mode(item.mode),
        window=_window(item.window_start, item.window_end),
        media_ids=list(item.media_ids or []),
        status=RequestStatus(item.status),
        status_reason=item.status_reason,
        expires_at=at(item.expires_at),
        created_at=at(item.created_at),
        updated_at=when(item.updated_at),
        job_id=item.job_id,
        offers=offers,
        quotes=dict(item.quotes or {}),
        due_at=when(item.due_at),
        version=int(item.version or 0),
    )


def request_item(request: ServiceRequest) -> RequestItem:
    item = RequestItem(
        keys.request(request.id),
        keys.META,
        request_id=request.id,
        customer_id=request.customer_id,
        category=request.category,
        description=request.description,
        lat=request.lat,
        lng=request.lng,
        address=request.address,
        mode=request.mode.value,
        window_start=iso(request.window[0]) if request.window else None,
        window_end=iso(request.window[1]) if request.window else None,
        media_ids=list(request.media_ids),
        status=request.status.value,
        status_reason=request.status_reason,
        expires_at=ids.iso(request.expires_at),
        job_id=request.job_id,
        offers={
            pid: {
                "id": request.id,
                "status": o.status.value,
                "expires_at": ids.iso(o.expires_at),
                "distance_km": o.distance_km,
            }
            for pid, o in request.offers.items()
        },
        quotes=dict(request.quotes),
        version=request.version,
        gsi1pk=keys.customer_requests(request.customer_id),
        gsi1sk=request.id,
        created_at=ids.iso(request.created_at),
        updated_at=iso(request.updated_at),
    )
    set_due(item, request.due_at if request.status == RequestStatus.OPEN else None, item.pk)
    return item


# --- offers and quotes -------------------------------------------------------------------


def listing_of(item: OfferItem) -> OfferListing:
    return OfferListing(
        request_id=item.request_id,
        provider_id=item.provider_id,
        customer_id=item.customer_id,
        mode=Mode(item.mode),
        status=OfferStatus(item.status),
        reason=item.status_reason,
        expires_at=at(item.expires_at),
        distance_km=float(item.distance_km),
        category=item.category,
        description=item.description,
        approx_lat=float(item.approx_lat),
        approx_lng=float(item.approx_lng),
        window=_window(item.window_start, item.window_end),
        quote_id=item.quote_id,
        job_id=item.job_id,
        created_at=at(item.created_at),
    )


def offer_item(offer: OfferListing) -> OfferItem:
    return OfferItem(
        keys.user(offer.provider_id),
        keys.offer(offer.request_id),
        offer_id=offer.request_id,
        request_id=offer.request_id,
        provider_id=offer.provider_id,
        customer_id=offer.customer_id,
        mode=offer.mode.value,
        status=offer.status.value,
        status_reason=offer.reason,
        expires_at=ids.iso(offer.expires_at),
        distance_km=offer.distance_km,
        category=offer.category,
        description=offer.description,
        approx_lat=offer.approx_lat,
        approx_lng=offer.approx_lng,
        window_start=iso(offer.window[0]) if offer.window else None,
        window_end=iso(offer.window[1]) if offer.window else None,
        gsi1pk=keys.pending_offers(offer.provider_id),
        gsi1sk=offer.request_id,
        created_at=ids.iso(offer.created_at),
        updated_at=ids.iso(offer.created_at),
    )


def quote_of(item: QuoteItem) -> Quote:
    return Quote(
        id=item.quote_id,
        request_id=item.request_id,
        provider_id=item.provider_id,
        customer_id=item.customer_id,
        amount=Decimal(item.amount),
        currency=item.currency,
        eta_minutes=int(item.eta_minutes),
        note=item.note,
        conversation_id=item.conversation_id,
        status=QuoteStatus(item.status),
        job_id=item.job_id,
        created_at=when(item.created_at),
    )


def quote_item(quote: Quote) -> QuoteItem:
    return QuoteItem(
        keys.user(quote.customer_id),
        keys.quote(quote.id),
        quote_id=quote.id,
        request_id=quote.request_id,
        provider_id=quote.provider_id,
        customer_id=quote.customer_id,
        amount=str(quote.amount),
        currency=quote.currency,
        eta_minutes=quote.eta_minutes,
        note=quote.note,
        status=quote.status.value,
        conversation_id=quote.conversation_id,
        job_id=quote.job_id,
        gsi1pk=keys.request_quotes(quote.request_id),
        gsi1sk=quote.id,
        created_at=iso(quote.created_at),
    )


def quote_request_id(quote_id: str) -> str | None:
    """The request id inside a quote id (its first half); None when it is not one."""
    head, tail = quote_id[: len(quote_id) // 2], quote_id[len(quote_id) // 2 :]
    return head if len(quote_id) == 52 and ids.is_id(head) and ids.is_id(tail) else None


# --- jobs and reviews ----------------------------------------------------------------------


def job_of(item: JobItem) -> Job:
    price = item.price or None
    return Job(
        id=item.job_id,
        request_id=item.request_id,
        customer_id=item.customer_id,
        provider_id=item.provider_id,
        mode=Mode(item.mode),
        category=item.category,
        description=item.description,
        lat=float(item.lat),
        lng=float(item.lng),
        address=item.address,
        window=_window(item.window_start, item.window_end),
        media_ids=list(item.media_ids or []),
        state=JobState(item.state),
        conversation_id=item.conversation_id,
        created_at=at(item.created_at),
        offer_id=item.offer_id,
        quote_id=item.quote_id,
        price=(str(price["amount"]), str(price["currency"])) if price else None,
        history=list(item.history or []),
        completed_at=when(item.completed_at),
        customer_review=item.customer_review,
        provider_review=item.provider_review,
        reviews_published_at=when(item.reviews_published_at),
        due_at=when(item.due_at),
        version=int(item.version or 0),
        updated_at=when(item.updated_at),
    )


def job_item(job: Job) -> JobItem:
    item = JobItem(
        keys.job(job.id),
        keys.META,
        job_id=job.id,
        request_id=job.request_id,
        customer_id=job.customer_id,
        provider_id=job.provider_id,
        mode=job.mode.value,
        category=job.category,
        description=job.description,
        lat=job.lat,
        lng=job.lng,
        address=job.address,
        window_start=iso(job.window[0]) if job.window else None,
        window_end=iso(job.window[1]) if job.window else None,
        media_ids=list(job.media_ids),
        state=job.state.value,
        conversation_id=job.conversation_id,
        offer_id=job.offer_id,
        quote_id=job.quote_id,
        price={"amount": job.price[0], "currency": job.price[1]} if job.price else None,
        history=list(job.history),
        completed_at=iso(job.completed_at),
        customer_review=job.customer_review,
        provider_review=job.provider_review,
        reviews_published_at=iso(job.reviews_published_at),
        version=job.version,
        created_at=ids.iso(job.created_at),
        updated_at=iso(job.updated_at),
    )
    set_due(item, job.due_at, item.pk)
    return item


def review_of(item: ReviewItem) -> Review:
    return Review(
        id=item.review_id,
        job_id=item.job_id,
        side=Actor(item.side),
        author_id=item.author_id,
        subject_id=item.subject_id,
        rating=int(item.rating),
        text=item.text,
        created_at=at(item.created_at),
        published_at=when(item.published_at),
    )


def published_index(
    review: Review | None, job: Job, side: Actor, moment: datetime
) -> dict[str, Any]:
    """The attributes that publish ``side``'s review of ``job`` (gsi1: reviews about the
    subject, newest first)."""
    role = Actor.PROVIDER if side == Actor.CUSTOMER else Actor.CUSTOMER
    subject = job.subject_of(side)
    stamp = ids.iso(moment)
    return {
        "published_at": stamp,
        "gsi1pk": keys.reviews_about(role.value, subject),
        "gsi1sk": f"{stamp}#{job.id}",
    }


def review_item(review: Review, job: Job) -> ReviewItem:
    item = ReviewItem(
        keys.job(review.job_id),
        keys.review(review.side.value),
        review_id=review.id,
        job_id=review.job_id,
        side=review.side.value,
        author_id=review.author_id,
        subject_id=review.subject_id,
        rating=review.rating,
        text=review.text,
        created_at=ids.iso(review.created_at),
    )
    if review.published_at is not None:
        for name, value in published_index(review, job, review.side, review.published_at).items():
            setattr(item, name, value)
    return item
