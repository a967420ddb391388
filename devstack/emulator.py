"""The AWS emulation of the local stack: moto's server app, with DynamoDB made atomic.

DynamoDB runs every API call atomically (a conditional write or a TransactWriteItems either
applies whole or not at all, never interleaved with another call on the same items). moto's
threaded server does not: a TransactWriteItems snapshots the table, applies its items one by
one and, when a condition fails, restores the snapshot, undoing whatever other threads
wrote meanwhile; two simultaneous "first accept wins" transactions can then both succeed.
Here DynamoDB calls run one at a time (everything else stays concurrent, e.g. SQS long
polls), which is the guarantee the app relies on in the cloud.

moto also deep-copies the whole table once per *item* of a transaction to roll back; with
a few hundred seeded items that makes every transaction slow, so a copy is taken once per
transaction (before any item is applied, as intended).

Run: ``python -m devstack.emulator --host 127.0.0.1 --port 5000``.
"""

from __future__ import annotations

import argparse
import copy
import threading
from collections.abc import Callable, Iterable
from typing import Any

from devstack import logs


class AtomicDynamoDB:
    """WSGI middleware: each DynamoDB API call runs alone."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class _CopyOnce:
    """Stands in for the ``copy`` module inside one transaction: repeated deep copies of the
    same object share the first one (taken before any item was applied)."""

    def __init__(self) -> None:
        self.memo: dict[int, tuple[Any, Any]] = {}

    def deepcopy(self, value: Any, *args: Any) -> Any:
        if id(value) not in self.memo:
            self.memo[id(value)] = (value, copy.deepcopy(value, *args))
        return self.memo[id(value)][1]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def patch_transactions() -> None:
    """Snapshot each table once per TransactWriteItems (idempotent)."""
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_summon_patched", False):
        return

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        models.copy = _CopyOnce()  # type: ignore[assignment,attr-defined]
        try:
            return original(self, transact_items)
        finally:
            models.copy = copy  # type: ignore[attr-defined]

    transact_write_items._summon_patched = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def make_app() -> AtomicDynamoDB:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patch_transactions()
    return AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))


class Emulator:
    """The emulator in a background thread (for tests and benchmarks); port 0 picks one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from werkzeug.serving import make_server

        self._server = make_server(host, port, make_app(), threaded=True)
        self.port = int(self._server.server_port)
        self.endpoint = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server with atomic DynamoDB calls")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    logs.configure()
    from werkzeug.serving import make_server

    server = make_server(args.host, args.port, make_app(), threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
