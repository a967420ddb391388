"""Offers: a provider's pending offers, and answering one. In instant mode the first accept
wins: the request, the winning offer, the job and the withdrawal of the other offers are one
transaction conditioned on the request's version, so of any number of simultaneous accepts
exactly one commits; the others re-read, find the request taken, and get a 409."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain import dispatch
from chalicelib.domain.jobs import Actor, OfferStatus, RequestStatus
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import JobOut, OfferOut
from chalicelib.services import jobs, matching, notifications
from chalicelib.services.requests import (
    close_offers,
    not_open,
    offer_out,
    request_out,
    tell_withdrawn,
)
from chalicelib.store import conversations, keys, pagination
from chalicelib.store import marketplace as store

MAX_ATTEMPTS = jobs.MAX_ATTEMPTS

_ANSWERED = {
    OfferStatus.DECLINED: "you declined this offer",
    OfferStatus.EXPIRED: "this offer expired before it was answered",
    OfferStatus.WITHDRAWN: "this offer was withdrawn",
}


def my_offer(principal: Principal, offer_id: str) -> tuple[store.OfferItem, store.RequestItem]:
    """The caller's own offer and its request; 404 for anyone else's. 1 BatchGetItem."""
    offer, request = (
        store.get_offer_and_request(principal.user_id, offer_id)
        if ids.is_id(offer_id)
        else (None, None)
    )
    if offer is None or request is None:
        raise NotFound(f"No offer {offer_id} of yours.")
    return offer, request


def _refuse(offer: store.OfferItem) -> Conflict:
    why = _ANSWERED.get(OfferStatus(offer.status), f"this offer is {offer.status}")
    if offer.status_reason:
        why = f"{why}: {offer.status_reason}"
    return Conflict(why[0].upper() + why[1:] + ".")


def list_pending(
    principal: Principal, query: PageQuery, now: datetime | None = None
) -> Page[OfferOut]:
    """GET /offers — 1 Query (my pending offers, newest first). Offers whose time ran out
    but that the timer has not closed yet are left out."""
    now = now or ids.now()
    uid = principal.user_id
    hash_value = keys.pending_offers(uid)
    start = pagination.decode(query.cursor, hash_key="gsi1pk", hash_value=hash_value)
    offers, last = store.pending_offers(uid, query.limit, start)
    live = [o for o in offers if matching.parse_time(o.expires_at) > now]
    return Page[OfferOut](items=[offer_out(o) for o in live], cursor=pagination.encode(last))


def accept(principal: Principal, offer_id: str, now: datetime | None = None) -> JobOut:
    """POST /offers/{id}/accept — 1 BatchGetItem (the offer and its request) + 1
    TransactWriteItems (request matched, this offer accepted, the others withdrawn, the job
    and its two memberships, the provider's accepted counter, the job's conversation and
    its two members, the feed entries) + its events (1 BatchGetItem: notifications).
    Losing a race: +1 GetItem, then 409.
    Accepting an offer one already won answers the job again (1 GetItem more)."""
    now = now or ids.now()
    uid = principal.user_id
    offer, request = my_offer(principal, offer_id)
    if offer.status == OfferStatus.ACCEPTED and offer.job_id:
        return jobs.get(principal, offer.job_id)
    if offer.mode == dispatch.Mode.QUOTE:
        raise Conflict(
            f"Request {offer.request_id} takes quotes: send one with "
            f"POST /requests/{offer.request_id}/quotes."
        )
    if offer.status != OfferStatus.PENDING:
        raise _refuse(offer)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            request = store.get_request(offer.request_id) or request
        if request.status != RequestStatus.OPEN:
            raise not_open(request)
        entry = (request.offers or {}).get(uid)
        if entry is None or entry.get("status") != OfferStatus.PENDING:
            offer.status = str((entry or {}).get("status") or OfferStatus.WITHDRAWN)
            raise _refuse(offer)
        if matching.parse_time(str(entry["expires_at"])) <= now:
            raise Conflict(f"This offer expired at {entry['expires_at']}.")
        version = int(request.version)
        job = jobs.new_job(
            request,
            uid,
            by=Actor.PROVIDER,
            conversation_id=ids.new_id(),
            now=now,
            offer_id=offer_id,
        )
        changes = store.Changes()
        request.offers = {**(request.offers or {}), uid: {**entry, "status": "accepted"}}
        changes.set_offer_status(uid, offer_id, "accepted", job_id=job.job_id)
        others = close_offers(request, changes, "withdrawn", "another provider took the request")
        jobs.stage_match(request, version, job, changes)
        for item in conversations.conversation_items(
            [job.customer_id, uid], "job", job.job_id, str(job.conversation_id)
        ):
            changes.save_new(item)
        notifications.stage(
            changes, "job.updated", (job.customer_id, uid), jobs.job_event(job), actor=uid
        )
        tell_withdrawn(changes, request, others, "withdrawn", "taken")
        notifications.stage(
            changes, "request.updated", (job.customer_id,), request_out(request, None)
        )
        try:
            changes.commit()
        except store.Stale:
            continue  # someone else changed the request first: look again
        notifications.publish(changes)
        return jobs.job_out(job, uid)
    raise Conflict("The request kept changing while you accepted; look at it again.")


def decline(principal: Principal, offer_id: str, now: datetime | None = None) -> OfferOut:
    """POST /offers/{id}/decline — 1 BatchGetItem (the offer and its request) + 1
    TransactWriteItems (the offer and the request; an instant request's timer is set to now
    so the next sweep offers it to the next candidate; the feed entry) + its events (1
    BatchGetItem: notifications)."""
    now = now or ids.now()
    uid = principal.user_id
    offer, request = my_offer(principal, offer_id)
    if offer.status != OfferStatus.PENDING:
        raise _refuse(offer)
    if offer.quote_id:
        raise Conflict("You have quoted on this request: the customer decides now.")
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            request = store.get_request(offer.request_id) or request
        entry = (request.offers or {}).get(uid)
        if request.status != RequestStatus.OPEN:
            raise not_open(request)
        if entry is None or entry.get("status") != OfferStatus.PENDING:
            raise Conflict("This offer is no longer pending.")
        version = int(request.version)
        changes = store.Changes()
        close_offers(request, changes, "declined", "declined by the provider", only=[uid])
        if request.mode == dispatch.Mode.INSTANT:
            store.set_due(request, now, keys.request(request.request_id))
        changes.save_request(request, version)
        notifications.stage(
            changes, "request.updated", (request.customer_id,), request_out(request, None)
        )
        try:
            changes.commit()
        except store.Stale:
            continue
        offer.status = OfferStatus.DECLINED.value
        offer.status_reason = "declined by the provider"
        notifications.publish(changes)
        return offer_out(offer)
    raise Conflict("The request kept changing while you declined; retry.")
