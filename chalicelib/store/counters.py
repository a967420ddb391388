"""A provider's ranking counters: the exact counts, and the copy the geo indexes hold.

Every offer made, offer accepted and published rating moves the exact counts
(``exact_*`` of the provider profile, not projected: no index entry is written). Matching
reads the copy in ``rating_count``, ``rating_sum``, ``offers_received`` and
``offers_accepted`` (projected into gsi3/gsi4: ``models.GEO_ATTRIBUTES``), which is
rewritten from the exact counts only when they score ``ranking.QUALITY_STEP`` apart from
it (``ranking.quality_moved``), and whenever the index entry is written anyway (a
re-index, a profile write). Items written before the exact counts existed hold exact
copies: the first count starts from the copy (``if_not_exists``). ADR 0024.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pynamodb.expressions.update import Action

from chalicelib.domain import ranking
from chalicelib.domain.reviews import RatingSummary
from chalicelib.store import keys
from chalicelib.store.models import Entity, ProviderItem

COUNTERS = ("rating_count", "rating_sum", "offers_received", "offers_accepted")
"""The ranking inputs, by the name of their indexed copy."""
EXACT = {name: f"exact_{name}" for name in COUNTERS}
"""Each counter's exact count."""
Counts = dict[str, int]


def indexed(item: ProviderItem) -> Counts:
    """The copy matching reads."""
    return {name: int(getattr(item, name) or 0) for name in COUNTERS}


def exact(item: ProviderItem) -> Counts:
    """The exact counts (the copy on items written before they existed)."""
    copy = indexed(item)
    out = {}
    for name in COUNTERS:
        value = getattr(item, EXACT[name])
        out[name] = copy[name] if value is None else int(value)
    return out


def inputs(counts: Mapping[str, int]) -> tuple[RatingSummary, ranking.Responsiveness]:
    """What ranking makes of counts."""
    return (
        RatingSummary(counts["rating_count"], counts["rating_sum"]),
        ranking.Responsiveness(
            offers_received=counts["offers_received"], offers_accepted=counts["offers_accepted"]
        ),
    )


def count_actions(current: ProviderItem | None, deltas: Mapping[str, int]) -> list[Action]:
    """The update that adds ``deltas`` (counter name -> change) to a provider's exact
    counts, as read in ``current`` (None: not read, e.g. no profile), and rewrites the
    indexed copy when the new counts score ``ranking.QUALITY_STEP`` apart from it. The
    exact counts are added atomically (``if_not_exists(exact, copy) + delta``): a
    concurrent count is not lost; the copy is what this writer saw plus its deltas."""
    seen = current if current is not None else ProviderItem()
    copy, now = indexed(seen), exact(seen)
    actions: list[Action] = []
    for name, delta in deltas.items():
        if delta:
            attribute = getattr(ProviderItem, EXACT[name])
            actions.append(attribute.set((attribute | copy[name]) + delta))
            now[name] += delta
    if current is not None and ranking.quality_moved(inputs(copy), inputs(now)):
        actions += [getattr(ProviderItem, name).set(now[name]) for name in COUNTERS]
    return actions


def refreshed(item: ProviderItem) -> dict[str, Any]:
    """The indexed copy made exact as of ``item`` (for a write that rewrites the
    provider's index entries anyway); the exact counts themselves are left alone."""
    return dict(exact(item))


def read(provider_ids: Iterable[str]) -> dict[str, ProviderItem]:
    """The providers' counters (consistent), by provider id; a provider without a profile
    is missing. 1 BatchGetItem (none for no ids)."""
    wanted = list(dict.fromkeys(provider_ids))
    if not wanted:
        return {}
    names = ["pk", "sk", "kind", *COUNTERS, *EXACT.values()]
    found = Entity.batch_get(
        [(keys.user(pid), keys.PROVIDER) for pid in wanted],
        consistent_read=True,
        attributes_to_get=names,
    )
    return {
        item.pk.removeprefix(keys.user("")): item
        for item in found
        if isinstance(item, ProviderItem)
    }
