"""Schemathesis against ``/openapi.json`` of the real local stack, signed in with real
Cognito tokens as a customer and as a provider: the coverage, fuzzing and stateful phases
with the checks ``not_a_server_error``, status code, content type and response schema
conformance, negative data rejection and ignored auth. Bounded by the examples per
operation (``FUZZ_EXAMPLES``, default 20) and a fixed seed (``FUZZ_SEED``), so a run is
reproducible; ``make fuzz`` runs it (docs/testing.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import config
from devstack.harness import Stack, running

pytestmark = pytest.mark.fuzz

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)
PHASES = ("coverage", "fuzzing", "stateful")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
SEED = int(os.environ.get("FUZZ_SEED", "1"))


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The local stack, with the per-user HTTP limit out of the way: this test is about the
    contract, and schemathesis calls far faster than a person (the limits have their own
    tests)."""
    unlimited = {config.LIMIT_HTTP_PER_MINUTE: "1000000", config.LIMIT_HTTP_BURST: "1000000"}
    with running(providers=10, schedule_period=2.0, env=unlimited) as started:
        yield started


def schemathesis(stack: Stack, token: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{stack.http}/openapi.json",
        "--header",
        f"Authorization: {token}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        ",".join(PHASES),
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",  # one: hypothesis parses lambdas with ast, which races in 3.11 threads
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=1500
    )


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", ["customers", "providers"])
def test_schemathesis_finds_nothing(stack: Stack, role: str, tmp_path: Path) -> None:
    _, token = stack.new_account(role)
    report = tmp_path / "schemathesis.json"
    run = schemathesis(stack, token, report)
    assert report.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(report.read_text())
    operations, cases = result["operations"], result["test_cases"]
    print(
        f"\nschemathesis as {role}: {operations['tested']}/{operations['total']} operations, "
        f"{cases['generated']} cases, {cases['unique_failures']} unique failures, "
        f"{len(result['errors'])} errors, phases "
        + ", ".join(f"{name} {p['status']}" for name, p in result["phases"].items())
    )
    assert operations["tested"] == operations["total"]
    assert all(result["phases"][p]["status"] == "success" for p in PHASES), result["phases"]
    assert result["failures"] == [] and result["errors"] == [], run.stdout[-6000:]
    assert run.returncode == 0, run.stdout[-6000:]
