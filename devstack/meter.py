"""Opt-in metering of the local stack's app processes, for the benchmarks (``bench/``).

Set ``DEVSTACK_METER_FILE=<path>`` and every app process of the stack (the HTTP API, the
WebSocket gateway, the event pump) appends one JSON line to that file per handler
invocation, i.e. per Lambda invocation it would be in the cloud::

    {"process": "http", "kind": "http", "name": "POST /requests", "status": 201,
     "ms": 41.7, "start": 1767225600.12, "end": 1767225600.16,
     "dynamodb": {"calls": 5, "ops": ["Query", ..., "TransactWriteItems"], "scans": 0,
                  "read_units": 4.5, "write_units": 9},
     "aws": {"sns.Publish": 1, "apigatewaymanagementapi.PostToConnection": 2},
     "push": 1, "ws_posts": 2, "ws_post_bytes": 913, "ws_messages": 2, "in_bytes": 0}

* ``kind``/``name``: ``http`` and ``"METHOD /path/{param}"`` (the event's ``resourcePath``);
  ``ws`` and the route key (``$connect``, ``$disconnect``, ``$default <action>``);
  ``sqs``/``sns``/``s3``/``schedule`` and the handler's name.
* ``ms``: the handler's wall time (what Lambda bills), not the gateway's.
* ``dynamodb``: every DynamoDB API call made during the invocation, in order, with the
  request units it would consume on an on-demand table (``devstack/capacity.py``: from the
  item sizes on the wire, since the emulator's ``ConsumedCapacity`` is a constant; lower
  bounds where the call does not show the item). Index entries are billed from the tables'
  secondary indexes, read once per process with ``DescribeTable`` (unmetered).
* ``aws``: every other AWS call by ``service.Operation``; ``push`` counts SNS publishes to
  a device endpoint (``TargetArn``), ``ws_posts``/``ws_post_bytes``/``ws_messages`` the
  ``@connections`` posts (``ws_messages``: billed WebSocket messages, 32 KB each).
* ``in_bytes``: the size of the inbound WebSocket frame (a billed message too).
* ``dynamodb.ms`` / ``aws_ms``: time spent waiting on DynamoDB / the other AWS services
  (summed over calls, so parallel fan-out can exceed ``ms``); the rest of ``ms`` is the
  handler's own work.

How calls are attributed: :func:`hook` puts a handler on botocore's ``before-call``/
``after-call``/``after-call-error`` events of every client created afterwards
(:func:`devstack.patches.on_every_client_call`); it adds each call to the invocation in
progress, a :class:`contextvars.ContextVar` set by the handler wrapper, so each handler
thread sees only its own. While metering, ``ThreadPoolExecutor.submit`` runs a task in a
copy of the submitter's context: fan-out calls count for the invocation that made them.

Nothing runs unless the variable is set. The stack's processes hook before they load the
app (:func:`maybe_load`, one line in each of ``devstack/http_api.py``,
``devstack/ws_gateway.py`` and ``devstack/pump.py``); clients created before are missed.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from devstack import patches
from devstack.capacity import (
    Index,
    NamedIndex,
    Shape,
    Touch,
    item_size,  # noqa: F401 - re-exported (tests size items with it)
    request_units,
    touches,
)

ENV = "DEVSTACK_METER_FILE"
WS_MESSAGE_BYTES = 32 * 1024

_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "devstack_meter_invocation", default=None
)
_writer: _Writer | None = None


def enabled() -> bool:
    return bool(os.environ.get(ENV))


# --- one invocation -------------------------------------------------------------------


@dataclass
class Invocation:
    """What one handler invocation did (filled in by the botocore hook)."""

    kind: str
    name: str
    process: str = ""
    status: int | None = None
    error: bool = False
    in_bytes: int = 0
    start: float = field(default_factory=time.time)
    ms: float = 0.0
    dynamodb_ops: list[str] = field(default_factory=list)
    dynamodb_op_ms: list[float] = field(default_factory=list)
    read_units: float = 0.0
    write_units: float = 0.0
    aws: dict[str, int] = field(default_factory=dict)
    push: int = 0
    ws_posts: int = 0
    ws_post_bytes: int = 0
    ws_messages: int = 0
    dynamodb_ms: float = 0.0
    aws_ms: float = 0.0
    partitions: dict[str, list[float]] = field(default_factory=dict)
    """Read and write units by ``"<table or index> <partition key>"`` (``capacity.touches``)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_dynamodb(
        self,
        op: str,
        read_units: float,
        write_units: float,
        ms: float,
        touched: list[Touch] | None = None,
    ) -> None:
        with self._lock:
            for label, key, reads, writes in touched or ():
                entry = self.partitions.setdefault(f"{label} {key}", [0.0, 0.0])
                entry[0] += reads
                entry[1] += writes
            self.dynamodb_ops.append(op)
            self.dynamodb_op_ms.append(round(ms, 3))
            self.dynamodb_ms += ms
            self.read_units += read_units
            self.write_units += write_units

    def add_other(self, service: str, op: str, body: Any, ms: float) -> None:
        with self._lock:
            self.aws_ms += ms
            key = f"{service}.{op}"
            self.aws[key] = self.aws.get(key, 0) + 1
            if service == "sns" and op == "Publish" and _field(body, "TargetArn"):
                self.push += 1
            elif service == "apigatewaymanagementapi" and op == "PostToConnection":
                size = len(body) if isinstance(body, bytes | str) else 0
                self.ws_posts += 1
                self.ws_post_bytes += size
                self.ws_messages += max(1, math.ceil(size / WS_MESSAGE_BYTES))

    def record(self) -> dict[str, Any]:
        return {
            "process": self.process,
            "pid": os.getpid(),
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "error": self.error,
            "ms": round(self.ms, 3),
            "start": round(self.start, 6),
            "end": round(self.start + self.ms / 1000, 6),
            "dynamodb": {
                "calls": len(self.dynamodb_ops),
                "ops": list(self.dynamodb_ops),
                "op_ms": list(self.dynamodb_op_ms),
                "scans": self.dynamodb_ops.count("Scan"),
                "read_units": round(self.read_units, 3),
                "write_units": round(self.write_units, 3),
                "ms": round(self.dynamodb_ms, 3),
                "partitions": {
                    k: [round(r, 3), round(w, 3)] for k, (r, w) in self.partitions.items()
                },
            },
            "aws": dict(self.aws),
            "aws_ms": round(self.aws_ms, 3),
            "push": self.push,
            "ws_posts": self.ws_posts,
            "ws_post_bytes": self.ws_post_bytes,
            "ws_messages": self.ws_messages,
            "in_bytes": self.in_bytes,
        }


