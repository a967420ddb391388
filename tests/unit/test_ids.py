"""Ids are ULIDs: 26 Crockford base32 chars, sortable by creation time."""

from __future__ import annotations

import time

import pytest

from chalicelib import ids

pytestmark = pytest.mark.unit

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _millis(ulid: str) -> int:
    value = 0
    for ch in ulid[:10]:
        value = value * 32 + _ALPHABET.index(ch)
    return value


def test_ids_are_ulids_that_sort_by_time_and_carry_it():
    before = time.time_ns() // 1_000_000
    first = ids.new_id()
    time.sleep(0.002)
    second = ids.new_id()
    after = time.time_ns() // 1_000_000
    assert ids.is_id(first) and ids.is_id(second)
    assert first < second
    assert before <= _millis(first) <= _millis(second) <= after


def test_ids_are_unique():
    assert len({ids.new_id() for _ in range(5000)}) == 5000


def test_timestamps_are_iso_utc_with_milliseconds():
    stamp = ids.iso()
    assert stamp.endswith("Z") and len(stamp) == 24 and stamp[10] == "T"


def test_the_ulid_encoding_matches_the_spec():
    # the spec's example 01ARZ3NDEKTSV4RRFFQ69G5FAV: its timestamp encodes back to its prefix
    assert ids.ulid(_millis("01ARZ3NDEKTSV4RRFFQ69G5FAV"), bytes(10))[:10] == "01ARZ3NDEK"
    assert ids.ulid(0, bytes(10)) == "0" * 26
    assert ids.ulid(0, b"\xff" * 10) == "0" * 10 + "Z" * 16
