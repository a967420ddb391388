"""The AWS emulation of the local stack: moto's server app, with DynamoDB made atomic.

DynamoDB runs every API call atomically (a conditional write or a TransactWriteItems either
applies whole or not at all, never interleaved with another call on the same items). moto's
threaded server does not: a TransactWriteItems snapshots the table, applies its items one by
one and, when a condition fails, restores the snapshot, undoing whatever other threads
wrote meanwhile; two simultaneous "first accept wins" transactions can then both succeed.
Here DynamoDB calls run one at a time (everything else stays concurrent, e.g. SQS long
polls), which is the guarantee the app relies on in the cloud.

moto also deep-copies every table a TransactWriteItems names (once per *item*) so it can
roll back: O(table) per transaction, tens of ms with the seed and seconds with big tables,
on every chat message. Here a transaction keeps an undo log of the items it touches
instead (:func:`transact_write_items`): same checks, same errors, same all-or-nothing
result, at a cost per item. That is sound because DynamoDB calls run one at a time.

The rest keeps a chat message's 4 calls quick (``BENCHMARKS.md``, chat_latency): a Query
reads its partition instead of sorting the whole table (:func:`patch_queries`), per-request
lookups moto repeats are cached (:func:`patch_request_overhead`), waiting calls get the lock
in arrival order (:class:`FifoLock`), and full GC collections stay short (:func:`steady_gc`).

Run: ``python -m devstack.emulator --host 127.0.0.1 --port 5000``.
"""

from __future__ import annotations

import argparse
import collections
import copy
import gc
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from devstack import logs


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
    """WSGI middleware: each DynamoDB API call runs alone.

    DynamoDB calls go straight to moto's DynamoDB app: moto's dispatcher would work out the
    service again for every request (from the signature, after listing moto's package
    directory on disk), the same answer every time."""

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


@dataclass
class _Before:
    """What one item of a transaction was before the transaction touched it."""

    table: Any
    hash_key: Any
    range_key: Any
    item: Any  # a private copy of the item, or None when there was none


def _remember(table: Any, hash_key: Any, range_key: Any) -> _Before:
    current = table.get_item(hash_key, range_key)
    return _Before(table, hash_key, range_key, copy.deepcopy(current))


def _undo(touched: list[_Before], streams: dict[int, tuple[Any, int]]) -> None:
    """Put every touched item back as it was (latest first), and drop the stream records
    the transaction added: the table is as before, whatever else it holds."""
    for before in reversed(touched):
        items = before.table.items
        if before.range_key is not None:
            bucket = items[before.hash_key]
            if before.item is None:
                bucket.pop(before.range_key, None)
            else:
                bucket[before.range_key] = before.item
        elif before.item is None:
            items.pop(before.hash_key, None)
        else:
            items[before.hash_key] = before.item
    for shard, length in streams.values():
        del shard.items[length:]


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """``DynamoDBBackend.transact_write_items`` of moto 5.2 with an undo log of the items it
    touches instead of a deep copy of every table it names (the copy costs O(table) per
    transaction: tens of ms with the seed, seconds with big tables).

    The same steps, checks and errors as moto's: one operation per item, no two items on the
    same key (``ValidationException``, nothing written), each item's condition evaluated on
    the item as it is, ``ReturnValuesOnConditionCheckFailure=ALL_OLD`` answered with the
    item, every item attempted, and when any failed, ``TransactionCanceledException`` with
    one ``CancellationReasons`` entry per item (``None`` for those that passed) and
    nothing written. Calls run one at a time (:class:`AtomicDynamoDB`), so undoing the
    touched items restores exactly the state before the call.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    streams: dict[int, tuple[Any, int]] = {}
    for entry in transact_items:
        _, op = next(iter(entry.items()))
        table_name = op.get("TableName")
        if table_name and table_name in self.tables:
            shard = self.tables[table_name].stream_shard
            if shard is not None:
                streams[id(shard)] = (shard, len(shard.items))

    touched: list[_Before] = []
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any]] | tuple[None, None, None]] = []
    for entry in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(entry.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type != "ConditionCheck":
                table = self.get_table(table_name)
                touched.append(_remember(table, *self.get_keys_value(table, key)))
            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            _undo(touched, streams)
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))  # type: ignore[arg-type]
        except Exception as e:  # noqa: BLE001 - reported as that item's cancellation reason
            errors.append((type(e).__name__, str(e), original_item))  # type: ignore[arg-type]

    if any(code is not None for code, _, _ in errors):
        _undo(touched, streams)
        raise TransactionCanceledException(errors)


def patch_transactions() -> None:
    """Replace moto's TransactWriteItems with :func:`transact_write_items` (idempotent)."""
    from moto.dynamodb import models

    original = models.DynamoDBBackend.transact_write_items
    if getattr(original, "_summon_patched", False):
        return
    transact_write_items._summon_patched = True  # type: ignore[attr-defined]
    transact_write_items._moto_original = original  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _QueryScope(threading.local):
    """The table and partition a ``Table.query`` on this thread reads (see
    :func:`patch_queries`)."""

    table: Any = None
    hash_key: Any = None


