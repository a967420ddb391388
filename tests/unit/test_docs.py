"""The docs' generated blocks match the code they are rendered from (scripts/docs.py), and
the decision records' index lists every record."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import docs

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.unit


def test_every_route_declares_its_dynamodb_budget():
    import app  # noqa: F401
    from chalicelib.web import ROUTES

    undeclared = [f"{r.method} {r.path}" for r in ROUTES if r.calls is None]
    assert undeclared == []


def test_the_generated_blocks_of_the_docs_are_current():
    out, seen = docs.stale()
    assert out == [], f"stale generated blocks in {out}: run python -m scripts.docs"
    assert seen == set(docs.BLOCKS), f"pages lack blocks: {set(docs.BLOCKS) - seen}"


def test_a_changed_budget_makes_the_block_stale():
    table = docs.route_budgets()
    page = f"<!-- route-budgets:begin -->\n\n{table}\n<!-- route-budgets:end -->"
    assert docs.render(page) == (page, ["route-budgets"])
    tampered = page.replace("| 4 |", "| 9 |", 1)
    assert tampered != page
    assert docs.render(tampered)[0] == page


def test_the_decision_records_index_lists_every_record():
    adr = ROOT / "docs" / "adr"
    records = sorted(p.name for p in adr.glob("[0-9][0-9][0-9][0-9]-*.md"))
    index = (adr / "README.md").read_text()
    assert records, "no decision records found"
    missing = [name for name in records if f"]({name})" not in index]
    assert missing == [], f"docs/adr/README.md has no row for {missing}"
