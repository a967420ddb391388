"""Service requests: creation (with matching and the first offers), reading, cancelling,
and the timers that keep open requests moving (re-dispatch and expiry)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain import dispatch
from chalicelib.domain.jobs import (
    REQUEST_MACHINE,
    Actor,
    JobState,
    RequestStatus,
    check_transition,
)
from chalicelib.errors import Conflict, Invalid, NotFound
from chalicelib.schemas.common import Location, Page
from chalicelib.schemas.marketplace import (
    MyOffer,
    OfferOut,
    RequestIn,
    RequestOut,
    RequestsQuery,
    TimeWindow,
)
from chalicelib.services import jobs, matching, notifications, reviews
from chalicelib.store import keys, pagination
from chalicelib.store import marketplace as store
from chalicelib.store import profiles as profiles_repo

if TYPE_CHECKING:
    from chalicelib.store.media import MediaViewerItem

log = logging.getLogger("summon.requests")

MAX_ATTEMPTS = jobs.MAX_ATTEMPTS
WINDOW_MAX_AHEAD = timedelta(days=90)
"""A time window may start at most this far ahead."""
NOBODY_NEARBY = "no provider is available nearby right now"

REQUEST_MEDIA = ("request_photo",)
"""What a request's ``media_ids`` may be: photos uploaded for a request."""


# --- views ------------------------------------------------------------------------------------


def _window(start: str | None, end: str | None) -> TimeWindow | None:
    return jobs.window_of(start, end)


def request_out(request: store.RequestItem, viewer: str | None) -> RequestOut:
    """The customer's view (``viewer`` is the customer or ``None``), or an offered
    provider's: approximate location, no address (until the job is theirs), their offer."""
    offers = request.offers or {}
    base: dict[str, Any] = {
        "id": request.request_id,
        "customer_id": request.customer_id,
        "category": request.category,
        "description": request.description,
        "mode": request.mode,
        "window": _window(request.window_start, request.window_end),
        "media_ids": list(request.media_ids or []),
        "status": request.status,
        "status_reason": request.status_reason,
        "created_at": request.created_at or "",
        "updated_at": request.updated_at,
        "expires_at": request.expires_at,
        "job_id": request.job_id,
    }
    mine = offers.get(viewer or "") if viewer != request.customer_id else None
    if mine is None:
        return RequestOut(
            **base,
            location=Location(lat=request.lat, lng=request.lng, address=request.address),
            offers_pending=len(matching.pending(request)),
            offers_sent=len(offers),
            quotes=len(request.quotes or {}),
        )
    won = mine.get("status") == "accepted"
    location = (
        Location(lat=request.lat, lng=request.lng, address=request.address)
        if won
        else Location(lat=matching.approx(request.lat), lng=matching.approx(request.lng))
    )
    if not won:
        base["job_id"] = None
    return RequestOut(
        **base,
        location=location,
        distance_km=float(mine.get("distance_km") or 0.0),
        my_offer=MyOffer(
            id=str(mine["id"]),
            status=mine["status"],
            expires_at=str(mine["expires_at"]),
            quote_id=(request.quotes or {}).get(viewer or ""),
        ),
    )


def offer_out(offer: store.OfferItem) -> OfferOut:
    return OfferOut(
        id=offer.offer_id,
        request_id=offer.request_id,
        mode=offer.mode,  # type: ignore[arg-type]
        status=offer.status,  # type: ignore[arg-type]
        status_reason=offer.status_reason,
        created_at=offer.created_at or "",
        expires_at=offer.expires_at,
        category=offer.category,
        description=offer.description,
        approx_location=Location(lat=offer.approx_lat, lng=offer.approx_lng),
        distance_km=float(offer.distance_km),
        window=_window(offer.window_start, offer.window_end),
        quote_id=offer.quote_id,
        job_id=offer.job_id,
    )


