"""Mutation testing with mutmut: how many deliberate bugs the tests catch.

``python -m scripts.mutation domain`` (``make mutation``) copies the tracked files to a
scratch directory, mutates every module of ``chalicelib/domain`` and runs, for each mutant,
the unit tests that execute the mutated function. ``python -m scripts.mutation checks``
does the same for the authorization and state checks at the edge and in the services,
against the API tests (slower: about an hour on 2 cores).

Prints the surviving mutants' names, mutmut's counts and two scores: caught (killed or
timed out) over all mutants -- mutmut's own score, the one the target is set on -- and over
the mutants some selected test executes; ``mutmut show <name>`` in the scratch directory shows one.
Not part of ``make test``: it takes minutes to an hour, and a survivor is a place to look,
not a failure.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TARGETS: dict[str, dict[str, list[str]]] = {
    "domain": {
        "only_mutate": ["chalicelib/domain/*"],
        "tests": [
            "tests/unit/test_domain_bounded_matching.py",
            "tests/unit/test_domain_dispatch.py",
            "tests/unit/test_domain_exports.py",
            "tests/unit/test_domain_geo.py",
            "tests/unit/test_domain_job_flows.py",
            "tests/unit/test_domain_jobs.py",
            "tests/unit/test_domain_ranking.py",
            "tests/unit/test_domain_request.py",
            "tests/unit/test_domain_request_flows.py",
            "tests/unit/test_domain_reviews.py",
            "tests/unit/test_marketplace_rules.py",
            "tests/unit/test_marketplace_services.py",
            "tests/unit/test_media_images.py",
            "tests/unit/test_media_rules.py",
        ],
    },
    "checks": {
        "only_mutate": [
            "chalicelib/auth.py",
            "chalicelib/services/accounts.py",
            "chalicelib/services/offers.py",
            "chalicelib/services/quotes.py",
            "chalicelib/services/jobs.py",
            "chalicelib/services/reviews.py",
        ],
        "tests": [
            "tests/api/",
            "tests/unit/test_edge.py",
            "tests/unit/test_marketplace_rules.py",
            "tests/unit/test_marketplace_services.py",
            "tests/integration/test_auth.py",
            "tests/integration/test_token_verifier.py",
        ],
    },
}

ALSO_COPY = ["tests/", "devstack/", "bench/", "infra/", "scripts/", "web/scripts/", "app.py"]
"""What the tests need besides chalicelib/ (tests/api imports infra.constructs.monitoring)."""


def modules(target: str, only: list[str] | None) -> list[str]:
    """The target's ``only_mutate`` patterns, or ``only`` (files of the target) when given."""
    patterns = TARGETS[target]["only_mutate"]
    if not only:
        return patterns
    outside = [o for o in only if not any(fnmatch.fnmatch(o, p) for p in patterns)]
    if outside:
        raise SystemExit(f"mutation: not in target {target!r}: {', '.join(outside)}")
    return only


def config(target: str, only: list[str] | None = None) -> str:
    spec = TARGETS[target]
    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["chalicelib/"]',
            f"only_mutate = {json.dumps(modules(target, only))}",
            f"pytest_add_cli_args_test_selection = {json.dumps(spec['tests'])}",
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]',
            f"also_copy = {json.dumps(ALSO_COPY)}",
            "",
        ]
    )


def scratch_copy(into: Path) -> None:
    """The tracked files as they are in the working tree (no mutants/ or caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        source = ROOT / raw.decode()
        if source.is_file():
            target = into / raw.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (into / ".venv").symlink_to(ROOT / ".venv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=sorted(TARGETS), nargs="?", default="domain")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="FILE",
        help="mutate only these files of the target (e.g. chalicelib/auth.py); same tests",
    )
    args = parser.parse_args(argv)
    scope = modules(args.target, args.only)

    work = Path(tempfile.mkdtemp(prefix=f"summon-mutation-{args.target}-"))
    try:
        scratch_copy(work)
        with (work / "pyproject.toml").open("a") as out:
            out.write(config(args.target, args.only))
        mutmut = [sys.executable, "-m", "mutmut"]
        run = subprocess.run(
            [*mutmut, "run", "--max-children", str(args.children)],
            cwd=work,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        if run.returncode != 0:
            print(f"mutation: mutmut run exited {run.returncode} (in {work})")
            args.keep = True
            return run.returncode
        subprocess.run([*mutmut, "export-cicd-stats"], cwd=work, capture_output=True, check=True)
        survivors = subprocess.run(
            [*mutmut, "results"], cwd=work, capture_output=True, text=True, check=False
        ).stdout
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        print(survivors, end="")
        caught = stats["killed"] + stats["timeout"]
        executed = caught + stats["survived"]
        print(f"mutation: {args.target}: mutated {', '.join(scope)}")
        print(
            f"mutation: {args.target}: {stats['total']} mutants, {stats['killed']} killed, "
            f"{stats['timeout']} timed out, {stats['survived']} survived, "
            f"{stats['no_tests']} run by no test"
        )
        print(
            f"mutation: score {100.0 * caught / max(1, stats['total'] - stats['skipped']):.1f}% "
            f"of all mutants (the target), {100.0 * caught / max(1, executed):.1f}% of those "
            "some test executes"
        )
        return 0
    finally:
        if args.keep:
            print(f"mutation: scratch directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
