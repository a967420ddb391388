"""The marketplace's unit of work as the services use it: ``work().run(decide, ...)``.

:func:`work` is the DynamoDB unit of work (:mod:`chalicelib.store.marketplace`) wired to
the events port: its changes' events are described by
:func:`~chalicelib.services.notifications.describe` and published by
:func:`~chalicelib.services.notifications.publish`. Tests run the services against
another unit of work (e.g. an in-memory one) with ``runtime.use(marketplace=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from chalicelib import runtime
from chalicelib.services import notifications
from chalicelib.store import marketplace as store

T = TypeVar("T")


class UnitOfWork(Protocol):
    def read(self, look: Callable[[Any], T]) -> T: ...

    def run(
        self, decide: Callable[[Any], T], *, conflict: str, attempts: int = store.MAX_ATTEMPTS
    ) -> T: ...


def work() -> UnitOfWork:
    """The unit of work of this container (``runtime.use(marketplace=...)`` swaps it)."""
    return runtime.get().memo("marketplace", _on_dynamodb)


def _on_dynamodb() -> UnitOfWork:
    return store.UnitOfWork(
        describe=notifications.describe,  # type: ignore[arg-type]
        publish=notifications.publish,
    )
