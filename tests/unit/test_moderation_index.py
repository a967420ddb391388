"""The indexed word set masks exactly what the library's own list does."""

from __future__ import annotations

import random

import pytest
from better_profanity import Profanity

from chalicelib.services.moderation import WordIndex


def _filters(extra: list[str]) -> tuple[Profanity, Profanity]:
    plain, indexed = Profanity(), Profanity()
    for words in (plain, indexed):
        words.load_censor_words(whitelist_words=["hell"])
    indexed.CENSOR_WORDSET = WordIndex(indexed.CENSOR_WORDSET, indexed.CHARS_MAPPING)
    for words in (plain, indexed):
        words.add_censor_words(extra)
    return plain, indexed


def test_listed_words_and_their_leetspeak_are_masked_as_the_library_masks_it() -> None:
    plain, indexed = _filters(["grrr"])
    listed = [str(word) for word in plain.CENSOR_WORDSET]
    assert len(indexed.CENSOR_WORDSET) == len(listed)
    leet = str.maketrans({"a": "4", "e": "3", "s": "$", "o": "0", "i": "1", "t": "7"})
    for word in [*listed[::4], "grrr"]:
        for text in (word, word.translate(leet), f"oh {word.upper()}!", f"x{word}"):
            assert indexed.censor(text) == plain.censor(text), text


def test_random_sentences_come_out_the_same() -> None:
    plain, indexed = _filters(["grrr"])
    rng = random.Random(7)
    pool = [str(word) for word in plain.CENSOR_WORDSET][:200]
    pool += ["hello", "plumber", "at", "5pm", "sh1t", "f*ck", "a$$", "hell", "grrr", "@ss", "-"]
    for _ in range(200):
        text = " ".join(rng.choice(pool) for _ in range(rng.randint(1, 10)))
        assert indexed.censor(text) == plain.censor(text), text


@pytest.mark.parametrize("text", ["", "bring the wrench", "hell yes", "5 pm"])
def test_clean_text_and_allowed_words_stay_as_they_are(text: str) -> None:
    _, indexed = _filters([])
    assert indexed.censor(text) == text
