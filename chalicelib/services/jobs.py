"""Jobs: created when an offer or a quote is accepted, then walked through the lifecycle of
:mod:`chalicelib.domain.jobs` by their two participants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain import reviews as review_rules
from chalicelib.domain.jobs import (
    REQUEST_MACHINE,
    ROUTE_TARGETS,
    Actor,
    JobState,
    RequestStatus,
    allowed_targets,
    check_transition,
)
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Location, Page, PageQuery
from chalicelib.schemas.marketplace import (
    JobEvent,
    JobOut,
    Money,
    ReviewState,
    TimeWindow,
    Transition,
)
from chalicelib.services import notifications
from chalicelib.store import keys, pagination
from chalicelib.store import marketplace as store

MAX_ATTEMPTS = 5
"""How often a state change re-reads and retries after losing a race (:class:`store.Stale`)."""


def actor_of(job: store.JobItem, user_id: str) -> Actor | None:
    if user_id == job.customer_id:
        return Actor.CUSTOMER
    if user_id == job.provider_id:
        return Actor.PROVIDER
    return None


def window_of(start: str | None, end: str | None) -> TimeWindow | None:
    if not start or not end:
        return None
    return TimeWindow.model_validate({"start": start, "end": end})


def job_event(job: store.JobItem) -> JobEvent:
    """What ``job.updated`` carries (:class:`JobEvent`): its feed entry stays well under
    1 KB, so it costs 2 write units in the change's transaction (the whole job, 1-1.5 KB
    with a few transitions, cost 4)."""
    out = job_out(job, "")
    return JobEvent(
        id=out.id,
        request_id=out.request_id,
        customer_id=out.customer_id,
        provider_id=out.provider_id,
        conversation_id=out.conversation_id,
        state=out.state,
        transition=out.history[-1] if out.history else None,
        price=out.price,
        updated_at=out.updated_at,
        completed_at=out.completed_at,
        reviews=out.reviews,
    )


def job_out(job: store.JobItem, viewer: str) -> JobOut:
    actor = actor_of(job, viewer)
    state = JobState(job.state)
    moves = allowed_targets(state, actor) if actor else []
    closes = (
        ids.iso(review_rules.window_closes_at(datetime.fromisoformat(job.completed_at)))
        if job.completed_at
        else None
    )
    return JobOut(
        id=job.job_id,
        request_id=job.request_id,
        customer_id=job.customer_id,
        provider_id=job.provider_id,
        mode=job.mode,  # type: ignore[arg-type]
        category=job.category,
        description=job.description,
        location=Location(lat=job.lat, lng=job.lng, address=job.address),
        window=window_of(job.window_start, job.window_end),
        media_ids=list(job.media_ids or []),
        state=state.value,
        conversation_id=job.conversation_id,
        offer_id=job.offer_id,
        quote_id=job.quote_id,
        price=Money.model_validate(job.price) if job.price else None,
        created_at=job.created_at or "",
        updated_at=job.updated_at,
        completed_at=job.completed_at,
        history=[Transition.model_validate(h) for h in job.history or []],
        reviews=ReviewState(
            customer_reviewed=job.customer_review is not None,
            provider_reviewed=job.provider_review is not None,
            published_at=job.reviews_published_at,
            window_closes_at=closes,
        ),
        next=[m.value for m in moves if m in ROUTE_TARGETS],  # type: ignore[misc]
    )


def history_entry(source: str, target: str, actor: Actor, now: datetime) -> dict[str, Any]:
    return {"from": source, "to": target, "by": actor.value, "at": ids.iso(now)}


def new_job(
    request: store.RequestItem,
    provider_id: str,
    *,
    by: Actor,
    conversation_id: str,
    now: datetime,
    offer_id: str | None = None,
    quote: store.QuoteItem | None = None,
) -> store.JobItem:
    """The job a request becomes when ``by`` accepts: ``scheduled`` when the request names a
    later time window, else ``accepted`` (both checked against the state machine)."""
    later = request.window_start is not None and datetime.fromisoformat(request.window_start) > now
    state = JobState.SCHEDULED if later else JobState.ACCEPTED
    check_transition(JobState.OFFERED, state, by)
    REQUEST_MACHINE.check(request.status, RequestStatus.MATCHED)
    jid = ids.new_id()
    return store.JobItem(
        keys.job(jid),
        keys.META,
        job_id=jid,
        request_id=request.request_id,
        customer_id=request.customer_id,
        provider_id=provider_id,
        mode=request.mode,
        category=request.category,
        description=request.description,
        lat=request.lat,
        lng=request.lng,
        address=request.address,
        window_start=request.window_start,
        window_end=request.window_end,
        media_ids=list(request.media_ids or []),
        state=state.value,
        conversation_id=conversation_id,
        offer_id=offer_id,
        quote_id=quote.quote_id if quote else None,
        price={"amount": quote.amount, "currency": quote.currency} if quote else None,
        history=[history_entry(JobState.OFFERED, state, by, now)],
        created_at=ids.iso(now),
    )


def stage_new_job(job: store.JobItem, changes: store.Changes) -> None:
    """The job and one membership per participant (what ``GET /jobs`` lists)."""
    changes.save_job(job, 0)
    for uid, role in ((job.customer_id, "customer"), (job.provider_id, "provider")):
        changes.save_new(
            store.JobMemberItem(keys.user(uid), keys.job(job.job_id), job_id=job.job_id, role=role)
        )


def stage_match(
    request: store.RequestItem, version: int, job: store.JobItem, changes: store.Changes
) -> None:
    """The request is matched to ``job`` (a new one): both written in ``changes``, and the
    job's provider counted as having accepted (offer accepted or quote chosen)."""
    request.status = RequestStatus.MATCHED.value
    request.status_reason = None
    request.job_id = job.job_id
    store.set_due(request, None, "")
    changes.save_request(request, version)
    stage_new_job(job, changes)
    changes.count_for_provider(job.provider_id, offers_accepted=1)


