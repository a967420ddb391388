"""The Lambda package without the AWS SDK the Python runtime already has.

PynamoDB depends on botocore, so ``chalice package``/``deploy`` put botocore (16.4 MB zipped:
the API models of every AWS service) and its dependencies into the shared dependency layer
(``automatic_layer``). The Lambda Python runtime ships boto3, botocore and their dependencies
as a matched set, and the app's adapters use that boto3 anyway (it is not in
``requirements.txt``). A copy in the layer is not only dead weight: layers come before the
runtime on ``sys.path``, so it would shadow the runtime's botocore with whatever version pip
resolved at package time, under the runtime's boto3.

Chalice has no way to leave a transitive dependency out (pip's ``--no-deps`` is not allowed
in a requirements file), so ``requirements.txt`` stays the honest list of what the app needs
and this step removes :data:`RUNTIME_PROVIDED` from the layer after Chalice built it:

* from ``layer-deployment.zip`` (and ``deployment.zip`` without ``automatic_layer``) in a
  ``chalice package`` output directory, and
* from Chalice's cached layer in ``.chalice/deployments/``, which ``chalice package``,
  ``chalice deploy`` and ``chalice.cdk`` all reuse while ``requirements.txt`` is unchanged.

Used by ``make package`` / ``python -m infra.packaging``, ``infra/scripts/synth.py``, the CDK
construct (``infra/constructs/chalice_app.py``) and ``bench/package_size.py``. Forgetting it
is harmless: the layer is then 17 MB bigger and works the same.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six"}
)
"""Distributions every Lambda Python runtime provides (the SDK and its dependencies)."""

_MODULES = {"dateutil": "python_dateutil", "six.py": "six"}
"""Top-level names that differ from their distribution's name."""

_SITE_PACKAGES = re.compile(r"^python/lib/python3\.\d+/site-packages/")
_DIST_DIR = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-[^-/]+\.(?:dist-info|data)$")


@dataclass(frozen=True)
class Slimmed:
    path: Path
    files: int
    zipped_bytes: int


def _distribution(entry: str) -> str:
    """The distribution an archive entry belongs to (best effort; '' when unknown)."""
    top = _SITE_PACKAGES.sub("", entry).split("/", 1)[0]
    match = _DIST_DIR.match(top)
    if match:
        return match["name"].lower().replace("-", "_").replace(".", "_")
    return _MODULES.get(top, top)


def slim_zip(path: Path, drop: Iterable[str] = RUNTIME_PROVIDED) -> Slimmed:
    """Rewrite the zip at ``path`` without the distributions in ``drop`` (atomically; left
    untouched when there is nothing to drop)."""
    dropped = frozenset(drop)
    with zipfile.ZipFile(path) as src:
        gone = [i for i in src.infolist() if _distribution(i.filename) in dropped]
        if not gone:
            return Slimmed(path, 0, 0)
        keep = [i for i in src.infolist() if _distribution(i.filename) not in dropped]
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".zip")
        os.close(fd)
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
                for info in keep:
                    out.writestr(info, src.read(info))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Slimmed(path, len(gone), sum(i.compress_size for i in gone))


def slim(project_dir: Path = ROOT, outdirs: Iterable[Path] = ()) -> list[Slimmed]:
    """Slim Chalice's cached packages of ``project_dir`` and the packages in ``outdirs``."""
    zips = sorted((project_dir / ".chalice" / "deployments").glob("*.zip"))
    for outdir in outdirs:
        zips += [outdir / "layer-deployment.zip", outdir / "deployment.zip"]
    return [slim_zip(p) for p in zips if p.is_file() and not p.name.startswith("appcode-")]


def package(stage: str, outdir: Path, *, region: str = "us-east-1") -> list[Slimmed]:
    """``chalice package --pkg-format cloudformation`` into ``outdir``, then :func:`slim`."""
    env = {**os.environ, "AWS_DEFAULT_REGION": region}  # chalice needs one (no credentials)
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "--project-dir", str(ROOT), "package", "--stage", stage]
    subprocess.run(
        [*command, "--pkg-format", "cloudformation", str(outdir)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return slim(ROOT, [outdir])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="chalice package output directory")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    for done in package(args.stage, args.outdir, region=args.region):
        if done.files:
            print(f"slimmed {done.path}: -{done.files} files, -{done.zipped_bytes / 1e6:.1f} MB")
    for name in ("deployment.zip", "layer-deployment.zip"):
        path = args.outdir / name
        if path.is_file():
            print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
