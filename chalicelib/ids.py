"""Sortable ids (ULID) and timestamps (ISO 8601 UTC)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ULID = re.compile(ULID_PATTERN)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_id() -> str:
    """A ULID: 48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 chars.
    Written here rather than imported: python-ulid costs ~70 ms of cold start (it reads its
    own package metadata at import) for these few lines."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_id(value: str) -> bool:
    return bool(_ULID.match(value))


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: sorts as text."""
    m = (moment or now()).astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z"
