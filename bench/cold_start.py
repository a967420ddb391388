"""cold_start: median wall time of a fresh ``python -c "import app"`` beside
``python -c "import boto3"`` measured the same way, interleaved, and their ratio."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
TARGET = 1.5


def _time(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return (time.perf_counter() - started) * 1000


def measure(runs: int = RUNS) -> dict[str, float]:
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SUMMON_STAGE": "dev"}
    app_ms, boto_ms = [], []
    _time("import app", env)  # warm the OS file cache for both, like a warm Lambda host
    _time("import boto3", env)
    for _ in range(runs):
        app_ms.append(_time("import app", env))
        boto_ms.append(_time("import boto3", env))
    app, boto = statistics.median(app_ms), statistics.median(boto_ms)
    return {"app_ms": app, "boto3_ms": boto, "ratio": app / boto}


def main() -> None:
    m = measure()
    print(
        f"cold_start: import app {m['app_ms']:.0f} ms, import boto3 {m['boto3_ms']:.0f} ms, "
        f"ratio {m['ratio']:.2f}x (target <= {TARGET}x, median of {RUNS})",
        flush=True,
    )


if __name__ == "__main__":
    main()
