"""Jobs: created when an offer or a quote is accepted, then moved through their lifecycle
(:mod:`chalicelib.domain.jobs`) by their two participants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import ids, observability
from chalicelib.auth import Principal
from chalicelib.domain.job import Job
from chalicelib.domain.jobs import Actor, JobState
from chalicelib.errors import NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import JobOut
from chalicelib.services import views
from chalicelib.services.work import work
from chalicelib.store import marketplace as store


def accept(
    decide: Callable[[store.Session], tuple[Job, datetime | None]], conflict: str, user_id: str
) -> JobOut:
    """Run an accept (of an offer or a quote) through the unit of work: ``decide`` answers
    the job and the request's creation time, or None for a job accepted before (a retry).
    A new match counts in the business metrics (``Matches``, and ``TimeToAccept``: ms from
    the request to the job). The job as ``user_id`` sees it; 409 ``conflict`` when the
    request kept changing."""
    job, asked_at = work().run(decide, conflict=conflict)
    if asked_at is not None:
        observability.count("Matches")
        observability.timing("TimeToAccept", (job.created_at - asked_at).total_seconds() * 1000)
    return views.job_out(job, user_id)


def participant_job(session: store.Session, principal: Principal, job_id: str) -> tuple[Job, Actor]:
    """The job if the caller takes part in it; 404 otherwise (strangers learn nothing)."""
    job = session.job(job_id)
    actor = job.actor_of(principal.user_id) if job else None
    if job is None or actor is None:
        raise NotFound(f"No job {job_id} of yours.")
    return job, actor


def get(principal: Principal, job_id: str) -> JobOut:
    """``GET /jobs/{id}``."""
    job, _ = work().read(lambda s: participant_job(s, principal, job_id))
    return views.job_out(job, principal.user_id)


def list_mine(principal: Principal, query: PageQuery) -> Page[JobOut]:
    """``GET /jobs``: the caller's jobs, newest first."""
    uid = principal.user_id
    jobs, cursor = store.user_jobs(uid, query.limit, query.cursor)
    return Page[JobOut](items=[views.job_out(j, uid) for j in jobs], cursor=cursor)


def transition(principal: Principal, job_id: str, to: str, now: datetime | None = None) -> JobOut:
    """``POST /jobs/{id}/transitions``: one step of the lifecycle (an illegal one is a 409
    that says why); cancelling cancels the request too."""
    at = now or ids.now()
    target = JobState(to)

    def decide(session: store.Session) -> Job:
        job, actor = participant_job(session, principal, job_id)
        job.move(target, actor, at, actor_id=principal.user_id)
        session.save(job)
        if target == JobState.CANCELLED:
            request = session.request(job.request_id)
            if request is not None:
                request.cancel_with_job(actor)
                session.save(request)
        return job

    conflict = "The job kept changing while we tried to update it; read it and retry."
    return views.job_out(work().run(decide, conflict=conflict), principal.user_id)
