"""Objectionable text: the `better-profanity` word list (with its leetspeak variants) plus
the words operators add, minus the words they allow (one item, ``PUT /admin/words``).

* **Masked** (each offending word becomes ``****``): chat messages and review texts, so a
  conversation or a review still reads.
* **Refused** (400 naming the field): request descriptions, profile and provider names,
  which are shown to strangers before anyone chose to talk to their author.

The list is loaded once per container and re-read every :data:`WORDS_CACHE_S` seconds
(1 GetItem then).
"""

from __future__ import annotations

import time
from typing import Any

from better_profanity import Profanity

from chalicelib import runtime
from chalicelib.errors import Invalid
from chalicelib.store import moderation as repo

WORDS_CACHE_S = 60.0


def _filter() -> Profanity:
    cache: list[Any] = runtime.get().memo("moderation", lambda: [0.0, None])
    now = time.monotonic()
    if cache[1] is None or now - float(cache[0]) >= WORDS_CACHE_S:
        added, allowed = repo.words()
        words = Profanity()
        words.load_censor_words(whitelist_words=sorted(allowed))
        if added:
            words.add_censor_words(sorted(added))
        cache[:] = [now, words]
    found: Profanity = cache[1]
    return found


def forget() -> None:
    """Load the list again on next use (this container just changed it)."""
    runtime.get().memo("moderation", lambda: [0.0, None])[1] = None


def mask(text: str) -> str:
    """``text`` with every objectionable word as ``****``."""
    return _filter().censor(text) if text else text


def refuse(text: str | None, field: str) -> None:
    """400 naming ``field`` when ``text`` holds an objectionable word."""
    if text and _filter().contains_profanity(text):
        raise Invalid(
            f"{field}: contains words this marketplace does not allow.",
            errors=[{"field": field, "message": "contains words this marketplace does not allow"}],
        )
