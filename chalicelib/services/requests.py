"""Service requests: asking for a service (matched and offered at once), reading them, and
the customer's cancel. Rules: :class:`chalicelib.domain.request.ServiceRequest`."""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import ids, observability
from chalicelib.auth import Principal
from chalicelib.domain.dispatch import Mode
from chalicelib.domain.market import RequestStatus
from chalicelib.domain.request import ServiceRequest
from chalicelib.errors import Conflict, Invalid, NotFound
from chalicelib.schemas.common import Page
from chalicelib.schemas.marketplace import RequestIn, RequestOut, RequestsQuery, TimeWindow
from chalicelib.services import matching, media, moderation, views
from chalicelib.services.work import work
from chalicelib.store import marketplace as store
from chalicelib.store import profiles as profiles_repo

WINDOW_MAX_AHEAD = timedelta(days=90)
"""A time window may start at most this far ahead."""
REQUEST_MEDIA = ("request_photo",)
"""What a request's ``media_ids`` may be: photos uploaded for a request."""


def _check_category(category: str) -> None:
    if category not in {c["id"] for c in profiles_repo.categories()}:
        raise Invalid(
            f"category: unknown category {category!r}; see GET /categories.",
            errors=[{"field": "category", "message": f"unknown category {category!r}"}],
        )


def _check_window(window: TimeWindow | None, now: datetime) -> None:
    if window is None:
        return
    if window.end <= now:
        raise Invalid(
            "window: the time window is already over.",
            errors=[{"field": "window.end", "message": "must be in the future"}],
        )
    if window.start > now + WINDOW_MAX_AHEAD:
        raise Invalid(
            f"window: may start at most {WINDOW_MAX_AHEAD.days} days ahead.",
            errors=[{"field": "window.start", "message": "too far ahead"}],
        )


def create(
    principal: Principal,
    body: RequestIn,
    *,
    now: datetime | None = None,
    request_id: str | None = None,
) -> RequestOut:
    """``POST /requests``: the request, matched at once and offered to the first
    candidates (or expired when nobody is near). 400 for an unknown category, a past or
    too distant window, or a photo that is not the customer's request photo (naming it);
    409 when ``request_id`` exists."""
    now = now or ids.now()
    uid = principal.user_id
    _check_category(body.category)
    _check_window(body.window, now)
    moderation.refuse(body.description, "description")
    settings = matching.market_settings()
    rid = request_id or ids.new_id()

    def decide(session: store.Session) -> ServiceRequest:
        request = ServiceRequest(
            id=rid,
            customer_id=uid,
            category=body.category,
            description=body.description,
            lat=body.location.lat,
            lng=body.location.lng,
            address=body.location.address,
            mode=body.mode,
            window=(body.window.start, body.window.end) if body.window else None,
            media_ids=list(body.media_ids),
            status=RequestStatus.OPEN,
            expires_at=now + settings.request_ttl(body.mode),
            created_at=now,
        )
        instant = body.mode == Mode.INSTANT
        wanted = settings.offers_at_once if instant else settings.quote_invitations
        ranked = matching.find_candidates(
            request.lat, request.lng, request.category, {uid}, k=wanted
        )
        request.dispatch_first(ranked, now, settings)
        session.save(request)
        return request

    try:
        request = work().run(decide, conflict=f"Request {rid} already exists.", attempts=1)
    except store.CheckFailed:
        media.check_attachable(uid, body.media_ids, REQUEST_MEDIA)  # the 400 naming it
        raise Conflict("An attached photo changed meanwhile: retry.") from None
    observability.count("RequestsCreated")
    if request.offers:
        observability.count("OffersSent", len(request.offers))
    return views.request_out(request, uid)


def _visible(
    principal: Principal, request: ServiceRequest | None, request_id: str
) -> ServiceRequest:
    if request is None or not request.visible_to(principal.user_id):
        raise NotFound(f"No request {request_id} of yours.")
    return request


def get(principal: Principal, request_id: str) -> RequestOut:
    """``GET /requests/{id}``: for its customer and the providers it was offered to (404
    for anyone else)."""
    request = _visible(principal, work().read(lambda s: s.request(request_id)), request_id)
    return views.request_out(request, principal.user_id)


def list_mine(principal: Principal, query: RequestsQuery) -> Page[RequestOut]:
    """``GET /requests``: a customer's requests, or (``role=provider``) the requests a
    provider was offered, newest first."""
    uid = principal.user_id
    role = query.role or ("customer" if principal.is_customer else "provider")
    if role == "customer":
        requests, cursor = store.customer_requests(uid, query.limit, query.cursor)
    else:
        requests, cursor = store.offered_requests(uid, query.limit, query.cursor)
    return Page[RequestOut](items=[views.request_out(r, uid) for r in requests], cursor=cursor)


def cancel(
    principal: Principal, request_id: str, reason: str | None = None, now: datetime | None = None
) -> RequestOut:
    """``POST /requests/{id}/cancel``: the customer cancels; a matched request cancels its
    job too, while the job's rules let the customer (409 saying why otherwise)."""
    at = now or ids.now()

    def decide(session: store.Session) -> ServiceRequest:
        request = session.request(request_id)
        if request is None or request.customer_id != principal.user_id:
            raise NotFound(f"No request {request_id} of yours.")
        job = session.job(request.job_id) if request.job_id else None
        request.cancel(reason, at, job)
        session.save(request)
        return request

    conflict = "The request kept changing while we tried to cancel it; retry."
    return views.request_out(work().run(decide, conflict=conflict), principal.user_id)
