"""Quote mode: invited providers quote (price, ETA, note) and the customer chooses one; the
chosen quote becomes the job (keeping the quote's conversation), the other quotes are
declined and the other invitations withdrawn, in one transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain import dispatch
from chalicelib.domain.jobs import Actor, OfferStatus, QuoteStatus, RequestStatus
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import JobOut, Money, QuoteIn, QuoteOut
from chalicelib.services import jobs, notifications
from chalicelib.services.requests import (
    close_offers,
    not_open,
    request_out,
    tell_withdrawn,
    visible_request,
)
from chalicelib.store import conversations, keys, pagination
from chalicelib.store import marketplace as store

MAX_ATTEMPTS = jobs.MAX_ATTEMPTS


def quote_out(item: store.QuoteItem) -> QuoteOut:
    return QuoteOut(
        id=item.quote_id,
        request_id=item.request_id,
        provider_id=item.provider_id,
        price=Money(amount=Decimal(item.amount), currency=item.currency),
        eta_minutes=int(item.eta_minutes),
        note=item.note or "",
        status=item.status,  # type: ignore[arg-type]
        conversation_id=item.conversation_id,
        created_at=item.created_at or "",
        job_id=item.job_id,
    )


def create(
    principal: Principal, request_id: str, body: QuoteIn, now: datetime | None = None
) -> QuoteOut:
    """POST /requests/{id}/quotes — 1 GetItem (request) + 1 TransactWriteItems (the quote,
    the request's quote list, the invitation, the quote's conversation and its members, the
    feed entry) + its event (``quote.new`` to the customer: 1 BatchGetItem,
    :mod:`~chalicelib.services.notifications`). Only a provider invited to quote may
    (anyone else: 404); one quote per provider and request."""
    now = now or ids.now()
    uid = principal.user_id
    for _ in range(MAX_ATTEMPTS):
        request = visible_request(principal, request_id)
        invitation = (request.offers or {}).get(uid)
        if invitation is None:
            raise NotFound(f"No request {request_id} of yours.")
        if request.mode != dispatch.Mode.QUOTE:
            raise Conflict(
                "This request is instant: accept its offer (POST /offers/{id}/accept) instead "
                "of quoting."
            )
        if request.status != RequestStatus.OPEN:
            raise not_open(request)
        if uid in (request.quotes or {}):
            raise Conflict(f"You already quoted on this request (quote {request.quotes[uid]}).")
        if invitation.get("status") != OfferStatus.PENDING:
            raise Conflict(f"Your invitation to quote is {invitation.get('status')}.")
        version = int(request.version)
        qid, cid = store.new_quote_id(request.request_id), ids.new_id()
        quote = store.QuoteItem(
            keys.user(request.customer_id),
            keys.quote(qid),
            quote_id=qid,
            request_id=request.request_id,
            provider_id=uid,
            customer_id=request.customer_id,
            amount=str(body.price.amount.quantize(Decimal("0.01"))),
            currency=body.price.currency,
            eta_minutes=body.eta_minutes,
            note=body.note or None,
            status=QuoteStatus.PENDING.value,
            conversation_id=cid,
            gsi1pk=keys.request_quotes(request.request_id),
            gsi1sk=qid,
            created_at=ids.iso(now),
        )
        request.quotes = {**(request.quotes or {}), uid: qid}
        changes = store.Changes()
        changes.save_request(request, version)
        changes.save_new(quote)
        changes.set_offer_status(uid, str(invitation["id"]), "pending", quote_id=qid)
        for item in conversations.conversation_items([request.customer_id, uid], "quote", qid, cid):
            changes.save_new(item)
        out = quote_out(quote)
        notifications.stage(changes, "quote.new", (request.customer_id,), out)
        try:
            changes.commit()
        except store.Stale:
            continue
        notifications.publish(changes)
        return out
    raise Conflict("The request kept changing while you quoted; retry.")


def list_for_request(principal: Principal, request_id: str, query: PageQuery) -> Page[QuoteOut]:
    """GET /requests/{id}/quotes — 1 GetItem (request) + 1 Query (its quotes, oldest first)
    for the customer; an invited provider sees only their own quote (1 GetItem)."""
    request = visible_request(principal, request_id)
    uid = principal.user_id
    if uid != request.customer_id:
        qid = (request.quotes or {}).get(uid)
        own = store.get_quote(request.customer_id, qid) if qid else None
        return Page[QuoteOut](items=[quote_out(own)] if own else [], cursor=None)
    hash_value = keys.request_quotes(request.request_id)
    start = pagination.decode(query.cursor, hash_key="gsi1pk", hash_value=hash_value)
    items, last = store.request_quotes(request.request_id, query.limit, start)
    return Page[QuoteOut](items=[quote_out(q) for q in items], cursor=pagination.encode(last))


def accept(principal: Principal, quote_id: str, now: datetime | None = None) -> JobOut:
    """POST /quotes/{id}/accept — 1 BatchGetItem (the quote and its request: the quote id
    holds the request id) + 1 TransactWriteItems (request matched, quote accepted, other
    quotes declined, invitations closed, the job and its memberships, the provider's
    counter, the feed entries) + its events (1 BatchGetItem: notifications). The job keeps
    the quote's conversation. Accepting the same quote again answers the job. Losing a race: +1
    GetItem (the request again) per retry."""
    now = now or ids.now()
    uid = principal.user_id
    quote, request = store.get_quote_and_request(uid, quote_id)
    if quote is None:
        raise NotFound(f"No quote {quote_id} of yours.")
    if quote.status == QuoteStatus.ACCEPTED and quote.job_id:
        return jobs.get(principal, quote.job_id)
    if quote.status != QuoteStatus.PENDING:
        raise Conflict(f"This quote is {quote.status}.")
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            request = store.get_request(quote.request_id)
        if request is None:
            raise NotFound(f"No quote {quote_id} of yours.")
        if request.status != RequestStatus.OPEN:
            raise Conflict(
                "You already chose a quote for this request."
                if request.status == RequestStatus.MATCHED
                else f"The request is {request.status}."
            )
        provider = quote.provider_id
        invitation = (request.offers or {}).get(provider)
        if invitation is None or (request.quotes or {}).get(provider) != quote.quote_id:
            raise not_open(request)
        version = int(request.version)
        job = jobs.new_job(
            request,
            provider,
            by=Actor.CUSTOMER,
            conversation_id=quote.conversation_id,
            now=now,
            offer_id=str(invitation["id"]),
            quote=quote,
        )
        changes = store.Changes()
        offers = dict(request.offers or {})
        offers[provider] = {**invitation, "status": "accepted"}
        request.offers = offers
        changes.set_offer_status(provider, str(invitation["id"]), "accepted", job_id=job.job_id)
        others = close_offers(request, changes, "withdrawn", "the customer chose another quote")
        changes.set_quote_status(uid, quote.quote_id, "accepted", job_id=job.job_id)
        for pid, qid in (request.quotes or {}).items():
            if pid != provider:
                changes.set_quote_status(uid, qid, "declined")
        jobs.stage_match(request, version, job, changes)
        notifications.stage(changes, "job.updated", (uid, provider), jobs.job_event(job), actor=uid)
        tell_withdrawn(changes, request, others, "withdrawn", "another_quote")
        notifications.stage(
            changes, "request.updated", (uid,), request_out(request, None), actor=uid
        )
        try:
            changes.commit()
        except store.Stale:
            continue
        notifications.publish(changes)
        return jobs.job_out(job, uid)
    raise Conflict("The request kept changing while you chose; look at it again.")
