"""Review rules: once per side after completion, the window, publication, summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.jobs import Actor, JobState
from chalicelib.domain.reviews import (
    REVIEW_TEXT_MAX_CHARS,
    REVIEW_WINDOW,
    RatingSummary,
    check_can_review,
    reviewee,
    validate_rating,
    validate_review_text,
    window_closes_at,
)
from chalicelib.errors import Conflict, Forbidden, Invalid

pytestmark = pytest.mark.unit

DONE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_the_review_window_is_fourteen_days() -> None:
    assert timedelta(days=14) == REVIEW_WINDOW
    assert window_closes_at(DONE) == datetime(2025, 3, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("rating", [1, 3, 5])
def test_ratings_one_to_five_are_accepted(rating: int) -> None:
    assert validate_rating(rating) == rating


@pytest.mark.parametrize("bad", [0, 6, -1, 4.5, "5", None, True])
def test_other_ratings_are_refused(bad: object) -> None:
    with pytest.raises(Invalid, match="rating"):
        validate_rating(bad)


def test_review_text_is_optional_trimmed_and_capped() -> None:
    assert validate_review_text(None) == ""
    assert validate_review_text("  great job \n") == "great job"
    assert validate_review_text("x" * REVIEW_TEXT_MAX_CHARS) == "x" * REVIEW_TEXT_MAX_CHARS
    with pytest.raises(Invalid, match="at most"):
        validate_review_text("x" * (REVIEW_TEXT_MAX_CHARS + 1))
    with pytest.raises(Invalid):
        validate_review_text(5)


def test_each_side_may_review_a_completed_job_within_the_window() -> None:
    for side in (Actor.CUSTOMER, Actor.PROVIDER):
        check_can_review(
            side=side,
            job_state=JobState.COMPLETED,
            completed_at=DONE,
            now=DONE + timedelta(days=13, hours=23),
            already_reviewed=False,
        )


def test_a_job_not_completed_cannot_be_reviewed() -> None:
    with pytest.raises(Conflict, match="only once it is completed; it is in_progress"):
        check_can_review(
            side=Actor.CUSTOMER,
            job_state=JobState.IN_PROGRESS,
            completed_at=None,
            now=DONE,
            already_reviewed=False,
        )
    with pytest.raises(Conflict, match="it is cancelled"):
        check_can_review(
            side=Actor.CUSTOMER,
            job_state=JobState.CANCELLED,
            completed_at=None,
            now=DONE,
            already_reviewed=False,
        )


def test_a_second_review_by_the_same_side_is_a_conflict() -> None:
    with pytest.raises(Conflict, match="provider has already reviewed"):
        check_can_review(
            side=Actor.PROVIDER,
            job_state=JobState.COMPLETED,
            completed_at=DONE,
            now=DONE + timedelta(hours=1),
            already_reviewed=True,
        )


def test_a_review_after_the_window_is_refused() -> None:
    with pytest.raises(Conflict, match="review window closed"):
        check_can_review(
            side=Actor.CUSTOMER,
            job_state=JobState.COMPLETED,
            completed_at=DONE,
            now=DONE + REVIEW_WINDOW + timedelta(seconds=1),
            already_reviewed=False,
        )


def test_the_system_does_not_review() -> None:
    with pytest.raises(Forbidden):
        reviewee(Actor.SYSTEM)
    assert reviewee(Actor.CUSTOMER) == Actor.PROVIDER
    assert reviewee(Actor.PROVIDER) == Actor.CUSTOMER


def test_rating_summary_math() -> None:
    assert RatingSummary().average is None
    assert RatingSummary(4, 16).average == 4.0
