"""DynamoDB request units of one API call on an on-demand table, from the item sizes on the
wire (the meter, ``devstack/meter.py``, bills each call with :func:`request_units`).

Reads round each item (or a Query's total) up to 4 KB: 0.5 unit eventually consistent, 1
consistent, 2 transactional. Writes round each item up to 1 KB: 1 unit, 2 transactional.
An ``UpdateItem``/``DeleteItem`` that returns no attributes is sized by the key and the
values sent: a lower bound (exact whenever the item stays under 1 KB). Index entries are
billed like items when the call shows the item's image (a Put's item, an
``ALL_NEW``/``ALL_OLD`` answer) and it carries the index's keys.

Pure functions of wire-format (``{"S": "..."}``) dicts: no I/O, no errors on odd input
(an unknown shape counts 0 bytes).
"""

from __future__ import annotations

import math
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
