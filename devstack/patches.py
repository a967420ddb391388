"""Every patch of a library's internals the local stack makes, and the private names it
relies on, in one module. Written for botocore 1.35, moto 5.2 and chalice 1.34;
``tests/devstack/test_patches.py`` checks each name, signature and behaviour listed here
against the installed libraries and fails on an upgrade that changes one: port this
module then (rationale: ``docs/adr/0011-local-stack-emulation.md``).

Patched (each function is idempotent, per process):

* :func:`on_every_client_call`, botocore ``handlers.BUILTIN_HANDLERS``: the list every new
  ``botocore.session.Session`` registers on its emitter. The handlers are botocore's public
  ``before-call``/``after-call``/``after-call-error`` events; the list is the only way to
  reach every session (PynamoDB makes one per thread, boto3 one per ``boto3.Session``).
  moto's ``mock_aws`` registers through the same list.
* :func:`copy_context_into_pools`, ``ThreadPoolExecutor.submit`` (public, wrapped): a pool
  thread does not run in its submitter's ``contextvars`` context otherwise.
* :func:`per_thread_requests`, chalice ``Chalice.current_request`` and
  ``Chalice.lambda_context``: plain attributes of the app object that ``Chalice.__call__``
  sets for each request and the views read back (``Blueprint.current_request`` and
  ``.lambda_context`` read the app's). Lambda runs one request at a time per container;
  chalice's local server runs each in a thread of its own, so without the patch a view
  could read another request's (its caller, body and headers): here each thread has its
  own (a subclass of the app's class, made for that one app object).
* :func:`patch_transactions`, moto ``DynamoDBBackend.transact_write_items`` (replaced), and
  what the replacement uses: ``DynamoDBBackend.tables/get_table/get_item/get_keys_value/
  put_item/delete_item/update_item``, ``Table.items/stream_shard/hash_key_attr/
  range_key_attr``, ``StreamShard.items``, ``Item.to_json``,
  ``moto.dynamodb.comparisons.get_filter_expression`` and ``moto.dynamodb.exceptions``.
* :func:`patch_queries`, moto ``Table.query`` (positional signature up to ``index_name``)
  and ``Table.all_items`` (wrapped).
* :func:`patch_request_overhead`, moto ``backends.list_of_moto_modules``,
  ``core.responses.method_names_from_class`` and
  ``dynamodb.parsing.expressions.UpdateExpressionParser.make`` (cached).
* :func:`patch_random_per_call`, moto ``moto_api._internal.mock_random`` (its
  ``getrandbits`` and ``random`` overridden on the instance; ``random.Random``'s other
  methods draw through them), and :func:`patch_s3_events`, moto
  ``s3.notifications.send_event`` (wrapped; ``s3.models`` calls it through the module):
  the journal's deterministic replay (``devstack/persist.py``).

Relied on without patching:

* moto ``moto_server.werkzeug_app.DomainDispatcherApplication(create_backend_app)`` and its
  ``get_application(environ)`` (``devstack/emulator.py``).
* chalice ``local`` (subclassed in ``devstack/http_api.py``): ``LocalGateway.
  _generate_lambda_event`` and ``._authorizer``, ``LocalGatewayAuthorizer._route_for_event``
  and ``._update_lambda_event``, ``ChaliceRequestHandler._generic_handle`` and
  ``._send_http_response``.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()
_hooked: set[str] = set()
CALL_EVENTS = ("before-call", "after-call", "after-call-error")
"""Each client call emits ``before-call.<service>.<Op>`` and then exactly one of the other
two: ``after-call`` with the parsed response (also of an AWS error), ``after-call-error``
when no response came."""


def on_every_client_call(handler: Callable[..., None], unique_id: str) -> None:
    """Call ``handler(event_name=..., **event_kwargs)`` first on each of :data:`CALL_EVENTS`
    of every botocore client created from now on (and of every client of boto3's default
    session, if it exists already); once per ``unique_id``. Clients created earlier by
    other sessions are not reached. The handler must return None and not raise."""
    from botocore import handlers

    with _lock:
        if unique_id in _hooked:
            return
        _hooked.add(unique_id)
        import boto3

        default = boto3.DEFAULT_SESSION  # registers builtins at creation: before the append
        for event in CALL_EVENTS:
            handlers.BUILTIN_HANDLERS.append((event, handler, handlers.REGISTER_FIRST))
            if default is not None:
                default.events.register_first(event, handler, unique_id=f"{unique_id}:{event}")


def copy_context_into_pools(active: Callable[[], bool]) -> None:
    """While ``active()``, ``ThreadPoolExecutor.submit`` runs the task in a copy of the
    submitter's ``contextvars`` context (otherwise as before): fan-out work stays
    attributed to the invocation that submitted it. Once per process."""
    with _lock:
        if "pools" in _hooked:
            return
        _hooked.add("pools")
        original_submit = ThreadPoolExecutor.submit

        def submit(
            self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kw: Any
        ) -> Future[Any]:
            if active():
                return original_submit(self, contextvars.copy_context().run, fn, *args, **kw)
            return original_submit(self, fn, *args, **kw)

        submit.__wrapped__ = original_submit  # type: ignore[attr-defined]
        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign,assignment]


class _PerThread:
    """An attribute with one value per thread (``None`` until the thread sets it)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(self._local, self._name, None)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(self._local, self._name, value)


