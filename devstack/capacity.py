"""DynamoDB request units of one API call on an on-demand table, from the item sizes on the
wire (the meter, ``devstack/meter.py``, bills each call with :func:`request_units`).

Reads round each item (or a Query's total) up to 4 KB: 0.5 unit eventually consistent, 1
consistent, 2 transactional. Writes round each item up to 1 KB: 1 unit, 2 transactional.
An ``UpdateItem``/``DeleteItem`` that returns no attributes is sized by the key and the
values sent: a lower bound (exact whenever the item stays under 1 KB). Index entries are
billed like items when the call shows the item's image (a Put's item, an
``ALL_NEW``/``ALL_OLD`` answer) and it carries the index's keys; an ``UpdateItem`` bills
only the indexes whose keys or projected attributes its expression writes
(:func:`updated_indexes`).

Pure functions of wire-format (``{"S": "..."}``) dicts: no I/O, no errors on odd input
(an unknown shape counts 0 bytes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


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


_CLAUSE = re.compile(r"\b(SET|REMOVE|ADD|DELETE)\b", re.IGNORECASE)


def updated_names(expression: str, names: Mapping[str, str]) -> set[str]:
    """The top-level attributes an ``UpdateExpression`` writes: the left side of each
    ``SET`` action, each ``REMOVE`` path, each ``ADD``/``DELETE`` attribute."""
    out: set[str] = set()
    parts = _CLAUSE.split(expression or "")
    for clause, body in zip(parts[1::2], parts[2::2], strict=True):
        depth, action, actions = 0, "", []
        for ch in body:
            depth += (ch == "(") - (ch == ")")
            if ch == "," and depth == 0:
                actions.append(action)
                action = ""
            else:
                action += ch
        actions.append(action)
        for text in actions:
            a = text.strip()
            if not a:
                continue
            path = a.split("=", 1)[0] if clause.upper() == "SET" else a.split()[0]
            top = re.split(r"[.\[]", path.strip(), maxsplit=1)[0]
            out.add(names.get(top, top))
    return out


def updated_indexes(indexes: list[Index], request: Mapping[str, Any]) -> list[Index]:
    """The indexes an ``UpdateItem`` can write: those whose keys or projected attributes
    its expression writes (DynamoDB writes no index entry for an update that changes
    neither). Without an ``UpdateExpression``: all of them."""
    expression = request.get("UpdateExpression")
    if not expression:
        return indexes
    written = updated_names(str(expression), request.get("ExpressionAttributeNames") or {})
    out = []
    for index in indexes:
        hash_key, range_key, projection, included = index
        keys = {hash_key, *([range_key] if range_key else [])}
        if projection == "ALL" or written & (keys | set(included)):
            out.append(index)
    return out


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
        touched = indexes(table)
        if op == "UpdateItem":
            touched = updated_indexes(touched, request)
        return 0.0, writes + index_units(image, touched)
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


# --- which partition each unit lands in (bench/capacity.py) ----------------------------

NamedIndex = tuple[str, str, str | None, str, tuple[str, ...]]
"""A secondary index with its name: (name, hash key, range key, projection, included)."""

Shape = tuple[str, list[NamedIndex]]
"""A table's hash key and its secondary indexes."""

Touch = tuple[str, str, float, float]
"""Request units one call puts on one partition: (``"table"`` or the index name; for another
table than the main one its name; the partition key's value; read units; write units)."""

_SET_NAME = re.compile(r"(#\w+)\s*=\s*(:\w+)")


def _string(value: Any) -> str:
    if isinstance(value, Mapping):
        for kind in ("S", "N", "B"):
            if kind in value:
                return str(value[kind])
    return ""


def _label(table: str, index: str | None, main: str) -> str:
    if table and main and table != main:
        return table
    return index or "table"


def _index_touches(
    item: Mapping[str, Any] | None, shape: Shape, table: str, main: str, factor: float = 1.0
) -> list[Touch]:
    out: list[Touch] = []
    if not item:
        return out
    for name, hash_key, range_key, projection, included in shape[1]:
        units = index_units(item, [(hash_key, range_key, projection, included)])
        if units:
            out.append((_label(table, name, main), _string(item.get(hash_key)), 0.0, units))
    return out


def _equals(expression: str, names: Mapping[str, str], values: Mapping[str, Any], key: str) -> str:
    """The value an expression compares (or sets) attribute ``key`` equal to, if any."""
    for name, value in _SET_NAME.findall(expression or ""):
        if names.get(name, name) == key:
            return _string(values.get(value))
    return ""


