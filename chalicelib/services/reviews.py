"""Reviews (rules: :mod:`chalicelib.domain.reviews`): once per side after completion, hidden
until both sides reviewed or the 14-day window closed; publishing a customer's review
adds its rating to the provider's summary with an atomic ``ADD`` in the same transaction."""

from __future__ import annotations

from datetime import datetime

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.domain import reviews as rules
from chalicelib.domain.jobs import Actor, JobState
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.marketplace import ReviewIn, ReviewOut
from chalicelib.services import jobs, notifications
from chalicelib.store import keys, pagination
from chalicelib.store import marketplace as store
from chalicelib.store import profiles as profiles_repo

MAX_ATTEMPTS = jobs.MAX_ATTEMPTS


def review_out(item: store.ReviewItem) -> ReviewOut:
    return ReviewOut(
        id=item.review_id,
        job_id=item.job_id,
        author_role=item.side,  # type: ignore[arg-type]
        rating=int(item.rating),
        text=item.text or "",
        created_at=item.created_at or "",
        published_at=item.published_at,
    )


def _subject(job: store.JobItem, side: Actor) -> tuple[str, str]:
    """(role, user id) the ``side``'s review is about."""
    about = rules.reviewee(side)
    return about.value, job.provider_id if about == Actor.PROVIDER else job.customer_id


def _publish(
    job: store.JobItem,
    side: Actor,
    at: str,
    changes: store.Changes,
    review: store.ReviewItem | None,
) -> None:
    """Publish ``side``'s review of the job: ``review`` (about to be created) or the stored
    one; a customer's rating goes into the provider's summary (atomic ADD)."""
    role, subject = _subject(job, side)
    index = {
        "published_at": at,
        "gsi1pk": keys.reviews_about(role, subject),
        "gsi1sk": f"{at}#{job.job_id}",
    }
    if review is not None:
        for name, value in index.items():
            setattr(review, name, value)
    else:
        stored = store.ReviewItem(keys.job(job.job_id), keys.review(side.value))
        changes.update(
            stored,
            [
                store.ReviewItem.published_at.set(at),
                store.ReviewItem.gsi1pk.set(index["gsi1pk"]),
                store.ReviewItem.gsi1sk.set(index["gsi1sk"]),
            ],
            store.ReviewItem.pk.exists(),
        )
    given = job.customer_review if side == Actor.CUSTOMER else job.provider_review
    if side == Actor.CUSTOMER and given is not None:
        changes.count_for_provider(job.provider_id, rating=int(given["rating"]))


def create(
    principal: Principal, job_id: str, body: ReviewIn, now: datetime | None = None
) -> ReviewOut:
    """POST /jobs/{id}/reviews — 1 GetItem + 1 TransactWriteItems (the review, the job, and
    when this is the second review: the first one published and the provider's rating
    summary ADDed; the feed entries) + its event (``job.updated`` to both sides: 1
    BatchGetItem, :mod:`~chalicelib.services.notifications`)."""
    now = now or ids.now()
    rating = rules.validate_rating(body.rating)
    text = rules.validate_review_text(body.text)
    for _ in range(MAX_ATTEMPTS):
        job, side = jobs.participant_job(principal, job_id)
        mine = "customer_review" if side == Actor.CUSTOMER else "provider_review"
        other_side = Actor.PROVIDER if side == Actor.CUSTOMER else Actor.CUSTOMER
        theirs = job.provider_review if side == Actor.CUSTOMER else job.customer_review
        completed = datetime.fromisoformat(job.completed_at) if job.completed_at else None
        rules.check_can_review(
            side=side,
            job_state=JobState(job.state),
            completed_at=completed,
            now=now,
            already_reviewed=getattr(job, mine) is not None,
        )
        if job.reviews_published_at:
            raise Conflict("The reviews of this job are already published: it takes no more.")
        _, subject = _subject(job, side)
        review = store.ReviewItem(
            keys.job(job.job_id),
            keys.review(side.value),
            review_id=ids.new_id(),
            job_id=job.job_id,
            side=side.value,
            author_id=principal.user_id,
            subject_id=subject,
            rating=rating,
            text=text or None,
            created_at=ids.iso(now),
        )
        setattr(job, mine, {"rating": rating, "at": ids.iso(now)})
        version = int(job.version)
        changes = store.Changes()
        if theirs is not None and not job.reviews_published_at:
            at = ids.iso(now)
            _publish(job, side, at, changes, review)
            _publish(job, other_side, at, changes, None)
            job.reviews_published_at = at
            store.set_due(job, None, "")
        changes.save_new(review)
        changes.save_job(job, version)
        notifications.stage(
            changes,
            "job.updated",
            (job.customer_id, job.provider_id),
            jobs.job_event(job),
            actor=principal.user_id,
        )
        try:
            changes.commit()
        except store.Stale:
            continue  # the other side reviewed meanwhile (or this side, twice): decide again
        notifications.publish(changes)
        return review_out(review)
    raise Conflict("The job kept changing while we saved your review; retry.")


def on_timer(job_id: str, now: datetime) -> bool:
    """A completed job's review window closed: publish whatever reviews it got.
    1 GetItem + 1 TransactWriteItems (with the feed entries) + its events (1 BatchGetItem:
    notifications)."""
    for _ in range(MAX_ATTEMPTS):
        job = store.get_job(job_id)
        if job is None:
            return False
        version = int(job.version)
        changes = store.Changes()
        if job.reviews_published_at or job.state != JobState.COMPLETED or not job.completed_at:
            if job.gsi2pk is None:
                return False
            store.set_due(job, None, "")
            changes.save_job(job, version)
            try:
                changes.commit()
            except store.Stale:
                continue
            return False
        closes = rules.window_closes_at(datetime.fromisoformat(job.completed_at))
        if now < closes:
            return False
        at = ids.iso(closes)
        for side, given in (
            (Actor.CUSTOMER, job.customer_review),
            (Actor.PROVIDER, job.provider_review),
        ):
            if given is not None:
                _publish(job, side, at, changes, None)
        job.reviews_published_at = at
        store.set_due(job, None, "")
        changes.save_job(job, version)
        notifications.stage(
            changes, "job.updated", (job.customer_id, job.provider_id), jobs.job_event(job)
        )
        try:
            changes.commit()
        except store.Stale:
            continue
        notifications.publish(changes)
        return True
    return False


def about_provider(provider_id: str, query: PageQuery) -> Page[ReviewOut]:
    """GET /providers/{id}/reviews — 1 GetItem (the provider exists) + 1 Query (published
    reviews about them, newest first)."""
    if profiles_repo.get_provider(provider_id) is None:
        raise NotFound("No such provider.")
    hash_value = keys.reviews_about("provider", provider_id)
    start = pagination.decode(query.cursor, hash_key="gsi1pk", hash_value=hash_value)
    items, last = store.reviews_about("provider", provider_id, query.limit, start)
    return Page[ReviewOut](items=[review_out(i) for i in items], cursor=pagination.encode(last))
