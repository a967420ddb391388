"""``make bench``: every benchmark in turn, one line per figure (see BENCHMARKS.md)."""

from __future__ import annotations

import importlib.util
import platform
import subprocess
import sys
import time

MODULES = (
    "bench.cold_start",
    "bench.package_size",
    "bench.dynamodb_calls",
    "bench.matching",
    "bench.chat_latency",
    "bench.cost_per_job",
    "bench.capacity",
    "bench.newcomer",
    "bench.fanout",
)


def main() -> int:
    cpu = platform.processor() or platform.machine()
    print(f"machine: {platform.platform()}, {cpu}, python {platform.python_version()}")
    failed = 0
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            print(f"{name.split('.')[-1]}: not available yet")
            continue
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", name], check=False)
        if result.returncode != 0:
            failed += 1
            print(f"{name.split('.')[-1]}: FAILED (exit {result.returncode})")
        print(f"  ({name} took {time.perf_counter() - started:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