def tell_withdrawn(
    changes: store.Changes,
    request: store.RequestItem,
    providers: list[str],
    status: str,
    reason: str,
) -> None:
    """Stage one ``offer.withdrawn`` to every provider whose offer of ``request`` ends the
    same way in ``changes`` (an offer bears its request's id, so they all get the same
    frame)."""
    data = {
        "offer_id": request.request_id,
        "request_id": request.request_id,
        "status": status,
        "reason": reason,
    }
    notifications.stage(changes, "offer.withdrawn", providers, data)


# --- helpers shared by the offer, quote and timer paths ------------------------------------------


def stage_photo_grants(
    changes: store.Changes, request: store.RequestItem, made: list[store.OfferItem]
) -> list[MediaViewerItem]:
    """Let the providers just offered ``request`` read its photos, in ``changes`` as far as
    it has room; the grants that did not fit, for :func:`publish_with_grants`."""
    media_ids = list(request.media_ids or [])
    if not made or not media_ids:
        return []
    from chalicelib.services import media  # on first use: keeps the cold start light

    providers = [o.provider_id for o in made]
    return media.stage_share(changes, media_ids, providers, "request", request.request_id)


def publish_with_grants(changes: store.Changes, overflow: list[MediaViewerItem]) -> None:
    """After ``changes`` committed: write the photo grants that did not fit in it (1
    BatchWriteItem per 25, rare), then hand its events to the sinks."""
    if overflow:
        from chalicelib.services import media

        media.share(overflow)
    notifications.publish(changes)


def close_offers(
    request: store.RequestItem,
    changes: store.Changes,
    status: str,
    reason: str,
    only: Iterable[str] | None = None,
) -> list[str]:
    """Move the request's pending offers (or those of ``only``) to ``status``, on the
    request and on the offer items; returns their providers."""
    offers = dict(request.offers or {})
    wanted = set(only) if only is not None else None
    moved = []
    for pid, entry in offers.items():
        if entry.get("status") != "pending" or (wanted is not None and pid not in wanted):
            continue
        offers[pid] = {**entry, "status": status}
        changes.set_offer_status(pid, str(entry["id"]), status, reason=reason)
        moved.append(pid)
    request.offers = offers
    return moved


def decline_quotes(request: store.RequestItem, changes: store.Changes, keep: str = "") -> None:
    """Every quote of the request but ``keep`` becomes ``declined`` (quotes stay pending
    while their request is open, so each is still pending here)."""
    for pid, qid in (request.quotes or {}).items():
        if pid != keep:
            changes.set_quote_status(request.customer_id, qid, "declined")


def customer_request(principal: Principal, request_id: str) -> store.RequestItem:
    """The caller's own request; 404 otherwise. 1 GetItem."""
    request = store.get_request(request_id) if ids.is_id(request_id) else None
    if request is None or request.customer_id != principal.user_id:
        raise NotFound(f"No request {request_id} of yours.")
    return request


def visible_request(principal: Principal, request_id: str) -> store.RequestItem:
    """The request if the caller is its customer or was offered it; 404 otherwise.
    1 GetItem."""
    request = store.get_request(request_id) if ids.is_id(request_id) else None
    uid = principal.user_id
    if request is None or (uid != request.customer_id and uid not in (request.offers or {})):
        raise NotFound(f"No request {request_id} of yours.")
    return request


def not_open(request: store.RequestItem) -> Conflict:
    """Why an action on a request that is no longer open is refused."""
    reasons = {
        RequestStatus.MATCHED: "another provider already took this request",
        RequestStatus.EXPIRED: "the request has expired",
        RequestStatus.CANCELLED: "the customer cancelled the request",
    }
    return Conflict(reasons.get(RequestStatus(request.status), f"the request is {request.status}"))


# --- create -------------------------------------------------------------------------------------