def participant_job(principal: Principal, job_id: str) -> tuple[store.JobItem, Actor]:
    """The job if the caller takes part in it; 404 otherwise (strangers learn nothing).
    1 GetItem."""
    job = store.get_job(job_id) if ids.is_id(job_id) else None
    actor = actor_of(job, principal.user_id) if job else None
    if job is None or actor is None:
        raise NotFound(f"No job {job_id} of yours.")
    return job, actor


def get(principal: Principal, job_id: str) -> JobOut:
    """GET /jobs/{id} — 1 GetItem."""
    job, _ = participant_job(principal, job_id)
    return job_out(job, principal.user_id)


def list_mine(principal: Principal, query: PageQuery) -> Page[JobOut]:
    """GET /jobs — 1 Query (my memberships) + 1 BatchGetItem (the jobs), newest first."""
    uid = principal.user_id
    start = pagination.decode(query.cursor, hash_key="pk", hash_value=keys.user(uid))
    jobs, last = store.user_jobs(uid, query.limit, start)
    return Page[JobOut](items=[job_out(j, uid) for j in jobs], cursor=pagination.encode(last))


def transition(principal: Principal, job_id: str, to: str, now: datetime | None = None) -> JobOut:
    """POST /jobs/{id}/transitions — 1 GetItem + 1 TransactWriteItems (the job, its feed
    entries) + its event (``job.updated`` to both sides: 1 BatchGetItem,
    :mod:`~chalicelib.services.notifications`, online or not); cancelling also cancels the
    request in the same transaction (+1 GetItem). An illegal move is a 409 that says why
    (:func:`chalicelib.domain.jobs.check_transition`)."""
    now = now or ids.now()
    target = JobState(to)
    for _ in range(MAX_ATTEMPTS):
        job, actor = participant_job(principal, job_id)
        check_transition(job.state, target, actor)
        version = int(job.version)
        changes = store.Changes()
        request = None
        if target == JobState.CANCELLED:
            request = store.get_request(job.request_id)
            if request is not None and request.status != RequestStatus.CANCELLED:
                REQUEST_MACHINE.check(request.status, RequestStatus.CANCELLED)
                request.status = RequestStatus.CANCELLED.value
                request.status_reason = f"the job was cancelled by the {actor.value}"
                store.set_due(request, None, "")
                changes.save_request(request, int(request.version))
        job.history = [*(job.history or []), history_entry(job.state, target, actor, now)]
        job.state = target.value
        if target == JobState.COMPLETED:
            job.completed_at = ids.iso(now)
            closes = review_rules.window_closes_at(now)
            store.set_due(job, closes, keys.job(job.job_id))
        changes.save_job(job, version)
        notifications.stage(
            changes,
            "job.updated",
            (job.customer_id, job.provider_id),
            job_event(job),
            actor=principal.user_id,
        )
        try:
            changes.commit()
        except store.Stale:
            continue
        notifications.publish(changes)
        return job_out(job, principal.user_id)
    raise Conflict("The job kept changing while we tried to update it; read it and retry.")
