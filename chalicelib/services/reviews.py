"""Reviews (rules: :mod:`chalicelib.domain.reviews`): once per side after completion,
hidden until both sides reviewed or the 14-day window closed; a published customer rating
is added to the provider's summary in the same transaction."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain.job import Review
from chalicelib.errors import NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import ReviewIn, ReviewOut
from chalicelib.services import moderation, views
from chalicelib.services.jobs import participant_job
from chalicelib.services.work import work
from chalicelib.store import marketplace as store
from chalicelib.store import profiles as profiles_repo


def create(
    principal: Principal, job_id: str, body: ReviewIn, now: datetime | None = None
) -> ReviewOut:
    """``POST /jobs/{id}/reviews``: the caller's review of a completed job (409 saying why
    when not allowed); the second review publishes both."""
    at = now or ids.now()
    text = moderation.mask(body.text)

    def decide(session: store.Session) -> Review:
        job, side = participant_job(session, principal, job_id)
        review = job.review(side, principal.user_id, body.rating, text, at)
        session.save(job)
        return review

    conflict = "The job kept changing while we saved your review; retry."
    return views.review_out(work().run(decide, conflict=conflict))


def about_provider(provider_id: str, query: PageQuery) -> Page[ReviewOut]:
    """``GET /providers/{id}/reviews``: published reviews about a provider, newest first
    (404 for no such provider)."""
    if profiles_repo.get_provider(provider_id) is None:
        raise NotFound("No such provider.")
    reviews, cursor = store.reviews_about("provider", provider_id, query.limit, query.cursor)
    return Page[ReviewOut](items=[views.review_out(r) for r in reviews], cursor=cursor)
