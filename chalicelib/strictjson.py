"""JSON input as the API accepts it, for HTTP bodies and WebSocket frames alike.

Stricter than :func:`json.loads`, each refusal a :class:`~chalicelib.errors.Invalid` (400 /
an ``error`` frame) that says what is wrong:

- nesting deeper than :data:`MAX_DEPTH` arrays/objects (no ``RecursionError``; DynamoDB
  stores at most 32 levels, so a deeper value could never be saved anyway);
- duplicate keys in one object (``json`` keeps the last one silently);
- ``NaN``, ``Infinity`` and ``-Infinity`` (not JSON; they would be stored as null), and
  numbers too large for a float (``1e400``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from chalicelib.errors import Invalid

MAX_DEPTH = 20
"""Arrays and objects inside each other, the outermost counted."""

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def depth(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (strings skipped); computed
    without recursion, before parsing, so any depth is cheap to refuse."""
    deepest = level = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        if match.group() in "[{":
            level += 1
            deepest = max(deepest, level)
        else:
            level -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Invalid(f"Duplicate key {key!r} in a JSON object: send each key once.")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise Invalid(f"{name} is not a JSON number: send a finite number.")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Invalid(f"{text[:20]} is out of range: send a finite number.")
    return value


def loads(raw: str | bytes, *, what: str = "The body") -> Any:
    """Parse ``raw`` (UTF-8 bytes or text) strictly (see the module doc)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise Invalid(f"{what} is not UTF-8: {exc}.") from exc
    if depth(text) > MAX_DEPTH:
        raise Invalid(f"{what} nests arrays/objects more than {MAX_DEPTH} levels deep.")
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_float=_finite,
        )
    except RecursionError as exc:  # unreachable after the depth check; never a 500
        raise Invalid(f"{what} nests too deeply.") from exc
    except ValueError as exc:
        raise Invalid(f"{what} is not valid JSON: {exc}.") from exc