def touches(
    op: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    shapes: Callable[[str], Shape] = lambda table: ("pk", []),
    main: str = "",
) -> list[Touch]:
    """The request units of one call (:func:`request_units`) split by the partition they
    land in: the table's partition (its hash key's value) and, for a write, each index
    entry's partition. Index entries of an ``UpdateItem`` without an item image, or of a
    transaction's ``Update``, are seen only when the update sets the index's hash key (a
    lower bound, like :func:`request_units`); removing an entry is not seen."""
    table = str(request.get("TableName") or "")
    shape = shapes(table)
    consistent = bool(request.get("ConsistentRead"))
    names = request.get("ExpressionAttributeNames") or {}
    values = request.get("ExpressionAttributeValues") or {}
    if op == "GetItem":
        key = _string((request.get("Key") or {}).get(shape[0]))
        reads = _read_units(item_size(response.get("Item")), consistent)
        return [(_label(table, None, main), key, reads, 0.0)]
    if op in ("Query", "Scan"):
        index = request.get("IndexName")
        hash_key = shape[0]
        for name, h, *_ in shape[1]:
            if name == index:
                hash_key = h
        reads, _ = request_units(op, request, response)
        key = _equals(str(request.get("KeyConditionExpression") or ""), names, values, hash_key)
        return [(_label(table, index, main), key or "*", reads, 0.0)]
    if op == "BatchGetItem":
        out: list[Touch] = []
        for name, spec in (request.get("RequestItems") or {}).items():
            hash_key = shapes(name)[0]
            got = (response.get("Responses") or {}).get(name) or []
            c = bool(spec.get("ConsistentRead"))
            found = {_string(i.get(hash_key)) for i in got}
            for i in got:
                reads = _read_units(item_size(i), c)
                out.append((_label(name, None, main), _string(i.get(hash_key)), reads, 0.0))
            for k in spec.get("Keys") or []:
                if _string(k.get(hash_key)) not in found:
                    out.append((_label(name, None, main), _string(k.get(hash_key)), 0.5, 0.0))
        return out
    if op == "PutItem":
        item = request.get("Item") or {}
        size = max(item_size(item), item_size(response.get("Attributes")))
        key = _string(item.get(shape[0]))
        base: Touch = (_label(table, None, main), key, 0.0, _write_units(size))
        return [base, *_index_touches(item, shape, table, main)]
    if op in ("UpdateItem", "DeleteItem"):
        key_item = request.get("Key") or {}
        image = response.get("Attributes")
        sent = item_size(key_item) + item_size(values)
        base = (_label(table, None, main), _string(key_item.get(shape[0])), 0.0, 0.0)
        base = (*base[:3], _write_units(max(sent, item_size(image))))
        if image:
            if op == "UpdateItem":
                shape = (shape[0], [i for i in shape[1] if updated_indexes([i[1:]], request)])
            return [base, *_index_touches(image, shape, table, main)]
        return [base, *_set_index_touches(request, shape, table, main)]
    if op == "BatchWriteItem":
        out = []
        for name, requests in (request.get("RequestItems") or {}).items():
            s = shapes(name)
            for r in requests:
                if "PutRequest" in r:
                    item = r["PutRequest"].get("Item") or {}
                    out.append(
                        (
                            _label(name, None, main),
                            _string(item.get(s[0])),
                            0.0,
                            _write_units(item_size(item)),
                        )
                    )
                    out += _index_touches(item, s, name, main)
                elif "DeleteRequest" in r:
                    k = r["DeleteRequest"].get("Key") or {}
                    out.append(
                        (
                            _label(name, None, main),
                            _string(k.get(s[0])),
                            0.0,
                            _write_units(item_size(k)),
                        )
                    )
        return out
    if op == "TransactWriteItems":
        out = []
        for entry in request.get("TransactItems") or []:
            for action, spec in entry.items():
                name = str(spec.get("TableName") or "")
                s = shapes(name)
                if action == "Put":
                    item = spec.get("Item") or {}
                    size = item_size(item)
                    key = _string(item.get(s[0]))
                    out += _index_touches(item, s, name, main)
                else:
                    k = spec.get("Key") or {}
                    key = _string(k.get(s[0]))
                    size = item_size(k) + item_size(spec.get("ExpressionAttributeValues"))
                    if action == "Update":
                        out += _set_index_touches(spec, s, name, main)
                out.append((_label(name, None, main), key, 0.0, 2 * _write_units(size)))
        return out
    if op == "TransactGetItems":
        out = []
        got = response.get("Responses") or []
        for n, entry in enumerate(request.get("TransactItems") or []):
            spec = entry.get("Get") or {}
            name = str(spec.get("TableName") or "")
            k = spec.get("Key") or {}
            item = (got[n] or {}).get("Item") if n < len(got) else None
            units = 2 * _read_units(item_size(item), True)
            out.append((_label(name, None, main), _string(k.get(shapes(name)[0])), units, 0.0))
        return out
    return []


def _set_index_touches(spec: Mapping[str, Any], shape: Shape, table: str, main: str) -> list[Touch]:
    """Index entries an update without an item image writes (1 write unit each: a lower
    bound): those whose hash key its ``SET`` gives a value, and those of an ``INCLUDE``
    index whose projected attributes it writes if the item is in the index, on a partition
    the call does not show: key ``"?<pk> <sk>"``, the item's (the caller decides whether
    such an item is in the index)."""
    names = spec.get("ExpressionAttributeNames") or {}
    values = spec.get("ExpressionAttributeValues") or {}
    expression = str(spec.get("UpdateExpression") or "")
    written = updated_names(expression, names)
    out: list[Touch] = []
    for name, hash_key, _range_key, projection, included in shape[1]:
        key = _equals(expression, names, values, hash_key)
        if key:
            out.append((_label(table, name, main), key, 0.0, 1.0))
        elif projection == "INCLUDE" and written & set(included):
            item = spec.get("Key") or {}
            where = f"?{_string(item.get(shape[0]))} {_string(item.get('sk'))}"
            out.append((_label(table, name, main), where, 0.0, 1.0))
    return out
