"""Shape rules of the application code that review alone kept missing (docs/testing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

CHALICELIB = Path(__file__).resolve().parents[2] / "chalicelib"
MAX_LINES = 400


def test_no_module_of_the_app_is_over_400_lines():
    sizes = {
        str(path.relative_to(CHALICELIB)): len(path.read_text().splitlines())
        for path in CHALICELIB.rglob("*.py")
    }
    assert len(sizes) > 50
    over = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert over == {}, f"split these along a seam (at most {MAX_LINES} lines a module): {over}"
