"""The job state machine: who may do what, and why a refusal is refused."""

from __future__ import annotations

from typing import get_args

import pytest

from chalicelib.domain.jobs import (
    CANCEL_WINDOWS,
    JOB_TRANSITIONS,
    ROUTE_TARGETS,
    TERMINAL_STATES,
    Actor,
    IllegalTransition,
    JobState,
    allowed_targets,
    check_transition,
    parse_state,
    render_transition_table,
)
from chalicelib.domain.reviews import REVIEWING_SIDES
from chalicelib.errors import Conflict, Invalid
from chalicelib.schemas.marketplace import RouteTarget, Side

pytestmark = pytest.mark.unit

C, P, S = Actor.CUSTOMER, Actor.PROVIDER, Actor.SYSTEM


def refusal(current: str, to: str, actor: Actor) -> IllegalTransition:
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, to, actor)
    return caught.value


def test_an_instant_job_walks_from_request_to_completion() -> None:
    steps = [
        ("requested", "offered", S),
        ("offered", "accepted", P),
        ("accepted", "en_route", P),
        ("en_route", "arrived", P),
        ("arrived", "in_progress", P),
        ("in_progress", "completed", P),
    ]
    for current, to, actor in steps:
        check_transition(current, to, actor)


def test_a_quote_job_is_accepted_by_the_customer_and_can_be_scheduled() -> None:
    check_transition(JobState.OFFERED, JobState.ACCEPTED, C)
    check_transition(JobState.OFFERED, JobState.SCHEDULED, C)
    check_transition(JobState.SCHEDULED, JobState.EN_ROUTE, P)


def test_an_illegal_transition_is_a_409_that_says_why() -> None:
    err = refusal("accepted", "completed", P)
    assert isinstance(err, Conflict)
    assert err.status == 409
    assert err.reason == "not_from_state"
    assert "cannot go from accepted to completed" in err.detail
    assert "en_route" in err.detail  # tells what is possible instead


def test_the_customer_cannot_take_the_providers_steps() -> None:
    for current, to in [
        ("accepted", "en_route"),
        ("en_route", "arrived"),
        ("arrived", "in_progress"),
    ]:
        err = refusal(current, to, C)
        assert err.reason == "not_your_role"
        assert "only the provider" in err.detail
        assert "you are the customer" in err.detail


def test_only_the_system_offers_and_expires() -> None:
    for actor in (C, P):
        assert refusal("requested", "offered", actor).reason == "not_your_role"
        assert refusal("offered", "expired", actor).reason == "not_your_role"
    check_transition("offered", "expired", S)
    check_transition("requested", "expired", S)


def test_either_side_may_complete_work_in_progress() -> None:
    check_transition("in_progress", "completed", C)
    check_transition("in_progress", "completed", P)


def test_the_customer_may_cancel_until_the_work_starts() -> None:
    for state in ("requested", "offered", "accepted", "scheduled", "en_route", "arrived"):
        check_transition(state, "cancelled", C)
    err = refusal("in_progress", "cancelled", C)
    assert err.reason == "not_from_state"
    assert "customer can cancel only while" in err.detail
    assert "it is in_progress" in err.detail


def test_the_provider_may_cancel_a_held_job_until_arrival() -> None:
    for state in ("accepted", "scheduled", "en_route"):
        check_transition(state, "cancelled", P)
    for state in ("arrived", "in_progress"):
        err = refusal(state, "cancelled", P)
        assert "provider can cancel only while the job is accepted, scheduled, en_route" in (
            err.detail
        )
    # a provider cannot cancel a request nobody holds yet
    assert refusal("offered", "cancelled", P).reason == "not_from_state"


def test_final_states_cannot_change() -> None:
    for final in TERMINAL_STATES:
        for to in JobState:
            if to == final:
                continue
            for actor in Actor:
                err = refusal(final, to, actor)
                assert err.reason == "terminal"
                assert "final state" in err.detail


def test_repeating_the_current_state_is_refused() -> None:
    err = refusal("en_route", "en_route", P)
    assert err.reason == "same_state"
    assert err.detail == "the job is already en_route"


def test_unknown_states_and_actors_are_bad_input() -> None:
    with pytest.raises(Invalid, match="unknown job state 'teleported'"):
        check_transition("accepted", "teleported", P)
    with pytest.raises(Invalid, match="unknown actor"):
        check_transition("accepted", "en_route", "admin")
    with pytest.raises(Invalid):
        parse_state(3)


def test_the_transitions_route_accepts_only_participant_targets() -> None:
    assert set(get_args(RouteTarget)) == ROUTE_TARGETS  # the schema's set is the domain's
    assert set(get_args(Side)) == REVIEWING_SIDES
    assert {
        JobState.EN_ROUTE,
        JobState.ARRIVED,
        JobState.IN_PROGRESS,
        JobState.COMPLETED,
        JobState.CANCELLED,
    } == ROUTE_TARGETS


def test_every_state_is_reachable_and_every_live_state_can_end() -> None:
    reachable = {JobState.REQUESTED}
    frontier = [JobState.REQUESTED]
    while frontier:
        state = frontier.pop()
        for t in JOB_TRANSITIONS:
            if t.source == state and t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    assert reachable == set(JobState)
    for state in set(JobState) - TERMINAL_STATES:
        assert any(t.source == state for t in JOB_TRANSITIONS)
    assert not any(t.source in TERMINAL_STATES for t in JOB_TRANSITIONS)


def test_each_edge_is_listed_once_and_cancellation_follows_the_windows() -> None:
    edges = [(t.source, t.target) for t in JOB_TRANSITIONS]
    assert len(edges) == len(set(edges))
    for t in JOB_TRANSITIONS:
        if t.target == JobState.CANCELLED:
            assert t.actors == {a for a, s in CANCEL_WINDOWS.items() if t.source in s}


def test_allowed_targets_is_what_a_client_can_offer_as_buttons() -> None:
    assert allowed_targets(JobState.EN_ROUTE, P) == [JobState.ARRIVED, JobState.CANCELLED]
    assert allowed_targets(JobState.EN_ROUTE, C) == [JobState.CANCELLED]
    assert allowed_targets(JobState.IN_PROGRESS, C) == [JobState.COMPLETED]
    assert allowed_targets(JobState.COMPLETED, P) == []


def test_the_markdown_table_lists_every_transition_and_who_takes_it() -> None:
    table = render_transition_table()
    lines = table.strip().splitlines()
    assert lines[0] == "| From | To | Who | What |"
    assert lines[1] == "|---|---|---|---|"
    assert len(lines) == 2 + len(JOB_TRANSITIONS)
    assert "| `accepted` | `en_route` | provider |" in table
    assert "| `arrived` | `cancelled` | customer |" in table
    assert "| `in_progress` | `completed` | customer, provider |" in table
    assert lines[2].startswith("| `requested` |")  # lifecycle order
