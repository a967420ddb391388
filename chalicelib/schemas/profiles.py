"""Profiles, settings, provider profiles and categories."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from chalicelib.domain.geo import MAX_RADIUS_KM
from chalicelib.ids import ULID_PATTERN
from chalicelib.schemas.common import Location, Model, Strict, single_line

Role = Literal["customers", "providers"]
E164 = r"^\+[1-9][0-9]{6,14}$"

EVENT_TYPES = (
    "chat.message",
    "offer.new",
    "offer.withdrawn",
    "request.updated",
    "quote.new",
    "job.updated",
    "announcement",
)
MAX_CLIENT_SETTINGS_BYTES = 8 * 1024


class Profile(Model):
    id: str
    email: str | None = None
    name: str | None = None
    phone: str | None = None
    avatar_media_id: str | None = None
    roles: list[Role] = Field(description="From the token's cognito:groups")
    created_at: str | None = None
    updated_at: str | None = None


class ProfilePatch(Strict):
    """Only the fields sent change; ``null`` clears a field."""

    name: str | None = Field(default=None, min_length=1, max_length=80)
    phone: str | None = Field(default=None, pattern=E164, description="E.164, e.g. +14155550100")
    avatar_media_id: str | None = Field(default=None, pattern=ULID_PATTERN)

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value)

    @model_validator(mode="after")
    def _not_empty(self) -> ProfilePatch:
        if not self.model_fields_set:
            raise ValueError("send at least one of name, phone, avatar_media_id")
        return self


class NotificationSettings(Strict):
    muted: list[Literal[EVENT_TYPES]] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Event types that never become a mobile push"
    )


class SettingsDoc(Strict):
    """Per-user settings, synced across devices (versioned: ETag / If-Match)."""

    locale: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-[A-Z]{2})?$")
    distance_unit: Literal["km", "mi"] = "km"
    notifications: NotificationSettings = Field(default_factory=NotificationSettings)
    client: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Free-form app data, at most {MAX_CLIENT_SETTINGS_BYTES} bytes as JSON",
    )

    @field_validator("client")
    @classmethod
    def _client_size(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > MAX_CLIENT_SETTINGS_BYTES:
            raise ValueError(f"at most {MAX_CLIENT_SETTINGS_BYTES} bytes as JSON")
        return value


class SettingsIn(SettingsDoc):
    """What ``PUT /me/settings`` takes: the settings, and optionally the ``version`` you
    read (so the body of ``GET /me/settings`` can be sent back as it is)."""

    version: int | None = Field(
        default=None,
        ge=0,
        description="The version you read: the same precondition as If-Match (send either; "
        "both must name the same version)",
    )


class SettingsOut(SettingsDoc):
    version: int = Field(description="Also sent as the ETag header")


class Category(Model):
    id: str
    name: str
    icon: str | None = None


class Rate(Strict):
    amount: Decimal = Field(ge=0, le=100000, max_digits=9, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    unit: Literal["hour", "job"] = "hour"


class RateIn(Rate):
    """``Rate`` as a request takes it; named apart from the output ``Rate`` (see ``MoneyIn``)."""


class ProviderProfileIn(Strict):
    categories: list[str] = Field(min_length=1, max_length=20)
    bio: str = Field(default="", max_length=2000)
    location: Location
    radius_km: float = Field(gt=0, le=MAX_RADIUS_KM)
    rate: RateIn | None = None

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("category ids must be unique")
        return value


class Availability(Strict):
    online: bool
    location: Location | None = Field(
        default=None, description="Required to go online unless the profile has one"
    )


class RatingSummary(Model):
    count: int
    average: float | None


class ProviderPublic(Model):
    """What anyone signed in sees of a provider (never the exact location)."""

    id: str
    name: str | None = None
    avatar_media_id: str | None = None
    categories: list[str]
    bio: str
    rate: Rate | None = None
    radius_km: float | None = None
    online: bool
    rating: RatingSummary


class ProviderMe(ProviderPublic):
    location: Location | None = None
    version: int