_query_scope = _QueryScope()


def patch_queries() -> None:
    """Make a Query cost what it reads, not the whole table (idempotent).

    moto's ``Table.query`` starts from ``Table.all_items()``, which lists *and sorts* every
    item of the table (Python comparisons of ``DynamoType``), then keeps the partition (or
    the index entries) asked for and sorts those again. So every Query costs O(N log N) in
    the table's size, under the one-call-at-a-time lock: with a few thousand items, tens
    of ms during which every other DynamoDB call waits. Inside a Query, ``all_items``
    here answers the asked partition's items only (a table Query), or every item unsorted
    (an index Query, which moto filters and then sorts by the index key + the table key,
    a total order): the same results in the same order, without the global sort. Other
    callers (Scan, exports) keep moto's sorted list.
    """
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_summon_patched", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        outer = (_query_scope.table, _query_scope.hash_key)
        _query_scope.table = self
        _query_scope.hash_key = None if index_name else hash_key
        try:
            return original_query(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            _query_scope.table, _query_scope.hash_key = outer

    def all_items(self: Any) -> list[Any]:
        if _query_scope.table is not self:
            return original_all_items(self)
        hash_key = _query_scope.hash_key
        if hash_key is None:  # an index: moto filters and sorts what this returns
            if self.range_key_attr:
                return [item for bucket in self.items.values() for item in bucket.values()]
            return list(self.items.values())
        found = self.items.get(hash_key)
        if not found:
            return []
        return list(found.values()) if self.range_key_attr else [found]

    query._summon_patched = True  # type: ignore[attr-defined]
    query._moto_original = original_query  # type: ignore[attr-defined]
    all_items._moto_original = original_all_items  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def patch_request_overhead() -> None:
    """Two lookups moto repeats on every request of every service, cached (idempotent):
    the list of its service packages (``os.listdir`` + one ``stat`` per entry, ~150) and
    the method names of the response class (``inspect.getmembers``). Neither changes
    while the server runs."""
    from moto import backends
    from moto.core import responses

    if getattr(backends.list_of_moto_modules, "_summon_patched", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    names: dict[type, list[str]] = {}
    original_names = responses.method_names_from_class  # type: ignore[attr-defined]

    def list_of_moto_modules() -> Iterable[str]:
        return modules

    def method_names_from_class(clazz: Any) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = original_names(clazz)
        return found

    list_of_moto_modules._summon_patched = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules
    responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]
    _cache_update_expressions()


def _cache_update_expressions() -> None:
    """moto parses an UpdateItem's UpdateExpression twice per call (to check the names and
    values used, then to apply it): ~20 % of the call. The tree is only read (validation
    works on a deep copy of it), so one parse per distinct expression string is kept; the
    app sends a handful of distinct expressions, the values travel separately."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    original = UpdateExpressionParser.make
    parsed: dict[str, Any] = {}

    def make(expression: str) -> Any:
        found = parsed.get(expression)
        if found is None:
            found = original(expression)  # a parse error raises, and is not kept
            if len(parsed) >= 1024:
                parsed.clear()
            parsed[expression] = found
        return found

    UpdateExpressionParser.make = staticmethod(make)


def steady_gc() -> None:
    """Keep the cyclic garbage collector's full collections short in a long-running server.

    A full (generation 2) collection scans every tracked object and holds the GIL meanwhile:
    with moto's state and the service models it loads, one took ~70 ms, during which no
    DynamoDB call moved (the chat_latency p99 was such a pause). Here what exists at start
    and what survives each full collection is frozen (``gc.freeze``): the next full
    collection scans only what was allocated since. Frozen objects are still freed by
    reference counting; only a reference cycle among them that later becomes garbage is
    never reclaimed, which a development server can afford."""
    gc.freeze()
    if _freeze_after_full not in gc.callbacks:
        gc.callbacks.append(_freeze_after_full)


def _freeze_after_full(phase: str, info: dict[str, int]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def make_app() -> AtomicDynamoDB:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    patch_transactions()
    patch_queries()
    patch_request_overhead()
    return AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))


def make_server(host: str, port: int) -> Any:
    """The emulator's threaded WSGI server, answering without Nagle's delay: werkzeug writes
    a response's head and body in separate sends, and with Nagle on, the body waits for the
    client's ACK of the head, which Linux may delay up to 40 ms."""
    import socket

    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as werkzeug_server

    class NoDelayHandler(WSGIRequestHandler):
        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return werkzeug_server(host, port, make_app(), threaded=True, request_handler=NoDelayHandler)


class Emulator:
    """The emulator in a background thread (for tests and benchmarks); port 0 picks one."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_server(host, port)
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
    server = make_server(args.host, args.port)
    steady_gc()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
