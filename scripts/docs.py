"""Generated blocks of the Markdown docs, rendered from the code that defines them.

A block sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in README.md or any
page under ``docs/``; this script rewrites what is between the markers:

* ``route-budgets``: every HTTP route, who may call it, what it does and the most DynamoDB
  calls one invocation makes (``web.route(calls=...)``, checked by the route budget tests);
* ``transitions``: the job state machine (``chalicelib.domain.jobs``).

``python -m scripts.docs`` rewrites the blocks; ``--check`` exits 1 naming each stale block
(``make test`` runs the check through ``tests/unit/test_docs.py``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def route_budgets() -> str:
    """The routes table: method and path, who, summary, DynamoDB calls."""
    import app  # noqa: F401  (registers every route)
    from chalicelib.web import ROUTES

    lines = [
        "| Route | Who | What | DynamoDB calls (at most) |",
        "|---|---|---|---|",
    ]
    for spec in sorted(ROUTES, key=lambda r: (r.tag, r.path, r.method)):
        who = " or ".join(spec.roles) if spec.roles else ("signed in" if spec.auth else "anyone")
        calls = "" if spec.calls is None else str(spec.calls)
        summary = spec.summary.replace("|", "\\|")
        lines.append(f"| `{spec.method} {spec.path}` | {who} | {summary} | {calls} |")
    return "\n".join(lines) + "\n"


def transitions() -> str:
    from chalicelib.domain.jobs import render_transition_table

    return render_transition_table()


BLOCKS: dict[str, Callable[[], str]] = {
    "route-budgets": route_budgets,
    "transitions": transitions,
}


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every block rendered anew, and the names of the blocks found."""
    found: list[str] = []
    for name, make in BLOCKS.items():
        pattern = re.compile(
            rf"(<!-- {name}:begin -->\n)(.*?)(<!-- {name}:end -->)", flags=re.DOTALL
        )
        if pattern.search(text):
            found.append(name)
            body = make()

            def fill(m: re.Match[str], body: str = body) -> str:
                return m.group(1) + "\n" + body + "\n" + m.group(3)

            text = pattern.sub(fill, text)
    return text, found


def stale() -> tuple[list[str], set[str]]:
    """The pages whose blocks are out of date, and the blocks found anywhere."""
    out: list[str] = []
    seen: set[str] = set()
    for page in pages():
        if not page.exists():
            continue
        text = page.read_text(encoding="utf-8")
        fresh, found = render(text)
        seen.update(found)
        if fresh != text:
            out.append(str(page.relative_to(ROOT)))
    return out, seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args(argv)
    if args.check:
        out, seen = stale()
        missing = sorted(set(BLOCKS) - seen)
        for name in out:
            print(f"{name}: generated blocks are stale (run: python -m scripts.docs)")
        for block in missing:
            print(f"no page has the block <!-- {block}:begin -->")
        return 1 if out or missing else 0
    for page in pages():
        if page.exists():
            text = page.read_text(encoding="utf-8")
            fresh, _ = render(text)
            if fresh != text:
                page.write_text(fresh, encoding="utf-8")
                print(f"rewrote {page.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
