"""The web app's contracts: generated from the backend's code and current, usable by both
common client generators (no operation dropped), the AsyncAPI document valid for AsyncAPI's
own parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.harness import ROOT

pytestmark = [pytest.mark.web, pytest.mark.timeout(300)]

WEB = ROOT / "web"
GENERATED = WEB / "src" / "generated"


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def node_ready() -> None:
    if shutil.which("node") is None or not (WEB / "node_modules").exists():
        pytest.skip("web/node_modules missing: `make web` (make test does)")


def test_generated_documents_are_current() -> None:
    done = run([sys.executable, str(WEB / "scripts" / "contracts.py"), "--check"])
    assert done.returncode == 0, done.stderr


def test_typescript_client_is_current() -> None:
    node_ready()
    done = run(["node", "scripts/gen-api.mjs", "--check"], cwd=WEB)
    assert done.returncode == 0, done.stderr
    types = (GENERATED / "api.d.ts").read_text()
    doc = json.loads((GENERATED / "openapi.json").read_text())
    for path in doc["paths"]:
        assert f'"{path}": {{' in types, f"{path} missing from api.d.ts"


def test_openapi_python_client_keeps_every_operation(tmp_path: Path) -> None:
    doc = json.loads((GENERATED / "openapi.json").read_text())
    operations = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    cli = Path(sys.executable).parent / "openapi-python-client"
    if not cli.exists():
        pytest.skip("openapi-python-client is not installed (requirements-dev.txt)")
    spec, out = str(GENERATED / "openapi.json"), str(tmp_path / "client")
    done = run(
        [str(cli), "generate", "--path", spec, "--meta", "none", "--output-path", out],
        env={"PATH": f"{cli.parent}:/usr/bin:/bin"},
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "WARNING" not in said and "Unable to" not in said, said
    generated = {
        p.stem for p in (tmp_path / "client" / "api").rglob("*.py") if p.name != "__init__.py"
    }
    assert generated == {re.sub(r"\W", "_", op) for op in operations}


def test_asyncapi_document_is_valid() -> None:
    node_ready()
    done = run(["node", "scripts/validate-asyncapi.mjs"], cwd=WEB)
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((GENERATED / "asyncapi.json").read_text())
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    from chalicelib.schemas.realtime import ACTIONS

    assert set(ACTIONS) <= names  # every client frame the server validates
