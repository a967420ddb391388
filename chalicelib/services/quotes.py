"""Quote mode: invited providers quote (price, ETA, note) and the customer chooses one; the
chosen quote becomes the job (keeping the quote's conversation)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain.job import Job
from chalicelib.domain.market import Quote, QuoteStatus
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import JobOut, QuoteIn, QuoteOut
from chalicelib.services import jobs, views
from chalicelib.services.work import work
from chalicelib.store import marketplace as store


def create(
    principal: Principal, request_id: str, body: QuoteIn, now: datetime | None = None
) -> QuoteOut:
    """``POST /requests/{id}/quotes``: only a provider invited to quote may (404 for anyone
    else), once per request; it opens a conversation with the customer."""
    at = now or ids.now()
    uid = principal.user_id

    def decide(session: store.Session) -> Quote:
        request = session.request(request_id)
        if request is None:  # not invited: submit_quote answers the same 404
            raise NotFound(f"No request {request_id} of yours.")
        quote = Quote(
            id=request.id + ids.new_id(),  # a quote's id starts with its request's
            request_id=request.id,
            provider_id=uid,
            customer_id=request.customer_id,
            amount=body.price.amount.quantize(Decimal("0.01")),
            currency=body.price.currency,
            eta_minutes=body.eta_minutes,
            note=body.note or None,
            conversation_id=ids.new_id(),
            created_at=at,
        )
        request.submit_quote(quote)
        session.save(request)
        return quote

    conflict = "The request kept changing while you quoted; retry."
    return views.quote_out(work().run(decide, conflict=conflict))


def list_for_request(principal: Principal, request_id: str, query: PageQuery) -> Page[QuoteOut]:
    """``GET /requests/{id}/quotes``: all of them, oldest first, for the customer; an
    invited provider sees only their own."""
    uid = principal.user_id
    request = work().read(lambda s: s.request(request_id))
    if request is None or not request.visible_to(uid):
        raise NotFound(f"No request {request_id} of yours.")
    if uid != request.customer_id:
        mine = request.quotes.get(uid)
        own = store.quote(request.customer_id, mine) if mine else None
        return Page[QuoteOut](items=[views.quote_out(own)] if own else [])
    quotes, cursor = store.request_quotes(request.id, query.limit, query.cursor)
    return Page[QuoteOut](items=[views.quote_out(q) for q in quotes], cursor=cursor)


def accept(principal: Principal, quote_id: str, now: datetime | None = None) -> JobOut:
    """``POST /quotes/{id}/accept``: the job; the other quotes are declined and the other
    invitations withdrawn. Accepting the same quote again answers the job."""
    at = now or ids.now()
    uid = principal.user_id

    def decide(session: store.Session) -> tuple[Job, datetime | None]:
        found = session.quote(uid, quote_id)
        if found is None:
            raise NotFound(f"No quote {quote_id} of yours.")
        quote, request = found
        if quote.job_id:  # accepted before (a quote has a job exactly once accepted)
            job = session.job(quote.job_id)
            if job is not None:
                return job, None
        if quote.status != QuoteStatus.PENDING:
            raise Conflict(f"This quote is {quote.status}.")
        job = request.accept_quote(quote, at)
        session.save(request)
        return job, request.created_at

    return jobs.accept(decide, "The request kept changing while you chose; look at it again.", uid)