def current() -> Invocation | None:
    """The invocation the calling thread is working for, if any."""
    return _current.get()


@contextmanager
def invocation(kind: str, name: str, process: str = "") -> Iterator[Invocation]:
    """Meter the block as one handler invocation and append its record to the file."""
    inv = Invocation(kind=kind, name=name, process=process)
    token = _current.set(inv)
    started = time.perf_counter()
    try:
        yield inv
    except BaseException:
        inv.error = True
        raise
    finally:
        inv.ms = (time.perf_counter() - started) * 1000
        _current.reset(token)
        if _writer is not None:
            _writer.write(inv.record())


class _Writer:
    """Appends JSON lines; one ``write(2)`` per line on an ``O_APPEND`` descriptor, so the
    three processes can share one file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, record: Mapping[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record, separators=(",", ":")) + "\n").encode())


def read(path: str | os.PathLike[str], offset: int = 0) -> list[dict[str, Any]]:
    """The records of a meter file (from byte ``offset``), skipping a torn last line."""
    out: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


# --- the botocore hook ----------------------------------------------------------------

_shapes: dict[str, Shape] = {}
_shapes_lock = threading.Lock()


def table_shape(table: str) -> Shape:
    """The hash key and secondary indexes (global and local) of ``table``
    (``DescribeTable`` once, not metered)."""
    if not table:
        return ("pk", [])
    with _shapes_lock:
        found = _shapes.get(table)
        if found is not None:
            return found
        token = _current.set(None)  # the lookup is the meter's, not the handler's
        try:
            import boto3

            described = boto3.client("dynamodb").describe_table(TableName=table)["Table"]
            hash_key = next(
                k["AttributeName"] for k in described["KeySchema"] if k["KeyType"] == "HASH"
            )
            indexes: list[NamedIndex] = []
            every = [
                *(described.get("GlobalSecondaryIndexes") or []),
                *(described.get("LocalSecondaryIndexes") or []),
            ]
            for index in every:
                schema = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
                projection = index.get("Projection") or {}
                indexes.append(
                    (
                        str(index["IndexName"]),
                        schema["HASH"],
                        schema.get("RANGE"),
                        str(projection.get("ProjectionType", "ALL")),
                        tuple(projection.get("NonKeyAttributes") or ()),
                    )
                )
            found = (hash_key, indexes)
        except Exception:  # noqa: BLE001 - no index accounting rather than a failed handler
            found = ("pk", [])
        finally:
            _current.reset(token)
        _shapes[table] = found
        return found


def table_indexes(table: str) -> list[Index]:
    """The secondary indexes of ``table``, global and local: each entry written is billed
    like an item."""
    return [index[1:] for index in table_shape(table)[1]]


def _main_table() -> str:
    return os.environ.get("SUMMON_TABLE", "")


_CONTEXT_KEY = "devstack_meter"


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, Mapping) else None


def _on_call(event_name: str, **kwargs: Any) -> None:
    """The botocore event handler: note a call's start (``before-call``), add the call to
    the invocation in progress at its end (``after-call``/``after-call-error``)."""
    inv = _current.get()
    if inv is None:
        return
    phase, _, rest = event_name.partition(".")
    service, _, op = rest.partition(".")
    context = kwargs.get("context")
    if phase == "before-call":
        if isinstance(context, dict):
            params = kwargs.get("params") or {}
            context[_CONTEXT_KEY] = (params.get("body"), time.perf_counter())
        return
    body, started = None, time.perf_counter()
    if isinstance(context, dict) and _CONTEXT_KEY in context:
        body, started = context[_CONTEXT_KEY]
    ms = (time.perf_counter() - started) * 1000
    if service != "dynamodb":
        inv.add_other(service, op, body, ms)
        return
    request: Mapping[str, Any] = {}
    if isinstance(body, bytes | str) and body:
        try:
            request = json.loads(body)
        except ValueError:
            request = {}
    response = kwargs.get("parsed") if phase == "after-call" else None
    parsed = response if isinstance(response, Mapping) else {}
    reads, writes = request_units(op, request, parsed, table_indexes)
    inv.add_dynamodb(
        op, reads, writes, ms, touches(op, request, parsed, table_shape, _main_table())
    )


def hook() -> None:
    """Meter the calls of every botocore client created from now on (and of boto3's default
    session) and of thread pool tasks, while an invocation is in progress; idempotent.
    :func:`install` calls it; call it earlier to meter clients created before."""
    patches.on_every_client_call(_on_call, unique_id="devstack.meter")
    patches.copy_context_into_pools(lambda: _current.get() is not None)


# --- wrapping the app -----------------------------------------------------------------


def _ws_name(event: Mapping[str, Any]) -> tuple[str, int]:
    ctx = event.get("requestContext") or {}
    route = str(ctx.get("routeKey") or ctx.get("eventType") or "ws")
    body = event.get("body")
    size = len(body.encode()) if isinstance(body, str) else 0
    if route == "$default" and isinstance(body, str):
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError, RecursionError):
            action = None
        route = f"$default {action if isinstance(action, str) else '?'}"
    return route, size


def _wrap_handler(
    handler: Callable[..., Any], kind: str, name: str, process: str
) -> Callable[..., Any]:
    def metered(event: Any, context: Any) -> Any:
        label, size = (name, 0)
        if kind == "ws" and isinstance(event, Mapping):
            label, size = _ws_name(event)
        with invocation(kind, label, process) as inv:
            inv.in_bytes = size
            result = handler(event, context)
            if isinstance(result, Mapping) and "statusCode" in result:
                inv.status = int(result["statusCode"])
            return result

    metered.__wrapped__ = handler  # type: ignore[attr-defined]
    return metered


class MeteredApp:
    """The Chalice app as the local HTTP server sees it: every attribute is the app's, and
    calling it (one API Gateway → Lambda invocation) is metered."""

    def __init__(self, app: Any, process: str) -> None:
        object.__setattr__(self, "_app", app)
        object.__setattr__(self, "_process", process)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._app, name, value)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        ctx = event.get("requestContext") or {}
        name = f"{ctx.get('httpMethod', '?')} {ctx.get('resourcePath', '?')}"
        with invocation("http", name, self._process) as inv:
            response = self._app(event, context)
            if isinstance(response, Mapping):
                inv.status = response.get("statusCode")
            return response


def unwrap(app: Any) -> Any:
    """The Chalice app itself, ``app`` being it or its :class:`MeteredApp`."""
    return vars(app)["_app"] if isinstance(app, MeteredApp) else app


def install(app: Any, process: str, path: str | None = None) -> Any:
    """Meter ``app`` in this process, writing to ``path`` (default ``$DEVSTACK_METER_FILE``).

    Wraps the WebSocket and event handlers in ``app.handler_map`` in place (what the
    gateway and the pump call) and returns a :class:`MeteredApp` for the HTTP server."""
    global _writer
    target = path or os.environ.get(ENV)
    if not target:
        raise ValueError(f"Set {ENV} (or pass path) to meter the app.")
    _writer = _Writer(os.path.abspath(target))
    hook()
    from chalice.app import (
        S3EventConfig,
        ScheduledEventConfig,
        SNSEventConfig,
        SQSEventConfig,
    )

    kinds = {
        SQSEventConfig: "sqs",
        SNSEventConfig: "sns",
        S3EventConfig: "s3",
        ScheduledEventConfig: "schedule",
    }
    names: dict[str, str] = {}
    for config in app.event_sources:
        names[config.name] = kinds.get(type(config), "event")
    for config in app.websocket_handlers.values():
        names[config.name] = "ws"
    for name, kind in names.items():
        handler = app.handler_map.get(name)
        if handler is not None and not hasattr(handler, "__wrapped__"):
            app.handler_map[name] = _wrap_handler(handler, kind, name, process)
    return MeteredApp(app, process)


def maybe_install(app: Any, process: str) -> Any:
    """:func:`install` when ``DEVSTACK_METER_FILE`` is set; else ``app`` itself, untouched."""
    return install(app, process) if enabled() else app


def maybe_load(load: Callable[[], Any], process: str) -> Any:
    """``load()`` the app and :func:`maybe_install` it, hooking botocore first when metering
    (so clients the app creates while it loads are metered too)."""
    if enabled():
        hook()
    return maybe_install(load(), process)
