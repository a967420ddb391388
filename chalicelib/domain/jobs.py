"""The job lifecycle as data.

Job states (SPEC "Job lifecycle")::

    requested -> offered -> accepted | scheduled -> en_route -> arrived -> in_progress
              -> completed
    exits: cancelled, expired

* ``requested``: the customer created a request; nobody has seen it yet.
* ``offered``: the request is in front of providers (instant offers or quote invitations).
* ``accepted`` / ``scheduled``: a provider has the job -- ``accepted`` for "now",
  ``scheduled`` when the request names a later time window.
* ``en_route`` (the provider streams its location), ``arrived``, ``in_progress``.
* ``completed``, ``cancelled``, ``expired``: final; nothing leaves them.

Who may take each transition is in :data:`JOB_TRANSITIONS`; cancellation rules are
:data:`CANCEL_WINDOWS`: the **customer** may cancel until the work starts (any state before
``in_progress``); the **provider** may cancel a job it holds until it has ``arrived`` (from
``accepted``, ``scheduled`` or ``en_route``). Either side may mark ``in_progress`` work
``completed``. Only the system expires requests nobody took.

:func:`check_transition` refuses anything else with :class:`IllegalTransition`, a
``Conflict`` (HTTP 409) whose detail says why -- the job is already final, the move does
not exist from this state, or it exists but belongs to the other side. A refusal because of
role is a 409 too: the SPEC says an illegal transition is a 409 that says why, and the
caller is a participant (strangers never get this far; they get a 404).
:func:`render_transition_table` renders the table for the README.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from chalicelib.errors import Conflict, Invalid


class JobState(StrEnum):
    REQUESTED = "requested"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    EN_ROUTE = "en_route"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Actor(StrEnum):
    CUSTOMER = "customer"
    PROVIDER = "provider"
    SYSTEM = "system"


TERMINAL_STATES = frozenset({JobState.COMPLETED, JobState.CANCELLED, JobState.EXPIRED})
"""States nothing leaves."""

ROUTE_TARGETS = frozenset(
    {
        JobState.EN_ROUTE,
        JobState.ARRIVED,
        JobState.IN_PROGRESS,
        JobState.COMPLETED,
        JobState.CANCELLED,
    }
)
"""The ``to`` values ``POST /jobs/{id}/transitions`` accepts (the others are taken by the
offer/quote routes and by the timers)."""

CANCEL_WINDOWS: Mapping[Actor, frozenset[JobState]] = MappingProxyType(
    {
        Actor.CUSTOMER: frozenset(
            {
                JobState.REQUESTED,
                JobState.OFFERED,
                JobState.ACCEPTED,
                JobState.SCHEDULED,
                JobState.EN_ROUTE,
                JobState.ARRIVED,
            }
        ),
        Actor.PROVIDER: frozenset({JobState.ACCEPTED, JobState.SCHEDULED, JobState.EN_ROUTE}),
    }
)
"""From which states each side may cancel: customer until ``in_progress``, provider until
``arrived``."""

_ORDER = tuple(JobState)
_C, _P, _S = Actor.CUSTOMER, Actor.PROVIDER, Actor.SYSTEM


@dataclass(frozen=True)
class Transition:
    """One edge of the job state machine and the actors allowed to take it."""

    source: JobState
    target: JobState
    actors: frozenset[Actor]
    description: str


_CANCELLATIONS = tuple(
    Transition(
        state,
        JobState.CANCELLED,
        actors,
        "cancel (customer: until in_progress; provider: until arrived)",
    )
    for state in _ORDER
    if (actors := frozenset(a for a, states in CANCEL_WINDOWS.items() if state in states))
)
"""One cancel edge per state some side may cancel from (:data:`CANCEL_WINDOWS`)."""


JOB_TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        JobState.REQUESTED,
        JobState.OFFERED,
        frozenset({_S}),
        "the dispatcher puts the request in front of the first candidates",
    ),
    Transition(
        JobState.OFFERED,
        JobState.ACCEPTED,
        frozenset({_P, _C}),
        "a provider accepts an offer (instant) or the customer accepts a quote",
    ),
    Transition(
        JobState.OFFERED,
        JobState.SCHEDULED,
        frozenset({_P, _C}),
        "as accepted, when the request asks for a later time window",
    ),
    Transition(JobState.ACCEPTED, JobState.EN_ROUTE, frozenset({_P}), "the provider sets off"),
    Transition(JobState.SCHEDULED, JobState.EN_ROUTE, frozenset({_P}), "the provider sets off"),
    Transition(JobState.EN_ROUTE, JobState.ARRIVED, frozenset({_P}), "the provider is there"),
    Transition(
        JobState.ARRIVED, JobState.IN_PROGRESS, frozenset({_P}), "the provider starts the work"
    ),
    Transition(
        JobState.IN_PROGRESS,
        JobState.COMPLETED,
        frozenset({_P, _C}),
        "either side marks the work done",
    ),
    Transition(
        JobState.REQUESTED, JobState.EXPIRED, frozenset({_S}), "no candidate could be found"
    ),
    Transition(JobState.OFFERED, JobState.EXPIRED, frozenset({_S}), "nobody took it in time"),
    *_CANCELLATIONS,
)
"""Every legal move; anything not listed here is illegal."""

_EDGES: Mapping[tuple[JobState, JobState], Transition] = MappingProxyType(
    {(t.source, t.target): t for t in JOB_TRANSITIONS}
)


class IllegalTransition(Conflict):
    """A refused job transition (HTTP 409). ``reason`` is one of ``same_state``,
    ``terminal``, ``not_from_state``, ``not_your_role``, for callers and tests."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


