"""Sortable ids (ULID) and timestamps (ISO 8601 UTC)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"
_ULID = re.compile(ULID_PATTERN)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(millis: int, randomness: bytes) -> str:
    """The ULID of a millisecond timestamp and 10 bytes of randomness: Crockford base32,
    26 chars, sorting by time."""
    value = millis << 80 | int.from_bytes(randomness[:10].rjust(10, b"\0"), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id() -> str:
    """A new ULID. Written here rather than imported: python-ulid costs ~70 ms of cold start
    (it reads its own package metadata at import) for these few lines."""
    return ulid(time.time_ns() // 1_000_000, os.urandom(10))


def is_id(value: str) -> bool:
    return bool(_ULID.match(value))


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: sorts as text."""
    m = (moment or now()).astimezone(UTC)
    return m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}Z"


DELETED_USER = "deleted-"
"""How the pseudonym of a deleted account starts (``deleted-<random id>``): what the other
side keeps shows that user as deleted (``services/erasure.py``)."""


def is_deleted_user(user_id: str) -> bool:
    return user_id.startswith(DELETED_USER)
