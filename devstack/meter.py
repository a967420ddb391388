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
  request units it would consume on an on-demand table, computed from the item sizes on
  the wire (the emulator's ``ConsumedCapacity`` is a constant): reads round each item (or
  a Query's total) up to 4 KB, 0.5 unit eventually consistent, 1 consistent, 2
  transactional; writes round each item up to 1 KB, 2 units transactional. For an
  ``UpdateItem``/``DeleteItem`` that returns no attributes the size is that of the key and
  the values sent: a lower bound (exact whenever the item stays under 1 KB). Writes to a
  secondary index (global or local) are billed too: when the call shows the item's image (a Put's
  item, an ``ALL_NEW``/``ALL_OLD`` answer) and it carries an index's keys, the projected
  size is added as write units per index (the tables' indexes are read once per process
  with ``DescribeTable``, unmetered). An index entry removed by an update that returns no
  image is not seen, so write units are a lower bound.
* ``aws``: every other AWS call by ``service.Operation``; ``push`` counts SNS publishes to
  a device endpoint (``TargetArn``), ``ws_posts``/``ws_post_bytes``/``ws_messages`` the
  ``@connections`` posts (``ws_messages``: billed WebSocket messages, 32 KB each).
* ``in_bytes``: the size of the inbound WebSocket frame (a billed message too).
* ``dynamodb.ms`` / ``aws_ms``: time spent waiting on DynamoDB / the other AWS services
  (summed over calls, so parallel fan-out can exceed ``ms``); the rest of ``ms`` is the
  handler's own work.

How calls are attributed: botocore emits ``before-call.<service>.<Op>`` and ``after-call``
through ``HierarchicalEmitter._emit(event_name, kwargs, stop_on_response)`` (``before-call``
via ``emit_until_response``, which bypasses ``emit``; note the keyword arguments arrive as
one dict), so that method is wrapped once per process. The invocation in progress
is a :class:`contextvars.ContextVar` set by the handler wrapper; the servers are threaded,
so each handler thread sees only its own invocation. Handlers fan out over thread pools
(parallel ``@connections`` posts, geo index queries): while metering,
``ThreadPoolExecutor.submit`` runs the task in a copy of the submitter's context, so those
calls count for the invocation that made them.

Nothing here runs unless the variable is set: :func:`maybe_install` returns the app
untouched otherwise. The hooks are one line in each of ``devstack/http_api.py``,
``devstack/ws_gateway.py`` and ``devstack/pump.py``.
"""

from __future__ import annotations

import contextvars
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ENV = "DEVSTACK_METER_FILE"

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
WS_MESSAGE_BYTES = 32 * 1024

_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "devstack_meter_invocation", default=None
)
_install_lock = threading.Lock()
_patched = False
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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_dynamodb(self, op: str, read_units: float, write_units: float, ms: float) -> None:
        with self._lock:
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


# --- request units from item sizes ----------------------------------------------------


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes DynamoDB counts for one wire-format attribute value (``{"S": "..."}``)."""
    if not isinstance(value, Mapping) or not value:
        return 0
    ((kind, v),) = list(value.items())[:1]
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        digits = str(v).lstrip("-").replace(".", "").strip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(v) * 3 // 4 if isinstance(v, str) else len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in v)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in v)
    if kind == "BS":
        return sum(value_size({"B": b}) for b in v)
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    return 0