def _check_category(category: str) -> None:
    known = {c["id"] for c in profiles_repo.categories()}
    if category not in known:
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
    """POST /requests — 1 TransactWriteItems (request, offers, counters, their feed
    entries) + 1 BatchGetItem (its events: notifications) + the geo Queries of matching
    (:mod:`~chalicelib.services.matching`). ``media_ids`` cost no call: a ConditionCheck
    per media (the customer's, not rejected, a request photo) and the offered providers'
    read grants ride in the same transaction (in quote mode, grants that would pass its
    100 items: +1 BatchWriteItem per 25 after it). The category catalog is cached per
    container (0 calls, 1 GetItem a minute).
    """
    now = now or ids.now()
    uid = principal.user_id
    _check_category(body.category)
    _check_window(body.window, now)
    settings = matching.market_settings()
    mode = dispatch.parse_mode(body.mode)
    rid = request_id or ids.new_id()
    expires_at = now + settings.request_ttl(mode)
    request = store.RequestItem(
        keys.request(rid),
        keys.META,
        request_id=rid,
        customer_id=uid,
        category=body.category,
        description=body.description,
        lat=body.location.lat,
        lng=body.location.lng,
        address=body.location.address,
        mode=mode.value,
        window_start=ids.iso(body.window.start) if body.window else None,
        window_end=ids.iso(body.window.end) if body.window else None,
        media_ids=list(body.media_ids),
        status=RequestStatus.OPEN.value,
        expires_at=ids.iso(expires_at),
        offers={},
        quotes={},
        gsi1pk=keys.customer_requests(uid),
        gsi1sk=rid,
        created_at=ids.iso(now),
    )
    ranked = matching.find_candidates(request.lat, request.lng, request.category, exclude={uid})
    by_id = {r.provider_id: r for r in ranked}
    order = [r.provider_id for r in ranked]
    if mode == dispatch.Mode.INSTANT:
        plan = dispatch.plan_dispatch(
            now=now,
            expires_at=expires_at,
            live_offers=0,
            ranked=order,
            already_offered=(),
            k=settings.offers_at_once,
        )
        chosen = list(plan.offer_to)
    else:
        chosen = dispatch.next_candidates(order, (), settings.quote_invitations)
    changes = store.Changes()
    if body.media_ids:
        from chalicelib.services import media  # on first use: keeps the cold start light

        media.stage_attach(changes, uid, body.media_ids, REQUEST_MEDIA)
    made = matching.make_offers(request, [by_id[p] for p in chosen], now, changes)
    overflow = stage_photo_grants(changes, request, made)
    if made:
        store.set_due(request, matching.next_due(request), keys.request(rid))
    else:
        REQUEST_MACHINE.check(request.status, RequestStatus.EXPIRED)
        request.status = RequestStatus.EXPIRED.value
        request.status_reason = NOBODY_NEARBY
    changes.save_request(request, 0)
    out = request_out(request, uid)
    for offer in made:
        notifications.stage(changes, "offer.new", (offer.provider_id,), offer_out(offer))
    notifications.stage(changes, "request.updated", (uid,), out, actor=uid)
    try:
        changes.commit()
    except store.Stale as exc:
        if exc.failed_checks:  # a photo that is not theirs, rejected, or another purpose
            from chalicelib.services import media

            media.check_attachable(uid, body.media_ids, REQUEST_MEDIA)  # the 400 naming it
            raise Conflict("An attached photo changed meanwhile: retry.") from None
        raise Conflict(f"Request {rid} already exists.") from None
    publish_with_grants(changes, overflow)
    return out


# --- read ---------------------------------------------------------------------------------------


def get(principal: Principal, request_id: str) -> RequestOut:
    """GET /requests/{id} — 1 GetItem. Its customer, or a provider it was offered to."""
    return request_out(visible_request(principal, request_id), principal.user_id)


def list_mine(principal: Principal, query: RequestsQuery) -> Page[RequestOut]:
    """GET /requests — as customer: 1 Query (my requests, newest first); as provider:
    1 Query (every offer I had, newest first) + 1 BatchGetItem (their requests)."""
    uid = principal.user_id
    role = query.role or ("customer" if principal.is_customer else "provider")
    if role == "customer":
        hash_value = keys.customer_requests(uid)
        start = pagination.decode(query.cursor, hash_key="gsi1pk", hash_value=hash_value)
        requests, last = store.customer_requests(uid, query.limit, start)
        items = [request_out(r, uid) for r in requests]
    else:
        start = pagination.decode(query.cursor, hash_key="pk", hash_value=keys.user(uid))
        offers, last = store.provider_offers(uid, query.limit, start)
        found = store.get_requests(o.request_id for o in offers)
        items = [request_out(found[o.request_id], uid) for o in offers if o.request_id in found]
    return Page[RequestOut](items=items, cursor=pagination.encode(last))


