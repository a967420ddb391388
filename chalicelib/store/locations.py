"""Live job locations: the last position a job's provider reported (pk=JOB#<job_id>,
sk=LOCATION, beside the job's own items), and who takes part in the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.store import keys, marketplace
from chalicelib.store.models import Entity, condition_failed, get_or_none


class LocationItem(Entity, discriminator="job_location"):
    job_id = UnicodeAttribute()
    provider_id = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    heading = NumberAttribute(null=True)
    speed_mps = NumberAttribute(null=True)
    accuracy_m = NumberAttribute(null=True)
    at_ms = NumberAttribute()


# --- live location ---------------------------------------------------------------------


def put_location(item: LocationItem, min_interval_ms: int) -> bool:
    """Keep the job's last position unless the previous one is less than
    ``min_interval_ms`` old (``False``: throttled, nothing written). 1 conditional PutItem."""
    at_ms = int(item.at_ms)
    try:
        item.save(
            condition=LocationItem.pk.does_not_exist()
            | (LocationItem.at_ms <= at_ms - min_interval_ms)
        )
    except Exception as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def location(job_id: str) -> LocationItem | None:
    """1 GetItem."""
    return get_or_none(LocationItem, *keys.job_location(job_id))


# --- the job, as the marketplace stores it ---------------------------------------------


@dataclass(frozen=True)
class JobParties:
    """What live location needs to know about a job."""

    job_id: str
    customer_id: str
    provider_id: str | None
    state: str


def job_parties(job_id: str) -> JobParties | None:
    """The job's customer, provider and state, read through the marketplace's repository.
    1 GetItem (consistent)."""
    job = marketplace.get_job(job_id)
    if job is None:
        return None
    return JobParties(
        job_id=job_id,
        customer_id=job.customer_id,
        provider_id=job.provider_id or None,
        state=job.state,
    )
