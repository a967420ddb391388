"""Offers: a provider's pending offers, and answering one (instant mode: the first accept
wins; of any number of simultaneous accepts exactly one commits, the others get a 409)."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain.job import Job
from chalicelib.domain.market import OfferListing, OfferStatus
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import JobOut, OfferOut
from chalicelib.services import jobs, views
from chalicelib.services.work import work
from chalicelib.store import marketplace as store


def _offered(session: store.Session, principal: Principal, offer_id: str) -> ServiceRequest:
    request = session.offer(principal.user_id, offer_id)
    if request is None:
        raise NotFound(f"No offer {offer_id} of yours.")
    return request


def list_pending(
    principal: Principal, query: PageQuery, now: datetime | None = None
) -> Page[OfferOut]:
    """``GET /offers``: my pending offers, newest first (offers whose time ran out but
    that the timer has not closed yet are left out)."""
    now = now or ids.now()
    offers, cursor = store.provider_offers(
        principal.user_id, query.limit, query.cursor, pending_only=True
    )
    live: list[OfferListing] = [o for o in offers if o.expires_at > now]
    return Page[OfferOut](items=[views.offer_out(o) for o in live], cursor=cursor)


def accept(principal: Principal, offer_id: str, now: datetime | None = None) -> JobOut:
    """``POST /offers/{id}/accept``: the job (a new conversation with it). Accepting an
    offer one already won answers the job again; 409 saying why otherwise."""
    at = now or ids.now()
    uid = principal.user_id

    def decide(session: store.Session) -> tuple[Job, datetime | None]:
        request = _offered(session, principal, offer_id)
        if request.offers[uid].status == OfferStatus.ACCEPTED and request.job_id:
            job = session.job(request.job_id)
            if job is not None:
                return job, None
        job = request.accept_offer(uid, at, conversation_id=ids.new_id())
        session.save(request)
        return job, request.created_at

    return jobs.accept(
        decide, "The request kept changing while you accepted; look at it again.", uid
    )


def decline(principal: Principal, offer_id: str, now: datetime | None = None) -> OfferOut:
    """``POST /offers/{id}/decline``: an instant request goes to the next candidate at the
    next sweep; 409 once the offer is answered, or after quoting."""
    at = now or ids.now()
    uid = principal.user_id

    def decide(session: store.Session) -> OfferListing:
        request = _offered(session, principal, offer_id)
        created = request.offers[uid].created_at or at
        request.decline_offer(uid, at)
        session.save(request)
        return request.listing(uid, created)

    conflict = "The request kept changing while you declined; retry."
    return views.offer_out(work().run(decide, conflict=conflict))
