"""Local data that survives a restart: the emulator's write-ahead journal of AWS calls.

Contract: every AWS call that changes DynamoDB, Cognito, S3 or SNS state and succeeds
(2xx) is appended to ``<dir>/journal.<generation>.jsonl`` before its response leaves the
emulator, so an acknowledged write survives Ctrl-C, SIGTERM and SIGKILL of any process of
the stack (the OS holds the written line; no ``fsync``: a power cut can lose what the OS
had not flushed yet). When the emulator starts on the same directory it replays the
snapshot and the journals in their order, then compacts them into a new snapshot.

* **Deterministic replay.** Calls that change state are applied and journaled one at a
  time (one lock), so the journal order is the order they took effect. Each is given a
  seed for moto's random ids (Cognito ``sub``, refresh tokens, SNS endpoint ARNs …;
  ``patches.seeded_random``), recorded with it: a replay draws the same ids. S3 events are
  not sent during a replay (they were delivered when the upload happened).
* **What is kept**: DynamoDB tables, their settings and items; Cognito pools, clients,
  groups, users, passwords and refresh tokens (the signing key is moto's fixed one, so ID
  tokens issued before a restart still verify); S3 buckets, their settings and objects; SNS
  topics, subscriptions, platform applications and endpoints. **Not kept**: SQS messages
  (queues are provisioned again; an S3 event not yet taken by the pump at the moment of a
  kill is not redelivered), SNS publishes, multipart uploads (their ids are not drawn from
  moto's seeded random), anything of other services.
* **Compaction**, at start, before serving: the DynamoDB item writes are replaced by the
  tables' items as they are (a Scan each), the other calls are kept as they were. The
  snapshot says which journal generations it holds, so a kill at any step of it loses and
  doubles nothing.

Why: ``docs/adr/0017-local-data-survives-restarts.md``.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devstack import patches

log = logging.getLogger("devstack.persist")

FORMAT = 1
READ_PREFIXES = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "TransactGet")
ITEM_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
"""DynamoDB calls whose effect a snapshot keeps as the items themselves."""
NOT_STATE = {"sns": frozenset({"Publish", "PublishBatch"})}
TARGETS = {"DynamoDB_20120810": "dynamodb", "AWSCognitoIdentityProviderService": "cognito-idp"}
WSGI = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _scope(environ: dict[str, Any]) -> str | None:
    """The service a SigV4-signed call names in its credential scope (header or query)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    credential = auth.partition("Credential=")[2].partition(",")[0]
    if not credential:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        credential = (query.get("X-Amz-Credential") or [""])[0]
    parts = credential.split("/")
    return parts[3] if len(parts) == 5 else None


def classify(environ: dict[str, Any], body: bytes) -> tuple[str, str] | None:
    """(service, operation) of a call that changes kept state; None for anything else."""
    method = environ.get("REQUEST_METHOD", "GET")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, op = target.partition(".")
        service = TARGETS.get(prefix)
        if service is None:
            return None
    else:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return None
        # Unsigned or SigV2 (presigned URLs, browser POST uploads): S3, as moto dispatches it.
        service = _scope(environ) or "s3"
        if service == "s3":
            return ("s3", method) if method in ("PUT", "POST", "DELETE") else None
        if service != "sns":
            return None
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        form = form or parse_qs(environ.get("QUERY_STRING", ""))
        op = (form.get("Action") or [""])[0]
    if not op or op.removeprefix("Admin").startswith(READ_PREFIXES):
        return None
    if op in NOT_STATE.get(service, ()):
        return None
    return service, op


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        return b""
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


@dataclass
class Entry:
    """One journaled call: its WSGI environment (the string values), body and seed."""

    service: str
    op: str
    environ: dict[str, str]
    body: bytes
    seed: int

    def line(self) -> bytes:
        try:
            text, encoded = self.body.decode("utf-8"), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(self.body).decode("ascii"), True
        record = {
            "svc": self.service,
            "op": self.op,
            "env": self.environ,
            "body": text,
            "b64": encoded,
            "seed": self.seed,
        }
        return (json.dumps(record, separators=(",", ":")) + "\n").encode()

    @classmethod
    def parse(cls, record: dict[str, Any]) -> Entry:
        body = record["body"]
        raw = base64.b64decode(body) if record["b64"] else body.encode("utf-8")
        return cls(record["svc"], record["op"], record["env"], raw, int(record["seed"]))

    def call(self, app: WSGI) -> tuple[str, bytes]:
        """Apply it to ``app`` (seeded as when it was first applied): (status, body)."""
        environ: dict[str, Any] = dict(self.environ)
        environ.update(
            {
                "wsgi.input": io.BytesIO(self.body),
                "CONTENT_LENGTH": str(len(self.body)),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.multithread": False,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
                "wsgi.input_terminated": True,  # read the body to its end
            }
        )
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(line)
            return lambda data: None

        with patches.seeded_random(self.seed):
            out = b"".join(app(environ, start_response))
        return (status[0] if status else "500"), out


