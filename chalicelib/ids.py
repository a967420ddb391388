"""Sortable ids (ULID) and timestamps (ISO 8601 UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ulid import ULID

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ULID = re.compile(ULID_PATTERN)


def new_id() -> str:
    return str(ULID())


def is_id(value: str) -> bool:
    return bool(_ULID.match(value))


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: sorts as text."""
    m = (moment or now()).astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z"