# --- cancel -------------------------------------------------------------------------------------


def cancel(
    principal: Principal, request_id: str, reason: str | None = None, now: datetime | None = None
) -> RequestOut:
    """POST /requests/{id}/cancel — open: 1 GetItem + 1 TransactWriteItems (request
    cancelled, live offers withdrawn, quotes declined, the feed entries) + its events (1
    BatchGetItem: notifications); matched: +1 GetItem (the job, cancelled with it if the
    customer still may: 409 saying why if not).
    """
    now = now or ids.now()
    note = f"cancelled by the customer: {reason}" if reason else "cancelled by the customer"
    for _ in range(MAX_ATTEMPTS):
        request = customer_request(principal, request_id)
        REQUEST_MACHINE.check(request.status, RequestStatus.CANCELLED)
        version = int(request.version)
        changes = store.Changes()
        withdrawn: list[str] = []
        job = None
        if request.status == RequestStatus.OPEN:
            withdrawn = close_offers(
                request, changes, "withdrawn", "the customer cancelled the request"
            )
            decline_quotes(request, changes)
        else:
            job = store.get_job(request.job_id or "")
            if job is not None:
                check_transition(job.state, JobState.CANCELLED, Actor.CUSTOMER)
                job.history = [
                    *(job.history or []),
                    jobs.history_entry(job.state, JobState.CANCELLED, Actor.CUSTOMER, now),
                ]
                job.state = JobState.CANCELLED.value
                changes.save_job(job, int(job.version))
        request.status = RequestStatus.CANCELLED.value
        request.status_reason = note
        store.set_due(request, None, "")
        changes.save_request(request, version)
        out = request_out(request, principal.user_id)
        tell_withdrawn(changes, request, withdrawn, "withdrawn", "cancelled")
        if job is not None:
            notifications.stage(
                changes,
                "job.updated",
                (job.customer_id, job.provider_id),
                jobs.job_event(job),
                actor=request.customer_id,
            )
        notifications.stage(
            changes, "request.updated", (request.customer_id,), out, actor=request.customer_id
        )
        try:
            changes.commit()
        except store.Stale:
            continue
        notifications.publish(changes)
        return out
    raise Conflict("The request kept changing while we tried to cancel it; retry.")


# --- timers -------------------------------------------------------------------------------------


