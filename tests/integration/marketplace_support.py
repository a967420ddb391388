"""Helpers for the marketplace integration tests: people, providers, requests."""

from __future__ import annotations

import uuid

from chalicelib.auth import CUSTOMERS, PROVIDERS, Principal
from chalicelib.schemas.common import Location
from chalicelib.schemas.marketplace import RequestIn
from chalicelib.schemas.profiles import Availability, ProviderProfileIn
from chalicelib.services import profiles


def person(*groups: str) -> Principal:
    uid = str(uuid.uuid4())
    return Principal(user_id=uid, email=f"{uid[:8]}@example.com", groups=frozenset(groups))


def customer() -> Principal:
    return person(CUSTOMERS)


def provider(
    lat: float, lng: float, category: str = "plumbing", radius_km: float = 15
) -> Principal:
    who = person(PROVIDERS)
    profiles.put_provider(
        who,
        ProviderProfileIn(
            categories=[category],
            bio="",
            location=Location(lat=lat, lng=lng),
            radius_km=radius_km,
        ),
    )
    profiles.set_availability(who, Availability(online=True))
    return who


def request_in(
    lat: float, lng: float, mode: str = "instant", category: str = "plumbing"
) -> RequestIn:
    return RequestIn.model_validate(
        {
            "category": category,
            "description": "Leaking pipe",
            "location": {"lat": lat, "lng": lng},
            "mode": mode,
        }
    )