_NOT_KEPT = frozenset({"CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "REMOTE_ADDR", "REMOTE_PORT"})
"""Set again on replay (the body is kept whole, unchunked) or of no use to it."""


def _state_environ(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if isinstance(v, str) and k not in _NOT_KEPT}


def _entries(path: Path) -> Iterator[Entry]:
    """The entries of a journal or snapshot file; a torn last line (a kill in mid-write,
    never acknowledged) ends it."""
    with path.open("rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.endswith(b"\n"):
                log.warning("%s: dropping a torn last line (%d bytes)", path.name, len(raw))
                return
            try:
                record = json.loads(raw)
                if "summon_state" in record:  # a snapshot's header
                    continue
                entry = Entry.parse(record)
            except (KeyError, ValueError) as exc:
                raise RuntimeError(
                    f"{path}:{number}: unreadable entry ({exc}); make dev-reset starts clean"
                ) from exc
            yield entry


@dataclass
class Restored:
    entries: int
    diverged: int
    generation: int


class Journal:
    """The state directory of one emulator: restore it, then journal the calls.

    ``restore(app)`` replays into ``app`` (moto's dispatcher, not a middleware that checks
    time-bound things such as presigned POST policies) and compacts; ``wrap(app)`` is the
    middleware that journals what ``app`` applies. The directory is locked while the
    emulator runs (a second emulator on it waits, then fails)."""

    def __init__(self, directory: Path, lock_timeout_s: float = 15.0) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + lock_timeout_s
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.dir} is in use by another emulator") from None
                time.sleep(0.2)
        os.ftruncate(self._lock_fd, 0)
        os.write(self._lock_fd, str(os.getpid()).encode())
        self._apply = threading.Lock()
        self._fd: int | None = None

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.dir.glob("journal.*.jsonl"):
            middle = path.name.removeprefix("journal.").removesuffix(".jsonl")
            if middle.isdigit():
                found.append((int(middle), path))
        return sorted(found)

    def restore(self, app: WSGI) -> Restored:
        snapshot = self.dir / "snapshot.jsonl"
        covers = 0
        sources: list[Path] = []
        if snapshot.exists():
            with snapshot.open("rb") as f:
                covers = int(json.loads(f.readline() or b'{"covers": 0}').get("covers", 0))
            sources.append(snapshot)
        journals = [(gen, p) for gen, p in self._journals() if gen > covers]
        sources += [p for _, p in journals]
        generation = max([covers] + [gen for gen, _ in journals])
        kept: list[Entry] = []
        tables: dict[str, Entry] = {}
        count = diverged = 0
        with patches.no_s3_events():
            for path in sources:
                for entry in _entries(path):
                    status, _ = entry.call(app)
                    count += 1
                    if not status.startswith("2"):
                        diverged += 1
                        log.warning("replay of %s %s answered %s", entry.service, entry.op, status)
                        continue
                    if entry.service == "dynamodb" and entry.op in ITEM_WRITES:
                        continue
                    kept.append(entry)
                    if entry.service == "dynamodb" and entry.op == "CreateTable":
                        tables[json.loads(entry.body)["TableName"]] = entry
            items = [e for name, made in tables.items() for e in _table_items(app, name, made)]
        self._write_snapshot(kept + items, generation)
        for gen, path in self._journals():
            if gen <= generation:
                path.unlink()
        self._fd = os.open(
            self.dir / f"journal.{generation + 1}.jsonl",
            os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            0o644,
        )
        return Restored(entries=count, diverged=diverged, generation=generation)

    def close(self) -> None:
        """Stop journaling and unlock the directory (the process's exit does the same)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        os.close(self._lock_fd)

    def _write_snapshot(self, entries: list[Entry], covers: int) -> None:
        tmp = self.dir / "snapshot.jsonl.tmp"
        with tmp.open("wb") as f:
            f.write(json.dumps({"summon_state": FORMAT, "covers": covers}).encode() + b"\n")
            for entry in entries:
                f.write(entry.line())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.dir / "snapshot.jsonl")
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _append(self, entry: Entry) -> None:
        assert self._fd is not None, "restore() first"
        data = memoryview(entry.line())
        while data:
            data = data[os.write(self._fd, data) :]

    def wrap(self, app: WSGI) -> WSGI:
        def journaled(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            method = environ.get("REQUEST_METHOD", "GET")
            if method in ("GET", "HEAD", "OPTIONS"):
                return app(environ, start_response)
            body = _read_body(environ)
            kind = classify(environ, body)
            if kind is None:
                return app(environ, start_response)
            status: list[str] = []

            def capture(line: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(line)
                return start_response(line, headers, exc_info)

            seed = int.from_bytes(os.urandom(8), "big")
            with self._apply:
                with patches.seeded_random(seed):
                    out = list(app(environ, capture))
                if status and status[0].startswith("2"):
                    self._append(Entry(*kind, _state_environ(environ), body, seed))
            return out

        return journaled


def _table_items(app: WSGI, table: str, made: Entry) -> list[Entry]:
    """The table's items as BatchWriteItem entries (25 items each), read with a Scan signed
    like the call that created the table (same account and region); none when the table
    is gone."""

    def call(op: str, payload: dict[str, Any]) -> Entry:
        environ = dict(made.environ)
        environ["HTTP_X_AMZ_TARGET"] = f"DynamoDB_20120810.{op}"
        return Entry("dynamodb", op, environ, json.dumps(payload).encode(), 0)

    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        scan: dict[str, Any] = {"TableName": table}
        if start:
            scan["ExclusiveStartKey"] = start
        status, out = call("Scan", scan).call(app)
        if not status.startswith("2"):
            return []
        page = json.loads(out)
        items += page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    return [
        call(
            "BatchWriteItem",
            {"RequestItems": {table: [{"PutRequest": {"Item": i}} for i in items[n : n + 25]]}},
        )
        for n in range(0, len(items), 25)
    ]
