"""Helpers shared by the local-stack tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class Recorder:
    """Thread-safe log of (route or handler name, event dict) that tests can wait on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def add(self, name: str, event: dict[str, Any]) -> None:
        with self._cond:
            self.calls.append((name, event))
            self._cond.notify_all()

    def of(self, name: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for n, e in self.calls if n == name]

    def wait_for(
        self,
        name: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[dict[str, Any]], bool] = lambda _e: True,
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` matching events were recorded; return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for n, e in self.calls if n == name and where(e)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{name}: {len(found)} of {count} events after {timeout}s")
                self._cond.wait(left)
