"""Who is eligible for a request, and in which order they hear of it.

Eligibility (:func:`is_eligible`): the provider is **online**, offers the request's
**category**, and the request lies within the provider's **own** service radius
(great-circle distance <= ``radius_km``). The geo index (:mod:`chalicelib.domain.geo`)
only narrows the search to nearby cells; this predicate is the exact rule.

Ranking formula (:func:`score`), every component in 0..1, higher is better::

    score = 0.5 * proximity + 0.3 * rating + 0.2 * responsiveness

    proximity      = 1 - min(distance_km, MAX_RADIUS_KM) / MAX_RADIUS_KM
    rating         = (bayes - 1) / 4
      bayes        = (PRIOR_RATING * PRIOR_RATING_WEIGHT + total) / (PRIOR_RATING_WEIGHT + count)
    responsiveness = (accept + speed) / 2
      accept       = (accepted + PRIOR_ACCEPT_RATIO * PRIOR_OFFERS_WEIGHT)
                     / (received + PRIOR_OFFERS_WEIGHT)
      speed        = RESPONSE_REFERENCE_S / (RESPONSE_REFERENCE_S + mean_response_s)
      mean_response_s = (response_seconds_total + RESPONSE_REFERENCE_S * PRIOR_OFFERS_WEIGHT)
                        / (responses + PRIOR_OFFERS_WEIGHT)

(``accept`` and ``rating`` are capped at 1: counters that disagree cannot make a
component exceed its range.)

Matching ranks by the counts the geo index holds: a copy of the provider's exact counts
rewritten when they score :data:`QUALITY_STEP` apart from it (:func:`quality_moved`,
``store/counters.py``), so both the bounded and the exhaustive ranking see the same inputs.

The Bayesian smoothing pulls a newcomer's rating towards 4.0 as if it had 5 reviews of
4.0, so one 5-star review does not beat fifty 4.8s, and a newcomer with no history is
neither buried nor promoted (accept ratio 0.5, typical 60 s response). Ties break by
provider id, so the order is fully deterministic.

Bounded matching (:func:`best_nearby`, ADR 0014)
------------------------------------------------
A request is offered to the top ``k`` only, so matching reads the geo index nearest first
and stops as soon as nobody not yet read can enter the top ``k``. The bound: everything
but proximity is at most :data:`QUALITY_CEILING` (rating <= 1; responsiveness <= 0.75,
since the index records no response times and every provider's speed is the prior's 0.5:
``(1 + 0.5) / 2``), so a provider farther than ``D`` km scores less than::

    score_bound(D) = WEIGHT_PROXIMITY * proximity(D) + QUALITY_CEILING
                   = 0.5 * (1 - D / 20) + 0.45

Once every provider within ``D`` has been read and the ``k``-th best read scores at least
``score_bound(D)``, the top ``k`` read is the top ``k`` of everyone (ties: a provider
not read scores strictly less). With ``s`` that ``k``-th score, the radius that settles
it is ``radius_to_settle = 20 * (1 - 2 * (s - 0.45))`` km, so the search reads at most one
more ring. The rings (:func:`best_nearby`): first the whole 20 km disc with at most
:data:`PROBE_LIMIT` providers per range (a sparse area ends there, exact, in 2 Queries);
when a range holds more, the fine index (5 km bands) from :data:`FIRST_RADIUS_KM` out to
the radius that settles it, or the whole disc once that radius passes
:data:`FULL_READ_FROM_KM`. The cost follows ``k`` and the quality spread, not the providers
in the city: it is what lies within the settling radius (4-8 km in a dense city).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.geo import (
    MAX_RADIUS_KM,
    IndexRange,
    fine_ranges,
    haversine_km,
    ranges_to_query,
)
from chalicelib.domain.reviews import RatingSummary

WEIGHT_PROXIMITY = 0.5
WEIGHT_RATING = 0.3
WEIGHT_RESPONSIVENESS = 0.2
PRIOR_RATING = 4.0
PRIOR_RATING_WEIGHT = 5
PRIOR_ACCEPT_RATIO = 0.5
PRIOR_OFFERS_WEIGHT = 5
RESPONSE_REFERENCE_S = 60.0
"""A mean response time of 60 s scores 0.5 on speed; 0 s scores 1."""


@dataclass(frozen=True)
class Responsiveness:
    """Counters a store can keep with atomic ``ADD``: offers received, offers accepted,
    offers answered (accepted or declined) and the total seconds those answers took."""

    offers_received: int = 0
    offers_accepted: int = 0
    responses: int = 0
    response_seconds_total: float = 0.0

    @property
    def accept_ratio(self) -> float:
        """Smoothed share of offers accepted."""
        prior = PRIOR_ACCEPT_RATIO * PRIOR_OFFERS_WEIGHT
        ratio = (self.offers_accepted + prior) / (self.offers_received + PRIOR_OFFERS_WEIGHT)
        return min(1.0, ratio)

    @property
    def mean_response_s(self) -> float:
        """Smoothed mean seconds to answer an offer."""
        prior = RESPONSE_REFERENCE_S * PRIOR_OFFERS_WEIGHT
        return (self.response_seconds_total + prior) / (self.responses + PRIOR_OFFERS_WEIGHT)

    @property
    def score(self) -> float:
        speed = RESPONSE_REFERENCE_S / (RESPONSE_REFERENCE_S + max(0.0, self.mean_response_s))
        return (self.accept_ratio + speed) / 2


@dataclass(frozen=True)
class ProviderSnapshot:
    """What matching needs to know of one provider (as read from the geo index)."""

    provider_id: str
    lat: float
    lng: float
    radius_km: float
    online: bool
    categories: frozenset[str]
    rating: RatingSummary = field(default_factory=RatingSummary)
    responsiveness: Responsiveness = field(default_factory=Responsiveness)
    kept_apart: frozenset[str] = frozenset()
    """Users this provider must never be matched with (blocks, either way)."""


@dataclass(frozen=True)
class Candidate:
    """An eligible provider for one request."""

    provider_id: str
    distance_km: float
    rating: RatingSummary = field(default_factory=RatingSummary)
    responsiveness: Responsiveness = field(default_factory=Responsiveness)


@dataclass(frozen=True)
class Ranked:
    """A candidate with its score (higher first)."""

    candidate: Candidate
    score: float

    @property
    def provider_id(self) -> str:
        return self.candidate.provider_id


def distance_if_eligible(
    provider: ProviderSnapshot, category: str, lat: float, lng: float
) -> float | None:
    """The provider's distance to the request in km if it is eligible, else None."""
    if not provider.online or category not in provider.categories:
        return None
    distance = haversine_km(lat, lng, provider.lat, provider.lng)
    return distance if distance <= provider.radius_km else None


