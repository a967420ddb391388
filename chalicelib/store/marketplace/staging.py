"""What a decision writes: the saved aggregates turned into the items and updates of one
transaction (:class:`Changes`): a request with its new offers and quotes, the offers and
quotes it moved on and its photo grants; a job with its members, conversation and reviews;
the operators' figures and the providers' counters it moves.

Cost: 0 calls, but 1 BatchGetItem for the providers' counters when a counted provider's
profile was not read yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib import ids
from chalicelib.domain.job import Job
from chalicelib.domain.market import OfferStatus, RequestStatus
from chalicelib.domain.request import ServiceRequest
from chalicelib.store import conversations, counters, keys, metrics
from chalicelib.store import media as media_repo
from chalicelib.store.marketplace import items, mapping
from chalicelib.store.marketplace.changes import Changes
from chalicelib.store.models import ProviderItem

REQUEST_PHOTO = ("request_photo",)
"""What a request's ``media_ids`` may be: photos uploaded for a request."""
Counted = dict[str, dict[str, int]]
"""Provider id -> counter (``store.counters.COUNTERS``) -> what this change adds."""


@dataclass
class Later:
    """Photo grants a change could not hold (its 100 items): written or deleted right
    after it committed (1 BatchWriteItem per 25)."""

    grants: list[media_repo.MediaViewerItem] = field(default_factory=list)
    revoked: list[media_repo.MediaViewerItem] = field(default_factory=list)


def key(aggregate: ServiceRequest | Job) -> str:
    """Where :func:`stage` looks an aggregate up among those loaded."""
    return f"{type(aggregate).__name__}#{aggregate.id}"


def stage(
    saved: Sequence[ServiceRequest | Job],
    loaded: Mapping[str, Any],
    profiles: Mapping[str, ProviderItem | None],
) -> tuple[Changes, list[ServiceRequest | Job], Later]:
    """The transaction of ``saved`` (in this order; a request's new or cancelled job goes
    with it, before it), the aggregates in the order they were staged, and the photo grants
    that did not fit. ``loaded``: each aggregate as it was read (by :func:`key`; a new one
    is absent); ``profiles``: provider profiles already read (their counters)."""
    changes, later = Changes(), Later()
    counts: Counted = {}
    ordered: list[ServiceRequest | Job] = []
    for aggregate in saved:
        if isinstance(aggregate, ServiceRequest):
            _stage_figures(changes, aggregate, loaded.get(key(aggregate)))
            if aggregate.job is not None:
                job = aggregate.job
                _stage_job(changes, job, loaded.get(key(job)), counts)
                ordered.append(job)
            _stage_request(changes, aggregate, loaded.get(key(aggregate)), later, counts)
        else:
            _stage_job(changes, aggregate, loaded.get(key(aggregate)), counts)
        ordered.append(aggregate)
    _stage_counts(changes, counts, profiles)
    return changes, ordered, later


def _stage_figures(
    changes: Changes, request: ServiceRequest, before: ServiceRequest | None
) -> None:
    """The operators' counters this change moves (``store/metrics.py``)."""
    opened = int(request.status == RequestStatus.OPEN)
    opened -= int(before is not None and before.status == RequestStatus.OPEN)
    if opened:
        changes.update(*metrics.live_change(request.id, open_requests=opened), None)
    job = request.job
    if job is not None and (before is None or before.job_id != job.id):  # a new job
        changes.update(*metrics.job_made(job.id, job.created_at, request.created_at), None)


def _stage_request(
    changes: Changes,
    request: ServiceRequest,
    before: ServiceRequest | None,
    later: Later,
    counts: Counted,
) -> None:
    if before is None and request.media_ids:
        condition = media_repo.attachable(request.customer_id, REQUEST_PHOTO)
        for media_id in dict.fromkeys(request.media_ids):
            changes.require(media_repo.MediaItem, keys.media(media_id), keys.META, condition)
    old_offers = before.offers if before else {}
    made = [p for p in request.offers if p not in old_offers]
    for pid in made:
        offer = request.offers[pid]
        changes.save_new(mapping.offer_item(request.listing(pid, offer.created_at or ids.now())))
        _count(counts, pid, offers_received=1)
    for pid, offer in request.offers.items():
        if pid in old_offers and old_offers[pid].status != offer.status:
            job_id = request.job_id if offer.status == OfferStatus.ACCEPTED else None
            _offer_status(changes, pid, request.id, offer.status, offer.reason, job_id=job_id)
    if request.new_quote is not None:
        quote = request.new_quote
        changes.save_new(mapping.quote_item(quote))
        _offer_status(changes, quote.provider_id, request.id, OfferStatus.PENDING, None, quote.id)
        for item in conversations.conversation_items(
            [request.customer_id, quote.provider_id], "quote", quote.id, quote.conversation_id
        ):
            changes.save_new(item)
    for quote_id, status in request.quote_status.items():
        job_id = request.job_id if status == "accepted" else None
        item = items.QuoteItem(keys.user(request.customer_id), keys.quote(quote_id))
        actions: list[Action] = [
            items.QuoteItem.status.set(status.value),
            items.QuoteItem.updated_at.set(ids.iso()),
        ]
        if job_id:
            actions.append(items.QuoteItem.job_id.set(job_id))
        changes.update(item, actions, items.QuoteItem.status == "pending")
    item = mapping.request_item(request)
    if before is None or item.serialize() != mapping.request_item(before).serialize():
        item.updated_at = ids.iso()
        changes.save_versioned(item, request.version)
        request.version, request.updated_at = int(item.version), mapping.when(item.updated_at)
    grants = media_repo.grant_items(request.media_ids, made, "request", request.id)
    lost = [
        pid
        for pid, offer in request.offers.items()
        if pid in old_offers
        and old_offers[pid].status == OfferStatus.PENDING
        and offer.status not in (OfferStatus.PENDING, OfferStatus.ACCEPTED)
    ]  # a provider who did not get the job stops seeing its photos
    revoked = media_repo.revoke_items(request.media_ids, lost)
    if len(grants) + len(revoked) > changes.room():
        later.grants += grants
        later.revoked += revoked
        return
    for grant in grants:
        changes.put(grant)
    for grant in revoked:
        changes.delete(grant)


