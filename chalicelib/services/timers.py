"""The timers that keep the marketplace moving, run by the scheduled handler: an open
request's (expire unanswered offers, offer it to the next candidates, or expire it) and a
completed job's review window (publish its reviews)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chalicelib import ids, observability
from chalicelib.domain.job import Job
from chalicelib.domain.request import ServiceRequest
from chalicelib.services import matching
from chalicelib.services.work import work
from chalicelib.store import marketplace as store

log = logging.getLogger("summon.timers")

MAX_SWEEP_DAYS = 400
"""Catch-up horizon: after an outage the sweep looks back this many days at most."""


def on_request_timer(request_id: str, now: datetime) -> bool:
    """An open request's timer fired. Returns whether anything a user sees changed."""
    settings = matching.market_settings()

    def decide(session: store.Session) -> tuple[bool, int]:
        request: ServiceRequest | None = session.request(request_id)
        if request is None:
            return False, 0
        ranked = []
        if request.wants_candidates(now, settings):
            exclude = {request.customer_id}
            # the next ones after everyone already offered: the top (offered + to offer)
            wanted = len(request.offers) + settings.offers_at_once
            ranked = matching.find_candidates(
                request.lat, request.lng, request.category, exclude, k=wanted
            )
        offered = len(request.offers)
        changed = request.on_timer(now, ranked, settings)
        session.save(request)
        return changed, len(request.offers) - offered

    conflict = f"request {request_id} kept changing under its timer"
    changed, offers_made = work().run(decide, conflict=conflict)
    if offers_made:
        observability.count("OffersSent", offers_made)
    return changed


def on_job_timer(job_id: str, now: datetime) -> bool:
    """A completed job's review window closed: publish whatever reviews it got."""

    def decide(session: store.Session) -> bool:
        job: Job | None = session.job(job_id)
        if job is None:
            return False
        changed = job.on_timer(now)
        session.save(job)
        return changed

    return work().run(decide, conflict=f"job {job_id} kept changing under its timer")


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Every timer due by ``now``, from the catch-up cursor (never later than yesterday)
    to today; a past day whose timers all ran moves the cursor on. Returns the counts of
    due, changed and failed timers (a failed one is retried by the next sweep).
    Cost: 1 GetItem + 17 Queries per day swept (``keys.due_shards``; 2 days
    normally) + each due timer's change."""
    now = now or ids.now()
    today, yesterday = store.day_of(now), store.day_of(now - timedelta(days=1))
    cursor = store.timer_cursor()
    first = min(cursor or yesterday, yesterday)
    days = store.days_between(first, today)[-MAX_SWEEP_DAYS:]
    report = {"due": 0, "changed": 0, "failed": 0}
    clean_until: str | None = None
    for n, day in enumerate(days):
        failed = False
        for kind, ref in store.due_on(day, now):
            report["due"] += 1
            try:
                fire = on_request_timer if kind == "request" else on_job_timer
                report["changed"] += int(fire(ref, now))
            except Exception:
                log.exception("timer of %s %s failed", kind, ref)
                report["failed"] += 1
                failed = True
        if day < today and not failed and clean_until == (days[n - 1] if n else None):
            clean_until = day
    if clean_until is not None:
        following = store.days_between(clean_until, today)[1]
        if following != cursor:
            store.move_timer_cursor(cursor, following)
    return report