PER_REQUEST = ("current_request", "lambda_context")
"""The attributes ``Chalice.__call__`` sets on the app object for each request."""


def per_thread_requests(app: Any) -> None:
    """Give ``app`` (a ``Chalice`` object) one :data:`PER_REQUEST` value per thread, so
    concurrent requests of the local server each read their own. Idempotent per app."""
    with _lock:
        if getattr(type(app), "per_thread_requests", False):
            return
        attrs: dict[str, Any] = {name: _PerThread() for name in PER_REQUEST}
        cls = type(type(app).__name__, (type(app),), {**attrs, "per_thread_requests": True})
        for name in PER_REQUEST:
            vars(app).pop(name, None)
        app.__class__ = cls


# --- moto: DynamoDB transactions with an undo log ---------------------------------------------


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
    touches instead of a deep copy of every table it names: O(items), not O(table).

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
    """Replace moto's TransactWriteItems with :func:`transact_write_items` (idempotent);
    moto's stays reachable as ``transact_write_items._moto_original``."""
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
    """Make a Query cost O(its partition), not a sort of the whole table (idempotent).

    Inside ``Table.query`` on this thread, ``Table.all_items`` answers the asked partition's
    items only (a table Query), or every item unsorted (an index Query, which moto then
    filters and sorts by the index key + the table key, a total order): moto's results, in
    moto's order. Other callers (Scan, exports) get moto's sorted list.
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
    """Cache what moto computes on every request and that does not change while the server
    runs (idempotent): the list of its service packages (a directory listing), a response
    class's method names, and the parse tree of each distinct UpdateExpression."""
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
    list_of_moto_modules._moto_original = backends.list_of_moto_modules  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules
    responses.method_names_from_class = method_names_from_class  # type: ignore[attr-defined]
    _cache_update_expressions()


def _cache_update_expressions() -> None:
    """One parse per distinct UpdateExpression string (moto parses one twice per UpdateItem
    and only reads the tree; validation works on a copy), at most 1024 kept."""
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


# --- moto: replayable random ids and quiet S3 events (devstack/persist.py) -----------------


class _Draws(threading.local):
    """The random source moto draws from on this thread (None: moto's shared one)."""

    rng: random.Random | None = None


_draws = _Draws()
_replaying = threading.Event()


def patch_random_per_call() -> None:
    """Let :func:`seeded_random` give one thread its own seeded source for moto's random ids
    (idempotent). moto draws every id from one ``MotoRandom`` (a ``random.Random``) whose
    methods all go through ``getrandbits`` or ``random``: both are overridden on that
    instance to use this thread's source when one is set."""
    from moto.moto_api._internal import mock_random

    if getattr(mock_random, "_summon_patched", False):
        return
    shared_bits, shared_random = mock_random.getrandbits, mock_random.random

    def getrandbits(k: int) -> int:
        rng = _draws.rng
        return rng.getrandbits(k) if rng is not None else shared_bits(k)

    def random_() -> float:
        rng = _draws.rng
        return rng.random() if rng is not None else shared_random()

    mock_random.getrandbits = getrandbits  # type: ignore[method-assign]
    mock_random.random = random_  # type: ignore[method-assign]
    mock_random._summon_patched = True  # type: ignore[attr-defined]


@contextlib.contextmanager
def seeded_random(seed: int) -> Iterator[None]:
    """Inside, moto's random ids drawn on this thread come from ``random.Random(seed)``:
    the same calls in the same order draw the same ids."""
    patch_random_per_call()
    _draws.rng = random.Random(seed)
    try:
        yield
    finally:
        _draws.rng = None


def patch_s3_events() -> None:
    """moto ``s3.notifications.send_event`` (wrapped; idempotent): sends nothing inside
    :func:`no_s3_events`."""
    from moto.s3 import notifications

    original = notifications.send_event
    if getattr(original, "_summon_patched", False):
        return

    def send_event(*args: Any, **kwargs: Any) -> None:
        if not _replaying.is_set():
            original(*args, **kwargs)

    send_event._summon_patched = True  # type: ignore[attr-defined]
    send_event._moto_original = original  # type: ignore[attr-defined]
    notifications.send_event = send_event


@contextlib.contextmanager
def no_s3_events() -> Iterator[None]:
    """Inside (in every thread: for a replay before the server serves), S3 sends no
    object events."""
    patch_s3_events()
    _replaying.set()
    try:
        yield
    finally:
        _replaying.clear()
