"""Shapes shared by every capability."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

MAX_LIMIT = 100


class Model(BaseModel):
    """Base of every schema. ``defer_build``: a model builds its validator and serializer on
    first use instead of at class creation, so a cold start pays only for the models its
    first request touches (all of them at import cost ~90 ms; ``bench.cold_start``)."""

    model_config = ConfigDict(defer_build=True)


class Strict(Model):
    """Request bodies: unknown fields are an error (a typo must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Strict):
    lat: float = Field(ge=-90, le=90, description="Latitude in degrees")
    lng: float = Field(ge=-180, le=180, description="Longitude in degrees")
    address: str | None = Field(default=None, max_length=300)


class Page(Model, Generic[T]):
    """Every list: ``items`` and an opaque ``cursor`` (null on the last page)."""

    items: list[T]
    cursor: str | None = None


class PageQuery(Strict):
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, max_length=2048)


class Problem(Model):
    """RFC 9457 problem details: the body of every 4xx/5xx."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = Field(
        default=None, description="One entry per invalid field: {field, message}"
    )
