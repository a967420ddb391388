"""``make synth``: the CDK templates into ``infra/cdk.out/`` and ``chalice package`` into
``build/chalice/`` (``sam.json`` + ``deployment.zip``), offline, without AWS credentials.

    python infra/scripts/synth.py                     # every feature on (config/example.json)
    python infra/scripts/synth.py --context none      # only cdk.json's context (features off)
    python infra/scripts/synth.py --context my.json -c summon:role=primary

The CDK app is built in-process (``cdk.App(outdir=...)``), with ``infra/cdk.json``'s context,
then the context file's, then each ``-c key=value``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
CDK_OUT = INFRA / "cdk.out"
CHALICE_OUT = ROOT / "build" / "chalice"
EXAMPLE = INFRA / "config" / "example.json"


def context(context_file: str, overrides: list[str]) -> dict[str, Any]:
    ctx: dict[str, Any] = json.loads((INFRA / "cdk.json").read_text())["context"]
    if context_file != "none":
        data = json.loads(Path(context_file).read_text())
        ctx.update(data.get("context", data))
    for item in overrides:
        key, _, value = item.partition("=")
        ctx[key] = value
    return ctx


def synth_cdk(ctx: dict[str, Any], outdir: Path = CDK_OUT, *, with_nag: bool = True) -> list[Path]:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import aws_cdk as cdk

    from infra import nag
    from infra.app import build

    shutil.rmtree(outdir, ignore_errors=True)
    # CDK's built-in template validation runs before the SAM transform (so it misreads the
    # Chalice resources) and doubles the synth time; check.py runs cfn-lint after it.
    ctx = {**ctx, "@aws-cdk/core:validationReportJson": True}
    app = cdk.App(outdir=str(outdir), context=ctx, builtin_cloud_formation_validation=False)
    build(app)
    if with_nag:
        # cdk-nag (AwsSolutions) as a policy-validation plugin: the templates are written
        # either way, and check.py fails on the report's violations.
        nag.add_rule_pack(app)
    try:
        app.synth()
    except Exception as exc:  # CDK raises ValidationFailed after writing the templates
        if "Validation failed" not in str(exc):
            raise
        print("cdk-nag: violations (see check.py)")
    return sorted(outdir.glob("*.template.json"))


def chalice_package(stage: str, region: str, outdir: Path = CHALICE_OUT) -> Path:
    """``chalice package`` without the AWS SDK the Lambda runtime provides (infra/packaging.py,
    the same step as ``make package``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from infra import packaging

    shutil.rmtree(outdir, ignore_errors=True)
    packaging.package(stage, outdir, region=region)
    return outdir / "sam.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--context",
        default=str(EXAMPLE),
        help="context JSON file, or 'none' (default: infra/config/example.json)",
    )
    parser.add_argument(
        "-c",
        dest="overrides",
        action="append",
        default=[],
        help="context override key=value (repeatable)",
    )
    parser.add_argument("--chalice-stage", default="prod", help="stage for chalice package")
    parser.add_argument("--region", default="us-east-1", help="region for chalice package")
    parser.add_argument("--skip-chalice-package", action="store_true")
    parser.add_argument("--no-nag", action="store_true", help="skip cdk-nag (AwsSolutions)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    templates = synth_cdk(context(args.context, args.overrides), with_nag=not args.no_nag)
    t1 = time.perf_counter()
    for t in templates:
        print(f"cdk      {t.relative_to(ROOT)}")
    print(f"cdk synth: {len(templates)} templates in {t1 - t0:.1f}s")
    if not args.skip_chalice_package:
        sam = chalice_package(args.chalice_stage, args.region)
        print(f"chalice  {sam.relative_to(ROOT)}")
        print(f"chalice package: {time.perf_counter() - t1:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