def item_size(item: Mapping[str, Any] | None) -> int:
    """Bytes of a wire-format item: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(v) for name, v in item.items())


def _read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * (1.0 if consistent else 0.5)


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


Index = tuple[str, str | None, str, tuple[str, ...]]
"""A global secondary index: (hash key, range key, projection type, included attributes)."""


def index_units(item: Mapping[str, Any] | None, indexes: list[Index]) -> float:
    """Write units the index entries of one written item image cost."""
    if not item:
        return 0.0
    units = 0.0
    for hash_key, range_key, projection, included in indexes:
        if hash_key not in item or (range_key is not None and range_key not in item):
            continue
        keys = {hash_key, *([range_key] if range_key else [])}
        if projection == "ALL":
            projected: Mapping[str, Any] = item
        else:
            wanted = keys | set(included)
            projected = {k: v for k, v in item.items() if k in wanted}
        units += _write_units(item_size(projected))
    return units


def request_units(
    op: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    indexes: Callable[[str], list[Index]] = lambda table: [],
) -> tuple[float, float]:
    """(read units, write units) of one DynamoDB call on an on-demand table."""
    consistent = bool(request.get("ConsistentRead"))
    if op == "GetItem":
        return _read_units(item_size(response.get("Item")), consistent), 0.0
    if op == "BatchGetItem":
        reads = 0.0
        unprocessed = response.get("UnprocessedKeys") or {}
        for table, spec in (request.get("RequestItems") or {}).items():
            got = (response.get("Responses") or {}).get(table) or []
            c = bool(spec.get("ConsistentRead"))
            reads += sum(_read_units(item_size(i), c) for i in got)
            missing = len(spec.get("Keys") or []) - len(got)
            missing -= len((unprocessed.get(table) or {}).get("Keys") or [])
            reads += max(missing, 0) * _read_units(0, c)
        return reads, 0.0
    if op in ("Query", "Scan"):
        items = response.get("Items") or []
        total = sum(item_size(i) for i in items)
        count = int(response.get("Count", len(items)) or 0)
        scanned = int(response.get("ScannedCount", count) or 0)
        if scanned > count:  # a filter dropped items it had read (and billed)
            total = total * scanned // count if count else scanned * 100
        return _read_units(total, consistent), 0.0
    if op == "TransactGetItems":
        reads = 0.0
        for got in response.get("Responses") or []:
            reads += 2 * _read_units(item_size((got or {}).get("Item")), True)
        missing = len(request.get("TransactItems") or []) - len(response.get("Responses") or [])
        return reads + 2 * max(missing, 0), 0.0
    table = str(request.get("TableName") or "")
    if op == "PutItem":
        size = max(item_size(request.get("Item")), item_size(response.get("Attributes")))
        return 0.0, _write_units(size) + index_units(request.get("Item"), indexes(table))
    if op in ("UpdateItem", "DeleteItem"):
        sent = item_size(request.get("Key")) + item_size(request.get("ExpressionAttributeValues"))
        image = response.get("Attributes")
        writes = _write_units(max(sent, item_size(image)))
        return 0.0, writes + index_units(image, indexes(table))
    if op == "BatchWriteItem":
        writes = 0.0
        for name, requests in (request.get("RequestItems") or {}).items():
            for r in requests:
                if "PutRequest" in r:
                    item = r["PutRequest"].get("Item")
                    writes += _write_units(item_size(item)) + index_units(item, indexes(name))
                elif "DeleteRequest" in r:
                    writes += _write_units(item_size(r["DeleteRequest"].get("Key")))
        return 0.0, writes
    if op == "TransactWriteItems":
        writes = 0.0
        for entry in request.get("TransactItems") or []:
            for action, spec in entry.items():
                if action == "Put":
                    size = item_size(spec.get("Item"))
                    writes += index_units(spec.get("Item"), indexes(str(spec.get("TableName"))))
                else:
                    size = item_size(spec.get("Key"))
                    size += item_size(spec.get("ExpressionAttributeValues"))
                writes += 2 * _write_units(size)
        return 0.0, writes
    return 0.0, 0.0  # control plane (DescribeTable ...): not request units


# --- the botocore hook ----------------------------------------------------------------

_indexes: dict[str, list[Index]] = {}
_indexes_lock = threading.Lock()


def table_indexes(table: str) -> list[Index]:
    """The secondary indexes of ``table``, global and local (``DescribeTable`` once, not
    metered): each entry written is billed like an item."""
    if not table:
        return []
    with _indexes_lock:
        found = _indexes.get(table)
        if found is not None:
            return found
        token = _current.set(None)  # the lookup is the meter's, not the handler's
        try:
            import boto3

            described = boto3.client("dynamodb").describe_table(TableName=table)["Table"]
            found = []
            every = [
                *(described.get("GlobalSecondaryIndexes") or []),
                *(described.get("LocalSecondaryIndexes") or []),
            ]
            for index in every:
                schema = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
                projection = index.get("Projection") or {}
                found.append(
                    (
                        schema["HASH"],
                        schema.get("RANGE"),
                        str(projection.get("ProjectionType", "ALL")),
                        tuple(projection.get("NonKeyAttributes") or ()),
                    )
                )
        except Exception:  # noqa: BLE001 - no index accounting rather than a failed handler
            found = []
        finally:
            _current.reset(token)
        _indexes[table] = found
        return found


_CONTEXT_KEY = "devstack_meter"
_HOOKED = ("before-call.", "after-call.", "after-call-error.")
"""``after-call`` carries the parsed response (also of an AWS error); ``after-call-error``
ends a call that got no response at all. Each call ends with exactly one of the two."""


def _field(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, Mapping) else None


def _on_event(event_name: str, kwargs: Mapping[str, Any]) -> None:
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
    inv.add_dynamodb(op, reads, writes, ms)


def _patch_process() -> None:
    """Wrap botocore's emitter and ``ThreadPoolExecutor.submit`` (once per process)."""
    global _patched
    with _install_lock:
        if _patched:
            return
        from botocore.hooks import HierarchicalEmitter

        original_emit = HierarchicalEmitter._emit

        def _emit(
            self: HierarchicalEmitter,
            event_name: str,
            kwargs: dict[str, Any],
            stop_on_response: bool = False,
        ) -> Any:
            if event_name.startswith(_HOOKED) and _current.get() is not None:
                _on_event(event_name, kwargs)
            return original_emit(self, event_name, kwargs, stop_on_response)

        HierarchicalEmitter._emit = _emit  # type: ignore[method-assign,unused-ignore]

        original_submit = ThreadPoolExecutor.submit

        def submit(
            self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kw: Any
        ) -> Future[Any]:
            if _current.get() is not None:
                return original_submit(self, contextvars.copy_context().run, fn, *args, **kw)
            return original_submit(self, fn, *args, **kw)

        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]
        _patched = True


# --- wrapping the app -----------------------------------------------------------------


def _ws_name(event: Mapping[str, Any]) -> tuple[str, int]:
    ctx = event.get("requestContext") or {}
    route = str(ctx.get("routeKey") or ctx.get("eventType") or "ws")
    body = event.get("body")
    size = len(body.encode()) if isinstance(body, str) else 0
    if route == "$default" and isinstance(body, str):
        try:
            action = json.loads(body).get("action")
        except (ValueError, AttributeError):
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


def install(app: Any, process: str, path: str | None = None) -> Any:
    """Meter ``app`` in this process, writing to ``path`` (default ``$DEVSTACK_METER_FILE``).

    Wraps the WebSocket and event handlers in ``app.handler_map`` in place (what the
    gateway and the pump call) and returns a :class:`MeteredApp` for the HTTP server."""
    global _writer
    target = path or os.environ.get(ENV)
    if not target:
        raise ValueError(f"Set {ENV} (or pass path) to meter the app.")
    _writer = _Writer(os.path.abspath(target))
    _patch_process()
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