def on_timer(request_id: str, now: datetime) -> bool:
    """A request's timer fired: expire the offers nobody answered, top the live offers up
    from the next candidates (instant), or expire the request (its time is up, or nobody is
    left to ask) and tell the customer. Returns whether anything changed.
    1 GetItem + (when offers must be topped up) the geo Queries of matching + 1
    TransactWriteItems (with the feed entries) + its events (1 BatchGetItem:
    notifications)."""
    settings = matching.market_settings()
    for _ in range(MAX_ATTEMPTS):
        request = store.get_request(request_id)
        if request is None:
            return False
        version = int(request.version)
        changes = store.Changes()
        if request.status != RequestStatus.OPEN:
            if request.gsi2pk is None:
                return False
            store.set_due(request, None, "")  # a stale timer: disarm it
            changes.save_request(request, version)
            try:
                changes.commit()
            except store.Stale:
                continue
            return False
        if request.due_at and matching.parse_time(request.due_at) > now:
            return False  # the index lags behind a re-armed timer
        expires_at = matching.parse_time(request.expires_at)
        timed_out = [
            pid
            for pid, entry in matching.pending(request).items()
            if request.mode == dispatch.Mode.INSTANT
            and matching.parse_time(str(entry["expires_at"])) <= now
        ]
        close_offers(request, changes, "expired", "nobody answered in time", only=timed_out)
        live = len(matching.pending(request))
        made: list[store.OfferItem] = []
        withdrawn: list[str] = []
        if request.mode == dispatch.Mode.INSTANT:
            ranked = []
            if now < expires_at and live < settings.offers_at_once:
                ranked = matching.find_candidates(
                    request.lat, request.lng, request.category, exclude={request.customer_id}
                )
            plan = dispatch.plan_dispatch(
                now=now,
                expires_at=expires_at,
                live_offers=live,
                ranked=[r.provider_id for r in ranked],
                already_offered=set(request.offers or {}),
                k=settings.offers_at_once,
            )
            by_id = {r.provider_id: r for r in ranked}
            expire, why = plan.expire_request, plan.reason
            if not expire:
                made = matching.make_offers(
                    request, [by_id[p] for p in plan.offer_to], now, changes
                )
        else:
            expire, why = now >= expires_at, "the time for quotes is up"
        if expire:
            REQUEST_MACHINE.check(request.status, RequestStatus.EXPIRED)
            withdrawn = close_offers(request, changes, "expired", f"the request expired: {why}")
            decline_quotes(request, changes)
            request.status = RequestStatus.EXPIRED.value
            request.status_reason = why
            store.set_due(request, None, "")
        else:
            store.set_due(request, matching.next_due(request), keys.request(request_id))
        changes.save_request(request, version)
        tell_withdrawn(changes, request, timed_out, "expired", "expired")
        tell_withdrawn(changes, request, withdrawn, "expired", "request_expired")
        for offer in made:
            notifications.stage(changes, "offer.new", (offer.provider_id,), offer_out(offer))
        if timed_out or made or expire:
            notifications.stage(
                changes, "request.updated", (request.customer_id,), request_out(request, None)
            )
        overflow = stage_photo_grants(changes, request, made)
        try:
            changes.commit()
        except store.Stale:
            continue
        publish_with_grants(changes, overflow)
        return bool(timed_out or made or expire)
    log.warning("request %s kept changing under its timer; next sweep retries", request_id)
    return False


MAX_SWEEP_DAYS = 400
"""Catch-up horizon: after an outage the sweep looks back this many days at most."""


def sweep(now: datetime | None = None) -> dict[str, int]:
    """The scheduled handler's work: every timer due by ``now`` (open requests, review
    windows), read from the sparse ``DUE#<day>`` index from the catch-up cursor (never
    later than yesterday) to today. A past day whose timers all ran moves the cursor on.
    1 GetItem (cursor) + 1 Query per day swept (2 normally) + the work of each due timer
    (+1 PutItem when the cursor moves)."""
    now = now or ids.now()
    today = store.day_of(now)
    yesterday = store.day_of(now - timedelta(days=1))
    cursor = store.timer_cursor()
    first = min(cursor or yesterday, yesterday)
    days = store.days_between(first, today)[-MAX_SWEEP_DAYS:]
    report = {"due": 0, "changed": 0, "failed": 0}
    clean_until: str | None = None
    for day in days:
        failed = False
        for item in store.due_on(day, now):
            report["due"] += 1
            try:
                if isinstance(item, store.RequestItem):
                    changed = on_timer(item.request_id, now)
                elif isinstance(item, store.JobItem):
                    changed = reviews.on_timer(item.job_id, now)
                else:
                    continue
                report["changed"] += int(changed)
            except Exception:
                log.exception("timer of %s %s failed", item.kind, item.pk)
                report["failed"] += 1
                failed = True
        if day < today and not failed and clean_until == _previous(day, first):
            clean_until = day
    if clean_until is not None:
        following = store.days_between(clean_until, today)[1]
        if following != cursor:
            store.move_timer_cursor(cursor, following)
    return report


def _previous(day: str, first: str) -> str | None:
    """The day before ``day`` within the sweep (None for the first)."""
    days = store.days_between(first, day)
    return days[-2] if len(days) > 1 else None
