"""Shapes shared by every capability."""

from __future__ import annotations

import re
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")

MAX_LIMIT = 100


class Model(BaseModel):
    """Base of every schema. ``defer_build``: a model builds its validator and serializer on
    first use instead of at class creation, so a cold start pays only for the models its
    first request touches (all of them at import cost ~90 ms; ``bench.cold_start``)."""

    model_config = ConfigDict(defer_build=True)


_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffb]"
)
"""Characters no text field takes: NUL and the other C0/C1 controls (tab, line feed and
carriage return excepted), bidi embeddings/overrides/isolates (a name that reads
backwards), the BOM and interlinear annotation marks."""
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def unsafe_text(value: str) -> str | None:
    """Why ``value`` is refused as text, or None."""
    found = _UNSAFE.search(value)
    if found is None:
        return None
    return f"contains U+{ord(found.group()):04X} (control and bidi override characters are refused)"


def single_line(value: str) -> str:
    """A one-line text (names): no tab or line break either."""
    if _LINE_BREAKS.search(value):
        raise ValueError("must be one line (no tab or line break)")
    return value


class Strict(Model):
    """Request bodies and frames: unknown fields are an error (a typo must not be silently
    dropped); NaN/Infinity are refused; every text (every ``str`` field, and the strings of
    list fields) is refused with a control or bidi override character. The HTTP and
    WebSocket edges validate JSON in strict mode (``payloads.parse_body``): no ``"45.1"`` for
    a number, no ``true`` for a number, no ``"yes"`` for a bool."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _safe_text(cls, value: Any) -> Any:
        texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for text in texts:
            if isinstance(text, str) and (why := unsafe_text(text)):
                raise ValueError(why)
        return value


class Location(Strict):
    lat: float = Field(ge=-90, le=90, description="Latitude in degrees")
    lng: float = Field(ge=-180, le=180, description="Longitude in degrees")
    address: str | None = Field(default=None, max_length=300)

    @field_validator("address")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value)


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
