"""cold_start: median wall time of a fresh ``python -c "import app"`` beside
``python -c "import boto3"`` measured the same way, interleaved, and their ratio.

The detail line measures the same import the way Lambda runs it: from the finished package
(``infra/packaging.py``: app zip and layer unzipped, read-only, so Python can write no
bytecode), with boto3/botocore coming from outside the package as the runtime provides them;
and once more with the package's bytecode removed, to show what compiling at every cold start
costs."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import packaging  # noqa: E402

RUNS = 15
TARGET = 1.5
ENV = {"AWS_DEFAULT_REGION": "us-east-1", "SUMMON_STAGE": "dev"}


def _time(code: str, env: dict[str, str], cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def _medians(cases: Sequence[tuple[str, dict[str, str], Path]], runs: int) -> list[float]:
    """Interleaved runs of every case (after one warm-up each, like a warm Lambda host's
    file cache); the median of each."""
    for code, env, cwd in cases:
        _time(code, env, cwd)
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):
        for i, (code, env, cwd) in enumerate(cases):
            times[i].append(_time(code, env, cwd))
    return [statistics.median(t) for t in times]


def measure(runs: int = RUNS) -> dict[str, float]:
    env = {**os.environ, **ENV}
    app, boto = _medians([("import app", env, ROOT), ("import boto3", env, ROOT)], runs)
    return {"app_ms": app, "boto3_ms": boto, "ratio": app / boto}


def measure_packaged(runs: int = RUNS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out, task, opt = Path(tmp, "out"), Path(tmp, "task"), Path(tmp, "opt")
        packaging.package("dev", out)
        zipfile.ZipFile(out / "deployment.zip").extractall(task)
        zipfile.ZipFile(out / "layer-deployment.zip").extractall(opt)
        layer = next(opt.glob("python/lib/python3.*/site-packages"))
        bare_task, bare_layer = Path(tmp, "bare_task"), Path(tmp, "bare_layer")
        shutil.copytree(task, bare_task, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(layer, bare_layer, ignore=shutil.ignore_patterns("__pycache__"))
        base = {**os.environ, **ENV, "PYTHONDONTWRITEBYTECODE": "1"}
        packaged = {**base, "PYTHONPATH": f"{task}{os.pathsep}{layer}"}
        uncompiled = {**base, "PYTHONPATH": f"{bare_task}{os.pathsep}{bare_layer}"}
        app, boto, app_bare = _medians(
            [
                ("import app", packaged, task),
                ("import boto3", packaged, task),
                ("import app", uncompiled, bare_task),
            ],
            runs,
        )
    return {"app_ms": app, "boto3_ms": boto, "ratio": app / boto, "bare_ms": app_bare}


def main() -> None:
    m = measure()
    print(
        f"cold_start: import app {m['app_ms']:.0f} ms, import boto3 {m['boto3_ms']:.0f} ms, "
        f"ratio {m['ratio']:.2f}x (target <= {TARGET}x, median of {RUNS})",
        flush=True,
    )
    p = measure_packaged()
    print(
        f"    as packaged (read-only, runtime's boto3): import app {p['app_ms']:.0f} ms, "
        f"import boto3 {p['boto3_ms']:.0f} ms, ratio {p['ratio']:.2f}x; "
        f"without its bytecode {p['bare_ms']:.0f} ms ({p['bare_ms'] / p['boto3_ms']:.2f}x)",
        flush=True,
    )


if __name__ == "__main__":
    main()
