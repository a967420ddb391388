"""cdk-nag's AwsSolutions pack leaves no finding on the stacks (every acknowledgment is on
its construct with a reason); ``make check-templates`` runs it on the real app too."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from infra import nag
from infra.app import build
from infra.tests.conftest import _context

pytestmark = pytest.mark.cdk


def test_aws_solutions_pack_is_clean(tmp_path: Path) -> None:
    ctx = {**_context(example=True), "@aws-cdk/core:validationReportJson": True}
    app = cdk.App(
        outdir=str(tmp_path / "out"), context=ctx, builtin_cloud_formation_validation=False
    )
    build(app, chalice_out_dir=tmp_path / "chalice.out")
    nag.add_rule_pack(app)
    try:
        app.synth()
    except Exception as exc:  # noqa: BLE001 - CDK raises ValidationFailed after writing
        assert "Validation failed" in str(exc)
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    (pack,) = [p for p in report["pluginReports"] if p["pluginName"] == "AwsSolutions"]
    left = [
        (v["ruleName"], c["constructPath"])
        for v in pack.get("violations", [])
        for c in v.get("violatingConstructs", [])
    ]
    assert left == []