def _stage_job(changes: Changes, job: Job, before: Job | None, counts: Counted) -> None:
    item = mapping.job_item(job)
    if before is not None and item.serialize() == mapping.job_item(before).serialize():
        return
    item.updated_at = ids.iso()
    changes.save_versioned(item, job.version)
    job.version, job.updated_at = int(item.version), mapping.when(item.updated_at)
    if before is None:
        for uid, role in ((job.customer_id, "customer"), (job.provider_id, "provider")):
            changes.save_new(
                items.JobMemberItem(keys.user(uid), keys.job(job.id), job_id=job.id, role=role)
            )
        _count(counts, job.provider_id, offers_accepted=1)
        if job.quote_id is None:
            for member in conversations.conversation_items(
                [job.customer_id, job.provider_id], "job", job.id, job.conversation_id
            ):
                changes.save_new(member)
    if job.new_review is not None:
        changes.save_new(mapping.review_item(job.new_review, job))
    for side, moment in job.published:
        if job.new_review is None or job.new_review.side != side:
            stored = items.ReviewItem(keys.job(job.id), keys.review(side.value))
            index = mapping.published_index(job, side, moment)
            changes.update(
                stored,
                [getattr(items.ReviewItem, name).set(value) for name, value in index.items()],
                items.ReviewItem.pk.exists(),
            )
        given = job.review_by(side)
        if side == "customer" and given is not None:
            _count(counts, job.provider_id, rating_count=1, rating_sum=int(given["rating"]))


def _offer_status(
    changes: Changes,
    provider_id: str,
    offer_id: str,
    status: OfferStatus,
    reason: str | None,
    quote_id: str | None = None,
    job_id: str | None = None,
) -> None:
    """Move a provider's pending offer on (leaving the pending index), or, staying
    ``pending``, attach a quote id."""
    item = items.OfferItem(keys.user(provider_id), keys.offer(offer_id))
    actions: list[Action] = [
        items.OfferItem.status.set(status.value),
        items.OfferItem.updated_at.set(ids.iso()),
    ]
    if status != OfferStatus.PENDING:
        actions += [items.OfferItem.gsi1pk.remove(), items.OfferItem.gsi1sk.remove()]
    if reason:
        actions.append(items.OfferItem.status_reason.set(reason))
    if quote_id:
        actions.append(items.OfferItem.quote_id.set(quote_id))
    if job_id:
        actions.append(items.OfferItem.job_id.set(job_id))
    changes.update(item, actions, items.OfferItem.status == "pending")


def _count(counts: Counted, provider_id: str, **deltas: int) -> None:
    mine = counts.setdefault(provider_id, {})
    for name, delta in deltas.items():
        mine[name] = mine.get(name, 0) + delta


def _stage_counts(
    changes: Changes, counts: Counted, known: Mapping[str, ProviderItem | None]
) -> None:
    """Add to the providers' exact counters (and rewrite the copy the geo indexes hold
    when the ranking would move: ``store/counters.py``); bumps each profile's version so a
    concurrent versioned profile write retries instead of writing stale counters back.
    1 BatchGetItem (the counters as they are) when a counted provider's profile was not
    read yet."""
    current = {pid: known[pid] for pid in counts if known.get(pid) is not None}
    current |= counters.read(pid for pid in counts if pid not in known)
    for provider_id, deltas in counts.items():
        item = ProviderItem(keys.user(provider_id), keys.PROVIDER)
        actions: list[Action] = [ProviderItem.version.add(1)]
        actions += counters.count_actions(current.get(provider_id), deltas)
        changes.update(item, actions, ProviderItem.pk.exists())
