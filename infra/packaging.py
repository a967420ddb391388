"""Finish Chalice's Lambda package: without the AWS SDK the Python runtime already has, and
with bytecode for its modules (the decision record:
``docs/adr/0009-package-without-the-runtime-sdk.md``).

* The dependency layer (``automatic_layer``) loses :data:`RUNTIME_PROVIDED`: boto3, botocore
  and their dependencies, which every Lambda Python runtime ships as a matched set and which
  a copy in a layer (before the runtime on ``sys.path``) would shadow. ``requirements.txt``
  stays the list of what the app needs; Chalice has no way to leave a transitive dependency
  out, so this step removes it after Chalice built the layer.
* The layer and the app zip get unchecked-hash ``.pyc`` files (PEP 552: valid whatever the
  files' timestamps) in place of whatever ``__pycache__`` Chalice copied from the working
  tree, compiled by this interpreter, which is the Lambda runtime's version (Chalice picks
  the runtime from it). Lambda's ``/var/task`` and ``/opt`` are read-only, so without them
  every cold start compiles the app and its dependencies. Cost: a few MB more zipped
  (``package_size`` in ``BENCHMARKS.md``).

Both apply to ``layer-deployment.zip`` and ``deployment.zip`` in a ``chalice package``
output directory, and to Chalice's cached packages in ``.chalice/deployments/``, which
``chalice package``, ``chalice deploy`` and ``chalice.cdk`` all reuse (the layer while
``requirements.txt`` is unchanged, the app zip while the app's files are). Used by
``make package`` (``python -m infra.packaging``), ``infra/scripts/synth.py``, the CDK
construct (``infra/constructs/chalice_app.py``) and ``bench/package_size.py``. Skipping it
is harmless: the package is then bigger and the cold start slower, nothing else.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import marshal
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
_THIS_PYTHON = f"python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/"
FINISHED = b"finished by infra/packaging.py: runtime SDK dropped, bytecode added"
_DIST_DIR = re.compile(r"^(?P<name>[A-Za-z0-9_.]+?)-[^-/]+\.(?:dist-info|data)$")


@dataclass(frozen=True)
class Finished:
    path: Path
    dropped_files: int = 0
    dropped_bytes: int = 0
    compiled_files: int = 0


def _distribution(entry: str) -> str:
    """The distribution an archive entry belongs to (best effort; '' when unknown)."""
    top = _SITE_PACKAGES.sub("", entry).split("/", 1)[0]
    match = _DIST_DIR.match(top)
    if match:
        return match["name"].lower().replace("-", "_").replace(".", "_")
    return _MODULES.get(top, top)


def _bytecode(
    info: zipfile.ZipInfo, source: bytes, root: str
) -> tuple[zipfile.ZipInfo, bytes] | None:
    """The unchecked-hash ``.pyc`` (PEP 552) of one ``.py`` entry, beside it in
    ``__pycache__``; None when it does not compile."""
    try:
        code = compile(source, f"{root}/{info.filename}", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    folder, _, name = info.filename.rpartition("/")
    pyc = zipfile.ZipInfo(
        f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/"),
        date_time=info.date_time,
    )
    pyc.external_attr = 0o644 << 16
    pyc.compress_type = zipfile.ZIP_DEFLATED
    header = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")  # hash-based, unchecked
    return pyc, header + importlib.util.source_hash(source) + marshal.dumps(code)


def finish_zip(
    path: Path, *, python: str | None = None, drop: Iterable[str] = RUNTIME_PROVIDED
) -> Finished:
    """Rewrite the Chalice zip at ``path`` without the distributions in ``drop`` and, when it
    is for this interpreter's Python (a layer says so by its paths, other zips by
    ``python``, e.g. ``"3.11"``), with unchecked-hash bytecode for its modules instead of
    whatever ``__pycache__`` Chalice copied from the working tree. Atomic; a zip is marked
    (its comment) once finished and left alone after that."""
    dropped = frozenset(drop)
    with zipfile.ZipFile(path) as src:
        if src.comment == FINISHED:
            return Finished(path)
        infos = src.infolist()
        layer = bool(infos) and all(_SITE_PACKAGES.match(i.filename) for i in infos)
        if layer:
            here = all(i.filename.startswith(_THIS_PYTHON) for i in infos)
        else:
            here = python == f"{sys.version_info[0]}.{sys.version_info[1]}"
        sdk = [i for i in infos if _distribution(i.filename) in dropped]
        stale = [i for i in infos if here and "__pycache__/" in i.filename]
        leave = {id(i) for i in sdk + stale}
        keep = [i for i in infos if id(i) not in leave]
        sources = [i for i in keep if here and i.filename.endswith(".py")]
        if not sdk and not sources:
            return Finished(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".zip")
        os.close(fd)
        compiled = 0
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
                for info in keep:  # a copy: writing updates the entry's offsets
                    out.writestr(copy.copy(info), src.read(info))
                for info in sources:
                    pyc = _bytecode(info, src.read(info), "/opt" if layer else "/var/task")
                    if pyc is not None:
                        out.writestr(*pyc)
                        compiled += 1
                out.comment = FINISHED
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return Finished(path, len(sdk), sum(i.compress_size for i in sdk), compiled)


def _python_of(cached: Path) -> str | None:
    """The Python of a cached app zip (``appcode-<hash>-python3.11.zip``: keyed by the app's
    files, so its bytecode stays right). None for Chalice's cached whole packages (no
    ``automatic_layer``): Chalice swaps the latest app files into those on reuse, which
    would leave ``__pycache__/app.*.pyc`` behind, so they only lose the SDK."""
    match = re.search(r"-python(\d+\.\d+)", cached.name)
    return match[1] if match and cached.name.startswith("appcode-") else None


def finish(project_dir: Path = ROOT, outdirs: Iterable[Path] = ()) -> list[Finished]:
    """Finish Chalice's cached packages of ``project_dir`` and the packages in ``outdirs``
    (``chalice package`` output: its ``sam.json`` names the Python of ``deployment.zip``)."""
    done = [
        finish_zip(p, python=_python_of(p))
        for p in sorted((project_dir / ".chalice" / "deployments").glob("*.zip"))
    ]
    for outdir in outdirs:
        sam = outdir / "sam.json"
        runtime = (
            re.search(r'"Runtime":\s*"python(\d+\.\d+)"', sam.read_text())
            if sam.is_file()
            else None
        )
        for name in ("layer-deployment.zip", "deployment.zip"):
            if (outdir / name).is_file():
                done.append(finish_zip(outdir / name, python=runtime[1] if runtime else None))
    return done


ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}
"""ELF ``e_machine`` of native code built for each Lambda architecture."""


def _requirement_names(requirements: Path) -> set[str]:
    names: set[str] = set()
    if not requirements.is_file():  # an app without dependencies of its own
        return names
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name = re.split(r"[\[=<>!~; ]", line, maxsplit=1)[0]
            names.add(name.lower().replace("-", "_").replace(".", "_"))
    return names


def check_layer(path: Path, *, architecture: str, requirements: Path) -> None:
    """Refuse a dependency layer that would fail on Lambda: a requirement missing (Chalice
    leaves out, with only a warning, a distribution it found no wheel for the runtime's
    architecture and glibc) or a native module built for another architecture."""
    with zipfile.ZipFile(path) as layer:
        names = layer.namelist()
        present = {_distribution(n) for n in names if ".dist-info/" in n}
        missing = sorted(_requirement_names(requirements) - present - RUNTIME_PROVIDED)
        if missing:
            raise SystemExit(
                f"{path.name}: {', '.join(missing)} missing from the {architecture} layer: "
                "no wheel for the Lambda runtime (its glibc) on this architecture; pin a "
                "version that publishes one (manylinux2014 for python3.11)"
            )
        want = ELF_MACHINES[architecture]
        for name in names:
            if ".so" not in name.rsplit("/", 1)[-1]:
                continue
            header = layer.read(name)[:20]
            if header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") != want:
                raise SystemExit(f"{path.name}: {name} is not built for {architecture}")


def package(stage: str, outdir: Path, *, region: str = "us-east-1") -> list[Finished]:
    """``chalice package --pkg-format cloudformation`` into ``outdir``, then :func:`finish`."""
    env = {**os.environ, "AWS_DEFAULT_REGION": region}  # chalice needs one (no credentials)
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "--project-dir", str(ROOT), "package", "--stage", stage]
    subprocess.run(
        [*command, "--pkg-format", "cloudformation", str(outdir)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return finish(ROOT, [outdir])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="chalice package output directory")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    for done in package(args.stage, args.outdir, region=args.region):
        if done.dropped_files or done.compiled_files:
            print(
                f"{done.path}: dropped {done.dropped_files} files of the runtime's SDK "
                f"({done.dropped_bytes / 1e6:.1f} MB zipped), compiled {done.compiled_files}"
            )
    for name in ("deployment.zip", "layer-deployment.zip"):
        path = args.outdir / name
        if path.is_file():
            print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
