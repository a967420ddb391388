"""Table definitions and analytics entities, derived from the app's PynamoDB models.

The key schema, indexes and TTL attribute of each table come from
``chalicelib.store.models.table_spec`` (the same data devstack provisions locally from), so
local and cloud tables cannot drift. The analytics tables are derived from the polymorphic
``Entity`` model: one Glue table per discriminator value (``kind``), with a column per
attribute.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

from chalicelib.store import models


@dataclass(frozen=True)
class KeyAttr:
    name: str
    type: str  # "S" | "N" | "B"


@dataclass(frozen=True)
class IndexDef:
    name: str
    partition_key: KeyAttr
    sort_key: KeyAttr | None
    projection: str  # "ALL" | "KEYS_ONLY" | "INCLUDE"
    non_key_attributes: tuple[str, ...] = ()  # INCLUDE only


@dataclass(frozen=True)
class TableDef:
    partition_key: KeyAttr
    sort_key: KeyAttr | None
    indexes: tuple[IndexDef, ...]
    ttl_attribute: str | None
    local_indexes: tuple[IndexDef, ...] = ()


def _keys(spec_keys: list[dict[str, str]], types: dict[str, str]) -> tuple[KeyAttr, KeyAttr | None]:
    by_type = {k["KeyType"]: k["AttributeName"] for k in spec_keys}
    pk = KeyAttr(by_type["HASH"], types[by_type["HASH"]])
    sk = KeyAttr(by_type["RANGE"], types[by_type["RANGE"]]) if "RANGE" in by_type else None
    return pk, sk


def _index(spec: dict[str, Any], types: dict[str, str]) -> IndexDef:
    ipk, isk = _keys(spec["key_schema"], types)
    projection = spec["projection"]
    return IndexDef(
        spec["index_name"],
        ipk,
        isk,
        projection["ProjectionType"],
        tuple(projection.get("NonKeyAttributes", ())),
    )


def table_def(model: type[Model]) -> TableDef:
    spec: dict[str, Any] = models.table_spec(model)
    types = {a["AttributeName"]: a["AttributeType"] for a in spec["attribute_definitions"]}
    pk, sk = _keys(spec["key_schema"], types)
    indexes = tuple(_index(ix, types) for ix in spec["global_secondary_indexes"])
    local = tuple(_index(ix, types) for ix in spec["local_secondary_indexes"])
    return TableDef(pk, sk, indexes, spec.get("ttl_attribute"), local)


def main_table() -> TableDef:
    return table_def(models.Entity)


def idempotency_table() -> TableDef:
    return table_def(models.IdempotencyItem)


# ---------------------------------------------------------------------------------------
# Analytics: one table per entity kind
# ---------------------------------------------------------------------------------------

DISCRIMINATOR = models.Entity.kind.attr_name
"""The item attribute that names an item's entity (the export partitions by it)."""

_GLUE_TYPES = {"N": "double", "BOOL": "boolean"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str


def _load_store_modules() -> None:
    """Capabilities define their models in ``chalicelib/store/*.py``: import them all so
    every ``Entity`` subclass has registered its discriminator."""
    from chalicelib import store

    for info in pkgutil.iter_modules(store.__path__):
        importlib.import_module(f"{store.__name__}.{info.name}")


def entity_columns() -> dict[str, tuple[Column, ...]]:
    """``kind`` -> the columns of its analytics table (attribute names as stored, sorted;
    numbers are doubles, booleans booleans, everything else strings: JSON, maps and lists
    are exported as JSON text)."""
    _load_store_modules()
    out: dict[str, tuple[Column, ...]] = {}
    discriminators: dict[str, type[Model]] = dict(models.Entity.kind._discriminator_map)
    for kind, cls in sorted(discriminators.items()):
        cols = []
        for attr in cls.get_attributes().values():
            glue = _GLUE_TYPES.get(attr.attr_type, "string")
            cols.append(Column(attr.attr_name.lower(), glue))
        out[str(kind)] = tuple(sorted(cols, key=lambda c: c.name))
    return out
