"""Strict JSON input (HTTP bodies and WebSocket frames): depth, duplicate keys, NaN."""

from __future__ import annotations

import pytest

from chalicelib import strictjson
from chalicelib.errors import Invalid

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[" * 5000 + "]" * 5000, "nests"),
        ('{"a":' * 3000 + "1" + "}" * 3000, "nests"),
        ('{"client": ' + "[" * 21 + "]" * 21 + "}", "nests"),
        ('{"a": 1, "a": 2}', "Duplicate key 'a'"),
        ('{"x": {"b": 1, "b": 1}}', "Duplicate key 'b'"),
        ('{"lat": NaN}', "NaN"),
        ('{"lat": Infinity}', "Infinity"),
        ('{"lat": -Infinity}', "-Infinity"),
        ('{"lat": 1e400}', "finite"),
        ('{"client": {"x": [-1e999]}}', "finite"),
        ("{", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        ("[" * 100000, "nests"),
    ],
)
def test_refused(text, match):
    with pytest.raises(Invalid, match=match):
        strictjson.loads(text)


def test_brackets_inside_strings_do_not_count():
    doc = {"text": "[" * 30 + '{{ \\" ]]'}
    import json

    assert strictjson.loads(json.dumps(doc)) == doc
    nested = "[" * strictjson.MAX_DEPTH + "]" * strictjson.MAX_DEPTH
    assert strictjson.depth(nested) == strictjson.MAX_DEPTH
    strictjson.loads(nested)