def parse_state(value: object) -> JobState:
    """A job state from its name; ``Invalid`` (400) naming the known states otherwise."""
    if isinstance(value, str):
        try:
            return JobState(value)
        except ValueError:
            pass
    known = ", ".join(s.value for s in JobState)
    raise Invalid(f"unknown job state {value!r}; job states are: {known}")


def _names(states: Collection[JobState]) -> str:
    return ", ".join(s.value for s in _ORDER if s in states)


def allowed_targets(current: JobState, actor: Actor) -> list[JobState]:
    """The states ``actor`` may move a job in ``current`` to, in lifecycle order."""
    return [t.target for t in JOB_TRANSITIONS if t.source == current and actor in t.actors]


def check_transition(current: JobState | str, to: JobState | str, actor: Actor | str) -> None:
    """Return if ``actor`` may move a job from ``current`` to ``to``; raise otherwise.

    Raises ``Invalid`` (400) for an unknown state or actor name, and
    :class:`IllegalTransition` (a ``Conflict``, 409) whose detail says why the move is
    refused: the job is already in that state, it is final, the move does not exist from
    this state (for a cancellation: until when this side may cancel), or the move exists
    but belongs to the other side.
    """
    src, dst = parse_state(current), parse_state(to)
    try:
        who = Actor(actor)
    except ValueError:
        raise Invalid(f"unknown actor {actor!r}") from None

    def refuse(detail: str, reason: str) -> IllegalTransition:
        return IllegalTransition(detail, reason=reason)

    if src == dst:
        raise refuse(f"the job is already {src.value}", "same_state")
    if src in TERMINAL_STATES:
        raise refuse(
            f"the job is {src.value}, a final state: it cannot change any more", "terminal"
        )
    if dst == JobState.CANCELLED and who in CANCEL_WINDOWS and src not in CANCEL_WINDOWS[who]:
        raise refuse(
            f"the {who.value} can cancel only while the job is "
            f"{_names(CANCEL_WINDOWS[who])}; it is {src.value}",
            "not_from_state",
        )
    edge = _EDGES.get((src, dst))
    if edge is None:
        onward = {t.target for t in JOB_TRANSITIONS if t.source == src}
        raise refuse(
            f"a job cannot go from {src.value} to {dst.value}; "
            f"from {src.value} it can go to: {_names(onward)}",
            "not_from_state",
        )
    if who not in edge.actors:
        takers = " or the ".join(a.value for a in Actor if a in edge.actors)
        raise refuse(
            f"only the {takers} can move a job from {src.value} to {dst.value}; "
            f"you are the {who.value}",
            "not_your_role",
        )


def render_transition_table() -> str:
    """The job state machine as a Markdown table (From | To | Who | What), for the README."""
    lines = ["| From | To | Who | What |", "|---|---|---|---|"]
    for t in sorted(
        JOB_TRANSITIONS, key=lambda t: (_ORDER.index(t.source), _ORDER.index(t.target))
    ):
        who = ", ".join(a.value for a in Actor if a in t.actors)
        lines.append(f"| `{t.source.value}` | `{t.target.value}` | {who} | {t.description} |")
    return "\n".join(lines) + "\n"
