"""What a newcomer meets first: ``.devstack/env`` carries the URLs of the APIs and the web
app, and a second ``make dev`` while one runs says so in one line and leaves it running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devstack.harness import ROOT, Stack

pytestmark = pytest.mark.e2e


def _port(url: str) -> str:
    return url.rsplit(":", 1)[1]


def _devstack(stack: Stack, state: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "devstack", "--state-dir", str(state)]
    argv += ["--aws-port", _port(stack.endpoint), "--http-port", _port(stack.http)]
    argv += ["--ws-port", _port(stack.ws), "--web-port", "0"]
    return subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_env_file_carries_the_api_websocket_and_web_urls(stack: Stack) -> None:
    assert stack.env["SUMMON_API_URL"] == stack.http
    assert stack.env["SUMMON_WS_URL"] == stack.ws
    assert stack.env["SUMMON_WEB_URL"].startswith("http://127.0.0.1:")


def test_a_second_stack_on_the_same_directory_says_so_in_one_line(stack: Stack) -> None:
    second = _devstack(stack, stack.state)
    lines = (second.stdout + second.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "already running" in lines[0] and stack.http in lines[0]
    assert second.returncode == 0
    assert stack.call("GET", "/health").status_code == 200  # the first one is untouched


def test_a_stack_whose_ports_are_taken_says_which_in_one_line(stack: Stack, tmp_path: Path) -> None:
    other = _devstack(stack, tmp_path / "elsewhere")
    lines = (other.stdout + other.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"Port {_port(stack.http)}" in lines[0] and "taken" in lines[0]
    assert other.returncode == 1
    assert stack.call("GET", "/health").status_code == 200
