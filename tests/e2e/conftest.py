"""The real local stack (``python -m devstack``) on free ports, once per test session,
started and stopped by the same harness the benchmarks use (``devstack/harness.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.harness import Stack, running


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with running(providers=40, schedule_period=1.0) as started:
        yield started
