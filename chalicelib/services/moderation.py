"""Objectionable text: the `better-profanity` word list (with its leetspeak variants) plus
the words operators add, minus the words they allow (one item, ``PUT /admin/words``).

* **Masked** (each offending word becomes ``****``): chat messages and review texts, so a
  conversation or a review still reads.
* **Refused** (400 naming the field): request descriptions, profile and provider names,
  which are shown to strangers before anyone chose to talk to their author.

The list is loaded once per container and re-read every :data:`WORDS_CACHE_S` seconds
(1 GetItem then). Matching is indexed by word length and first letter (:class:`WordIndex`),
so a message costs a few comparisons per word, not one per listed word.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from better_profanity import Profanity
from better_profanity.varying_string import VaryingString

from chalicelib import runtime
from chalicelib.errors import Invalid
from chalicelib.store import moderation as repo

WORDS_CACHE_S = 60.0


class WordIndex:
    """The filter's word set, looked up by (length, first letter) instead of scanned.

    Stands in for ``Profanity.CENSOR_WORDSET`` (a list compared word by word, ~8 ms per
    chat message); a word matches as the library defines it (``VaryingString.__eq__``:
    ``4`` or ``@`` for ``a`` and so on), so results are the library's own.
    """

    def __init__(self, words: Iterable[VaryingString], char_map: dict[str, tuple[str, ...]]):
        self._sources: dict[str, set[str]] = {}
        for source, variants in char_map.items():
            for variant in variants:
                self._sources.setdefault(variant, set()).add(source)
        self._buckets: dict[tuple[int, str], list[VaryingString]] = {}
        self._count = 0
        for word in words:
            self.append(word)

    def append(self, word: VaryingString) -> None:
        text = str(word)
        if text:
            self._buckets.setdefault((len(text), text[0]), []).append(word)
            self._count += 1

    def __contains__(self, text: object) -> bool:
        if not isinstance(text, str) or not text:
            return False
        firsts = self._sources.get(text[0], set()) | {text[0]}
        return any(
            word == text for first in firsts for word in self._buckets.get((len(text), first), ())
        )

    def __iter__(self) -> Iterator[VaryingString]:
        for bucket in self._buckets.values():
            yield from bucket

    def __len__(self) -> int:
        return self._count


def _filter() -> Profanity:
    cache: list[Any] = runtime.get().memo("moderation", lambda: [0.0, None])
    now = time.monotonic()
    if cache[1] is None or now - float(cache[0]) >= WORDS_CACHE_S:
        added, allowed = repo.words()
        words = Profanity()
        words.load_censor_words(whitelist_words=sorted(allowed))
        words.CENSOR_WORDSET = WordIndex(words.CENSOR_WORDSET, words.CHARS_MAPPING)
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