def candidates_for(
    lat: float,
    lng: float,
    category: str,
    providers: Iterable[ProviderSnapshot],
    exclude: Collection[str] = (),
) -> list[Candidate]:
    """The eligible providers among ``providers`` (e.g. everyone read from the ranges of
    :func:`chalicelib.domain.geo.ranges_to_query`), minus ``exclude`` (the customer
    themself, when they are also a provider) and anyone kept apart from a user of
    ``exclude`` (a block, either way). Duplicates are dropped."""
    out: dict[str, Candidate] = {}
    for p in providers:
        if p.provider_id in exclude or p.provider_id in out or not p.kept_apart.isdisjoint(exclude):
            continue
        distance = distance_if_eligible(p, category, lat, lng)
        if distance is not None:
            out[p.provider_id] = Candidate(p.provider_id, distance, p.rating, p.responsiveness)
    return list(out.values())


def rating_score(rating: RatingSummary) -> float:
    """Bayesian-smoothed average rating mapped to 0..1."""
    total = rating.total + PRIOR_RATING * PRIOR_RATING_WEIGHT
    bayes = total / (rating.count + PRIOR_RATING_WEIGHT)
    return min(1.0, (bayes - 1.0) / 4.0)


def proximity_score(distance_km: float) -> float:
    """1 at the request's door, 0 at MAX_RADIUS_KM and beyond."""
    return 1.0 - min(max(distance_km, 0.0), MAX_RADIUS_KM) / MAX_RADIUS_KM


def score(candidate: Candidate) -> float:
    """The documented weighted score (module docstring), in 0..1."""
    return (
        WEIGHT_PROXIMITY * proximity_score(candidate.distance_km)
        + WEIGHT_RATING * rating_score(candidate.rating)
        + WEIGHT_RESPONSIVENESS * candidate.responsiveness.score
    )


QUALITY_STEP = 0.005
"""How far the counters' part of a score (:func:`quality`) may drift from the copy the geo
index holds before the copy is rewritten (:func:`quality_moved`; ADR 0024): as much as
0.2 km of proximity (ADR 0023)."""


def quality(rating: RatingSummary, responsiveness: Responsiveness) -> float:
    """What a provider's counters add to their score: the rating and responsiveness terms
    (everything but proximity), in 0..:data:`FULL_QUALITY_CEILING`."""
    return WEIGHT_RATING * rating_score(rating) + WEIGHT_RESPONSIVENESS * responsiveness.score


def quality_moved(
    indexed: tuple[RatingSummary, Responsiveness], exact: tuple[RatingSummary, Responsiveness]
) -> bool:
    """Whether exact counters score at least :data:`QUALITY_STEP` away from the indexed
    copy's (so the copy matching reads is to be rewritten)."""
    return abs(quality(*exact) - quality(*indexed)) >= QUALITY_STEP - _EPSILON


