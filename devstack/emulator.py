"""The AWS emulation of the local stack: moto's server app, with DynamoDB calls atomic.

Contract: every AWS API moto serves, on one HTTP endpoint. DynamoDB calls run one at a
time, in arrival order (:class:`AtomicDynamoDB`), so a conditional write or a
TransactWriteItems applies whole or not at all and never interleaves with another call, as
in the cloud; other services (SQS long polls ...) stay concurrent. A TransactWriteItems
costs O(items it names), a Query O(its partition) (moto's internals patched for that in
``devstack/patches.py``); full GC collections stay short (:func:`steady_gc`). Why:
``docs/adr/0011-local-stack-emulation.md``.

Run: ``python -m devstack.emulator --host 127.0.0.1 --port 5000``.
"""

from __future__ import annotations

import argparse
import collections
import gc
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from devstack import faults, lifeline, logs, patches, timing
from devstack.persist import Journal
from devstack.s3post import S3PostPolicy

log = logging.getLogger("devstack.emulator")


class FifoLock:
    """A mutex that is handed to its waiters in arrival order (``threading.Lock`` lets a
    newcomer take it before a thread that has been waiting, so one call can wait behind
    many later ones)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder handing over (the lock stays held)

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False


class AtomicDynamoDB:
    """WSGI middleware: each DynamoDB API call (``X-Amz-Target: DynamoDB_*``) runs alone,
    under a :class:`FifoLock`, and its response body is read in full inside the lock.

    DynamoDB calls go straight to moto's DynamoDB app (found once, through moto's
    ``get_application``) instead of through moto's per-request service dispatch; other
    requests pass to ``app`` unchanged and concurrently."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = FifoLock()
        self._dynamodb: Callable[..., Iterable[bytes]] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            app = self._dynamodb
            if app is None:
                find = getattr(self.app, "get_application", None)
                app = self._dynamodb = find(environ) if find is not None else self.app
            with self.lock:
                return list(app(environ, start_response))
        return self.app(environ, start_response)


def steady_gc() -> None:
    """Keep the cyclic garbage collector's full collections short in a long-running server.

    Freezes (``gc.freeze``) what exists now and what survives each full (generation 2)
    collection, so the next one scans only what was allocated since: a full collection of
    moto's state holds the GIL for tens of ms otherwise. Frozen objects are still freed by
    reference counting; a reference cycle among them that later becomes garbage is never
    reclaimed (acceptable for a development server). Idempotent."""
    gc.freeze()
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)


def _freeze_after_full(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def make_app(
    journal: Journal | None = None, fault_setting: faults.Setting | None = None
) -> faults.FaultInjector:
    """moto's server WSGI app (every service) behind :class:`AtomicDynamoDB`, the S3
    POST-policy check (``devstack/s3post.py``) and the fault switch
    (``devstack/faults.py``; off unless ``fault_setting`` says otherwise), with the moto
    patches of ``devstack/patches.py`` applied to this process. With a ``journal``, its
    state is restored first and every change is journaled (``devstack/persist.py``); a
    call refused by the fault switch never reaches it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patches.patch_transactions()
    patches.patch_queries()
    patches.patch_request_overhead()
    moto: Any = DomainDispatcherApplication(create_backend_app)
    if journal is not None:
        restored = journal.restore(moto)
        log.info("restored %d calls from %s", restored.entries, journal.dir)
        moto = journal.wrap(moto)
    aws = timing.maybe_wrap_emulator(AtomicDynamoDB(S3PostPolicy(moto)))  # DEVSTACK_TIMING_FILE
    return faults.FaultInjector(aws, fault_setting or faults.Setting())


def make_server(
    host: str,
    port: int,
    journal: Journal | None = None,
    fault_setting: faults.Setting | None = None,
) -> Any:
    """The emulator's threaded werkzeug WSGI server on ``host:port`` (0: a free port), with
    ``TCP_NODELAY`` on each connection (werkzeug sends a response's head and body
    separately; with Nagle's algorithm the body would wait for a delayed ACK)."""
    import socket

    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as werkzeug_server

    class NoDelayHandler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    app = make_app(journal, fault_setting)
    return werkzeug_server(host, port, app, threaded=True, request_handler=NoDelayHandler)


class Emulator:
    """The emulator in a background thread (for tests and benchmarks); port 0 picks one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, journal: Journal | None = None):
        self._server = make_server(host, port, journal)
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
    parser.add_argument("--state-dir", help="keep the state here across restarts (persist.py)")
    parser.add_argument(
        "--faults",
        default=os.environ.get(faults.ENV, ""),
        help="fault injection, e.g. 'rate=0.05,seed=7' (devstack/faults.py)",
    )
    args = parser.parse_args(argv)
    logs.configure()
    lifeline.exit_with_parent()
    journal = Journal(Path(args.state_dir)) if args.state_dir else None
    server = make_server(args.host, args.port, journal, faults.parse(args.faults))
    steady_gc()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
