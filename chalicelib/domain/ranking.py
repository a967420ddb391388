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

The Bayesian smoothing pulls a newcomer's rating towards 4.0 as if it had 5 reviews of
4.0, so one 5-star review does not beat fifty 4.8s, and a newcomer with no history is
neither buried nor promoted (accept ratio 0.5, typical 60 s response). Ties break by
provider id, so the order is fully deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from chalicelib.domain.geo import MAX_RADIUS_KM, haversine_km
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
        return (self.offers_accepted + prior) / (self.offers_received + PRIOR_OFFERS_WEIGHT)

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
    :func:`chalicelib.domain.geo.ranges_to_query`), minus ``exclude`` (e.g. the customer
    themself, when they are also a provider). Duplicates are dropped."""
    out: dict[str, Candidate] = {}
    for p in providers:
        if p.provider_id in exclude or p.provider_id in out:
            continue
        distance = distance_if_eligible(p, category, lat, lng)
        if distance is not None:
            out[p.provider_id] = Candidate(p.provider_id, distance, p.rating, p.responsiveness)
    return list(out.values())


def rating_score(rating: RatingSummary) -> float:
    """Bayesian-smoothed average rating mapped to 0..1."""
    total = rating.total + PRIOR_RATING * PRIOR_RATING_WEIGHT
    bayes = total / (rating.count + PRIOR_RATING_WEIGHT)
    return (bayes - 1.0) / 4.0


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


def rank(candidates: Iterable[Candidate]) -> list[Ranked]:
    """Best first; equal scores in provider-id order."""
    scored = [Ranked(c, score(c)) for c in candidates]
    return sorted(scored, key=lambda r: (-r.score, r.provider_id))