def rank(candidates: Iterable[Candidate]) -> list[Ranked]:
    """Best first; equal scores in provider-id order."""
    scored = [Ranked(c, score(c)) for c in candidates]
    return sorted(scored, key=lambda r: (-r.score, r.provider_id))


# --- bounded matching ---------------------------------------------------------------------

PRIOR_SPEED = RESPONSE_REFERENCE_S / (RESPONSE_REFERENCE_S + RESPONSE_REFERENCE_S)
"""Speed of a provider with no recorded response times (all of them: the geo index holds
none, ``store.models.GEO_ATTRIBUTES``)."""
QUALITY_CEILING = WEIGHT_RATING * 1.0 + WEIGHT_RESPONSIVENESS * (1.0 + PRIOR_SPEED) / 2
"""The most a provider can score besides proximity (0.45): rating <= 1, accept <= 1."""
FULL_QUALITY_CEILING = WEIGHT_RATING + WEIGHT_RESPONSIVENESS
"""The ceiling once response times are known (speed <= 1): used if a snapshot has any."""
PROBE_LIMIT = 40
"""Providers read per band range before matching switches to the fine index."""
FIRST_RADIUS_KM = 1.5
"""The first ring of the fine index when the probe found a crowded area."""
FULL_READ_FROM_KM = MAX_RADIUS_KM
"""A settling radius this wide reads the whole disc through the band index (2 Queries)."""
_EPSILON = 1e-9

Reader = Callable[[Sequence[IndexRange], int | None], tuple[list[ProviderSnapshot], bool]]
"""Reads index ranges, each at most ``limit`` providers (None: all); returns the providers
and whether some range held more than ``limit``."""


def score_bound(radius_km: float, ceiling: float = QUALITY_CEILING) -> float:
    """Every provider farther than ``radius_km`` scores less than this."""
    return WEIGHT_PROXIMITY * proximity_score(radius_km) + ceiling


def settled(
    ranked: Sequence[Ranked], k: int, radius_km: float, ceiling: float = QUALITY_CEILING
) -> bool:
    """Whether the top ``k`` of ``ranked`` (everyone eligible within ``radius_km``, and
    perhaps some beyond) is the top ``k`` of everyone."""
    if radius_km >= MAX_RADIUS_KM:
        return True
    return len(ranked) >= k > 0 and ranked[k - 1].score >= score_bound(radius_km, ceiling) + (
        _EPSILON
    )


def radius_to_settle(
    ranked: Sequence[Ranked], k: int, ceiling: float = QUALITY_CEILING
) -> float | None:
    """The radius within which everyone must be read for the top ``k`` to be settled, given
    the ``k``-th score so far (it only shrinks as more is read); None with fewer than
    ``k`` candidates."""
    if k <= 0 or len(ranked) < k:
        return None
    slack = (ranked[k - 1].score - ceiling - _EPSILON * 2) / WEIGHT_PROXIMITY
    return min(MAX_RADIUS_KM, max(0.0, MAX_RADIUS_KM * (1.0 - slack)))


def best_nearby(
    lat: float,
    lng: float,
    category: str,
    k: int,
    read: Reader,
    exclude: Collection[str] = (),
) -> list[Ranked]:
    """The top ``k`` eligible providers for a request, best first, reading the geo index
    nearest first and no farther than the bound needs (module docstring)."""
    seen: dict[str, ProviderSnapshot] = {}

    def take(ranges: Sequence[IndexRange], limit: int | None) -> tuple[list[Ranked], bool]:
        found, truncated = read(ranges, limit)
        for p in found:
            seen[p.provider_id] = p
        ranked = rank(candidates_for(lat, lng, category, seen.values(), exclude=exclude))
        return ranked, truncated

    def ceiling() -> float:
        timed = any(p.responsiveness.responses for p in seen.values())
        return FULL_QUALITY_CEILING if timed else QUALITY_CEILING

    everything = ranges_to_query(lat, lng)
    if k <= 0:
        return []
    ranked, truncated = take(everything, PROBE_LIMIT)
    if not truncated:
        return ranked[:k]
    radius = FIRST_RADIUS_KM
    while True:
        ranked, _ = take(fine_ranges(lat, lng, radius), None)
        if settled(ranked, k, radius, ceiling()):
            return ranked[:k]
        wanted = radius_to_settle(ranked, k, ceiling())
        if wanted is None:  # fewer than k so far: grow with the candidates found
            found = len(ranked)
            wanted = radius * max(2.0, math.sqrt(2.0 * k / max(found, 0.5)))
        radius = max(wanted, radius * 1.25)
        if radius >= FULL_READ_FROM_KM:
            ranked, _ = take(everything, None)
            return ranked[:k]
