"""The job aggregate from acceptance to published reviews, the refusals' wording, and the
dispatch plan's reasons (what the customer reads when a request ends)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain import ranking, reviews
from chalicelib.domain.dispatch import DispatchPlan, plan_dispatch
from chalicelib.domain.job import Job, JobChanged
from chalicelib.domain.jobs import Actor, IllegalTransition, JobState, check_transition, parse_state
from chalicelib.domain.market import Offer, OfferStatus, StatusMachine, offer_refused
from chalicelib.domain.ranking import Candidate, Ranked
from chalicelib.errors import Conflict, Forbidden, Invalid
from tests.unit.fakes import T0, a_request

pytestmark = pytest.mark.unit

H = timedelta(hours=1)
DONE = T0 + 3 * H
CLOSES = DONE + timedelta(days=14)


def _job(window_from: timedelta | None = None) -> Job:
    window = None if window_from is None else (T0 + window_from, T0 + window_from + H)
    request = a_request(T0, window=window)
    request.offers = {"p": Offer("p", OfferStatus.PENDING, T0 + H, 1.0)}
    return request.accept_offer("p", T0, conversation_id="C")


def _completed() -> Job:
    job = _job()
    for state in (JobState.EN_ROUTE, JobState.ARRIVED, JobState.IN_PROGRESS):
        job.move(state, Actor.PROVIDER, T0 + H, actor_id="p")
    job.move(JobState.COMPLETED, Actor.CUSTOMER, DONE, actor_id="customer")
    job.events.clear()
    return job


# --- the lifecycle ------------------------------------------------------------------------


def test_a_job_starts_from_its_offer_with_a_first_history_step():
    job = _job()
    assert (job.state, job.offer_id, job.request_id) == (
        JobState.ACCEPTED,
        "01JREQUEST0000000000000000",
        "01JREQUEST0000000000000000",
    )
    assert job.history == [
        {"from": "offered", "to": "accepted", "by": "provider", "at": "2026-05-01T09:00:00.000Z"}
    ]
    assert job.events == [JobChanged(job, "p")]


def test_a_window_starting_now_is_not_later():
    assert _job(window_from=timedelta(0)).state == JobState.ACCEPTED
    assert _job(window_from=timedelta(seconds=1)).state == JobState.SCHEDULED


def test_each_move_is_recorded_and_only_completion_arms_the_review_timer():
    job = _job()
    job.move(JobState.EN_ROUTE, Actor.PROVIDER, T0 + H, actor_id="p")
    assert job.history[-1] == {
        "from": "accepted",
        "to": "en_route",
        "by": "provider",
        "at": "2026-05-01T10:00:00.000Z",
    }
    assert (job.completed_at, job.due_at) == (None, None)
    assert job.events[-1] == JobChanged(job, "p")
    job.move(JobState.ARRIVED, Actor.PROVIDER, T0 + H)
    job.move(JobState.IN_PROGRESS, Actor.PROVIDER, T0 + H)
    job.move(JobState.COMPLETED, Actor.CUSTOMER, DONE, actor_id="customer")
    assert (job.completed_at, job.due_at) == (DONE, CLOSES)
    assert job.events[-1] == JobChanged(job, "customer")


# --- reviews ------------------------------------------------------------------------------


def test_a_first_review_is_kept_private_and_about_the_other_side():
    job = _completed()
    review = job.review(Actor.CUSTOMER, "customer", 4, "  Fixed it fast ", DONE + H)
    assert (review.author_id, review.subject_id, review.side) == (
        "customer",
        "p",
        Actor.CUSTOMER,
    )
    assert (review.rating, review.text, review.created_at) == (4, "Fixed it fast", DONE + H)
    assert review.published_at is None and job.reviews_published_at is None
    assert job.customer_review == {"rating": 4, "at": "2026-05-01T13:00:00.000Z"}
    assert job.new_review is review
    assert job.events == [JobChanged(job, "customer")]


def test_a_review_without_text_has_none():
    review = _completed().review(Actor.PROVIDER, "p", 5, "", DONE)
    assert review.text is None
    assert review.subject_id == "customer"


def test_the_second_review_publishes_both_now():
    job = _completed()
    job.review(Actor.PROVIDER, "p", 5, "Friendly", DONE + H)
    assert job.reviews_published_at is None  # the provider went first: nothing public yet
    assert job.provider_review == {"rating": 5, "at": "2026-05-01T13:00:00.000Z"}
    review = job.review(Actor.CUSTOMER, "customer", 3, "", DONE + 2 * H)
    assert review.published_at == DONE + 2 * H
    assert job.reviews_published_at == DONE + 2 * H and job.due_at is None
    assert job.published == [(Actor.CUSTOMER, DONE + 2 * H), (Actor.PROVIDER, DONE + 2 * H)]


def test_a_side_reviews_once():
    job = _completed()
    job.review(Actor.CUSTOMER, "customer", 4, "", DONE)
    with pytest.raises(Conflict, match="the customer has already reviewed this job"):
        job.review(Actor.CUSTOMER, "customer", 5, "", DONE + H)


def test_the_last_instant_of_the_window_still_takes_a_review():
    job = _completed()
    assert job.review(Actor.CUSTOMER, "customer", 4, "", CLOSES).created_at == CLOSES
    with pytest.raises(Conflict) as caught:
        _completed().review(Actor.CUSTOMER, "customer", 4, "", CLOSES + timedelta(seconds=1))
    assert caught.value.detail == (
        f"the review window closed at {CLOSES.isoformat()} (14 days after completion)"
    )


def test_the_window_closing_publishes_what_there_is_and_takes_no_more():
    job = _completed()
    job.review(Actor.CUSTOMER, "customer", 4, "", DONE)
    job.events.clear()
    assert job.on_timer(CLOSES - timedelta(seconds=1)) is False
    assert job.reviews_published_at is None
    assert job.on_timer(CLOSES) is True
    assert job.published == [(Actor.CUSTOMER, CLOSES)]
    assert job.reviews_published_at == CLOSES and job.due_at is None
    assert job.events == [JobChanged(job)]
    with pytest.raises(Conflict) as caught:
        job.review(Actor.PROVIDER, "p", 5, "", CLOSES)
    assert caught.value.detail == (
        "The reviews of this job are already published: it takes no more."
    )
    job.due_at = CLOSES  # a stale timer fires again
    assert job.on_timer(CLOSES + H) is False
    assert job.due_at is None and job.published == [(Actor.CUSTOMER, CLOSES)]


def test_review_rules_say_why():
    with pytest.raises(Invalid) as caught:
        reviews.validate_review_text(["great"])
    assert caught.value.detail == "review text must be a string"
    with pytest.raises(Forbidden) as forbidden:
        reviews.reviewee(Actor.SYSTEM)
    assert forbidden.value.detail == "only the customer or the provider of a job can review it"
    with pytest.raises(Conflict, match="only once it is completed; it is accepted"):
        reviews.check_can_review(
            side=Actor.CUSTOMER,
            job_state=JobState.ACCEPTED,
            completed_at=DONE,
            now=DONE,
            already_reviewed=False,
        )


# --- refusals -----------------------------------------------------------------------------


def _refusal(current: str, to: str, actor: Actor) -> str:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, to, actor)
    return caught.value.detail


def test_a_move_that_does_not_exist_lists_the_ones_that_do():
    assert _refusal("accepted", "arrived", Actor.PROVIDER) == (
        "a job cannot go from accepted to arrived; from accepted it can go to: en_route, cancelled"
    )


def test_a_move_of_both_sides_names_them():
    assert _refusal("offered", "accepted", Actor.SYSTEM) == (
        "only the customer or the provider can move a job from offered to accepted; "
        "you are the system"
    )


def test_an_unknown_state_lists_the_known_ones():
    with pytest.raises(Invalid) as caught:
        parse_state("done")
    assert caught.value.detail == (
        "unknown job state 'done'; job states are: requested, offered, accepted, scheduled, "
        "en_route, arrived, in_progress, completed, cancelled, expired"
    )


def test_status_machine_and_offer_refusals_read_well():
    machine = StatusMachine("thing", {"a": frozenset({"c", "b"})})
    with pytest.raises(Conflict) as caught:
        machine.check("a", "d")
    assert caught.value.detail == "a thing cannot go from a to d; it can go to: b, c"
    offer = Offer("p", OfferStatus.ACCEPTED, T0, 1.0)
    assert offer_refused(offer).detail == "This offer is accepted."
    offer.status, offer.reason = OfferStatus.WITHDRAWN, "another provider took the request"
    assert offer_refused(offer).detail == (
        "This offer was withdrawn: another provider took the request."
    )


# --- dispatch plans -----------------------------------------------------------------------


def _plan(now_s: int = 0, live: int = 0, ranked: tuple[str, ...] = (), offered=()) -> DispatchPlan:
    return plan_dispatch(
        now=T0 + timedelta(seconds=now_s),
        expires_at=T0 + timedelta(minutes=15),
        live_offers=live,
        ranked=list(ranked),
        already_offered=set(offered),
        k=2,
    )


def test_dispatch_plans_and_their_reasons():
    assert _plan(now_s=15 * 60, ranked=("p1",)) == DispatchPlan(
        (), True, "the request's time is up"
    )
    assert _plan(ranked=("p1",), offered=("p1",)) == DispatchPlan(
        (), True, "every candidate has been offered and none accepted"
    )
    assert _plan(live=1, ranked=("p1", "p2", "p3")) == DispatchPlan(("p1",), False, "offering")
    assert _plan(live=2, ranked=("p1",)) == DispatchPlan((), False, "waiting for answers")


# --- when the nearby read may stop --------------------------------------------------------


def _scored(score: float) -> list[Ranked]:
    return [Ranked(Candidate("p", 1.0), score)]


def test_the_top_k_is_settled_only_strictly_above_the_bound_for_the_ceiling():
    bound = ranking.score_bound(5.0)
    assert ranking.settled(_scored(bound + 1e-6), 1, 5.0)
    assert not ranking.settled(_scored(bound), 1, 5.0)
    assert not ranking.settled(_scored(bound + 1.0), 0, 5.0)
    full = ranking.FULL_QUALITY_CEILING
    assert full > ranking.QUALITY_CEILING
    assert not ranking.settled(_scored(bound + 1e-6), 1, 5.0, full)


def test_the_radius_to_settle_needs_k_candidates_and_is_never_negative():
    assert ranking.radius_to_settle(_scored(0.5), 0) is None
    assert ranking.radius_to_settle(_scored(0.5), 2) is None
    radius = ranking.radius_to_settle(_scored(0.5), 1)
    assert radius is not None and 0.0 < radius <= ranking.MAX_RADIUS_KM
    assert ranking.radius_to_settle(_scored(10.0), 1) == 0.0


def test_asking_for_nobody_reads_nothing():
    def read(ranges: object, limit: object) -> tuple[list[object], bool]:
        raise AssertionError("read the index for k=0")

    assert ranking.best_nearby(38.72, -9.14, "plumbing", 0, read) == []
