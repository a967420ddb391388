"""``make check-templates``: cfn-lint and checkov over every synthesized template, and the
cdk-nag AwsSolutions report of the CDK app.

    python infra/scripts/check.py            # after infra/scripts/synth.py

Templates: ``infra/cdk.out/*.template.json`` and ``build/chalice/sam.json``. Passes when
cfn-lint reports no errors (warnings are printed) and checkov has no failed check.

cdk-nag runs during synthesis (``synth.py``, :mod:`infra.nag`) and writes
``infra/cdk.out/validation-report.json``; any finding left (error or warning) fails.

Suppressions live with the resources: ``Metadata.checkov.skip`` (and cfn-lint's
``Metadata.cfn-lint``) written by the CDK code that creates each resource, each with a
one-line reason. ``chalice package``'s template cannot carry metadata (its resources come
from Chalice, and nothing post-processes them), so its checkov skips are in
``infra/checkov/chalice-package.yaml``, each with the reason and where the CDK deployment
covers it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CDK_OUT = ROOT / "infra" / "cdk.out"
CHALICE_SAM = ROOT / "build" / "chalice" / "sam.json"
CHALICE_CHECKOV = ROOT / "infra" / "checkov" / "chalice-package.yaml"


def cfn_lint(templates: list[Path]) -> tuple[int, int]:
    proc = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "json", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 2, 4, 6, 8, 10, 12, 14):
        print(proc.stdout, proc.stderr)
        raise SystemExit(f"cfn-lint crashed (exit {proc.returncode})")
    findings: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    errors = warnings = 0
    for f in findings:
        level = f["Level"]
        errors += level == "Error"
        warnings += level == "Warning"
        where = (
            Path(f["Filename"]).relative_to(ROOT)
            if Path(f["Filename"]).is_absolute()
            else f["Filename"]
        )
        print(f"  cfn-lint {level:<13} {f['Rule']['Id']} {where}: {f['Message']}")
    return errors, warnings


def checkov(templates: list[Path], config: Path | None = None) -> int:
    cmd = [
        str(BIN / "checkov"),
        "--framework",
        "cloudformation",
        "--quiet",
        "--compact",
        "--output",
        "json",
        "--skip-download",
    ]
    if config is not None:
        cmd += ["--config-file", str(config)]
    for t in templates:
        cmd += ["-f", str(t)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-2000:])
        raise SystemExit(f"checkov crashed (exit {proc.returncode})")
    data = json.loads(proc.stdout) if proc.stdout.strip() else []
    reports = data if isinstance(data, list) else [data]
    failed = 0
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        summary = report.get("summary", {}) if isinstance(report, dict) else {}
        for check in results.get("failed_checks", []):
            failed += 1
            print(
                f"  checkov FAILED {check['check_id']} {check['resource']} "
                f"({Path(check['file_path']).name}): {check['check_name']}"
            )
        if summary:
            print(
                f"  checkov: {summary.get('passed', 0)} passed, {summary.get('failed', 0)} "
                f"failed, {summary.get('skipped', 0)} skipped"
            )
    return failed


NAG_REPORT = CDK_OUT / "validation-report.json"


def cdk_nag(report: Path = NAG_REPORT) -> int:
    """Violations (errors and warnings) left in cdk-nag's AwsSolutions report, which
    ``synth.py`` writes; a missing report is a failure (the rule pack did not run)."""
    if not report.exists():
        print("  cdk-nag: no report (run infra/scripts/synth.py without --no-nag)")
        return 1
    data = json.loads(report.read_text())
    plugins = {p["pluginName"]: p for p in data.get("pluginReports", [])}
    if "AwsSolutions" not in plugins:
        print("  cdk-nag: the AwsSolutions pack did not run")
        return 1
    left = 0
    for violation in plugins["AwsSolutions"].get("violations", []):
        for c in violation.get("violatingConstructs", violation.get("violatingResources", [])):
            left += 1
            print(
                f"  cdk-nag {violation['severity']:<8} {violation['ruleName']} "
                f"{c['constructPath']}: {violation['description']}"
            )
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    cdk_templates = sorted(CDK_OUT.glob("*.template.json"))
    if not cdk_templates or not CHALICE_SAM.exists():
        print("no templates: run infra/scripts/synth.py first", file=sys.stderr)
        return 2
    all_templates = [*cdk_templates, CHALICE_SAM]
    for t in all_templates:
        print(f"template {t.relative_to(ROOT)}")

    t0 = time.perf_counter()
    errors, warnings = cfn_lint(all_templates)
    t1 = time.perf_counter()
    print(f"cfn-lint: {errors} errors, {warnings} warnings ({t1 - t0:.1f}s)")
    failed = checkov(cdk_templates) + checkov([CHALICE_SAM], CHALICE_CHECKOV)
    print(f"checkov: {failed} failed checks ({time.perf_counter() - t1:.1f}s)")
    nag_left = cdk_nag()
    print(f"cdk-nag (AwsSolutions): {nag_left} unacknowledged findings")
    ok = errors == 0 and failed == 0 and nag_left == 0
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
