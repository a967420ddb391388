"""PynamoDB models: one main table (single-table design) plus the idempotency table.

Access patterns (every request path is GetItem / Query / conditional writes; never Scan;
the entity type is never a partition key on its own). Keys are built in ``keys.py`` only.

| pattern                               | key condition                                  | index |
|---------------------------------------|------------------------------------------------|-------|
| profile of a user                     | pk=USER#<id>, sk=PROFILE                       | table |
| settings of a user (versioned)        | pk=USER#<id>, sk=SETTINGS                      | table |
| provider profile of a user            | pk=USER#<id>, sk=PROVIDER                      | table |
| online providers near a point         | gsi3pk=GEO#<band>:<block>, gsi3sk lng range    | gsi3  |
| ... in a dense area, ring by ring     | gsi4pk=GEO#<fine band>:<block>, gsi4sk lng     | gsi4  |
| service categories (one cached item)  | pk=CATALOG, sk=CATEGORIES                      | table |

Capabilities add their rows to this table in their own models module (``store/*.py``),
reusing :class:`Entity` and its generic indexes (gsi1, gsi2, lsi1; gsi3 and gsi4 are the
geo indexes, ADR 0003 and 0014).
The table has a local secondary index, so a partition key's items are capped at 10 GB
(DynamoDB's item-collection limit): every partition here is one user's, conversation's,
request's or job's, far below it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from pynamodb.attributes import (
    DiscriminatorAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import ids, runtime

_S = runtime.settings()  # table names and region are fixed at import (PynamoDB's Meta)


class Table(Model):
    """A model whose table connection is the runtime's: one per table per runtime, shared
    by every model of the table (each costs 50-130 ms to build on a cold container), and
    forgotten by ``runtime.reset()``."""

    @classmethod
    def _get_connection(cls) -> TableConnection:
        table = next(c for c in cls.__mro__ if "Meta" in vars(c))  # the class naming the table
        assert issubclass(table, Table)
        connection: TableConnection = runtime.get().memo(
            f"dynamodb:{table.Meta.table_name}", table._connect
        )
        return connection

    @classmethod
    def _connect(cls) -> TableConnection:
        # PynamoDB keeps one connection per class in the private ``_connection`` and has no
        # public way to drop it: the runtime owns it instead, so it starts from none.
        cls._connection = None
        return super()._get_connection()


class Gsi1(GlobalSecondaryIndex["Entity"]):
    """Generic inverted/lookup index (e.g. a provider's offers, a user's jobs)."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class Gsi2(GlobalSecondaryIndex["Entity"]):
    """Generic ordered index (the timers' due index)."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class Lsi1(LocalSecondaryIndex["Entity"]):
    """Generic second ordering of a partition, strongly consistent (e.g. a conversation's
    messages by sequence number, while their item key is the client's message id)."""

    class Meta:
        index_name = "lsi1"
        projection = AllProjection()

    pk = UnicodeAttribute(hash_key=True)
    lsi1sk = UnicodeAttribute(range_key=True)


GEO_ATTRIBUTES = (
    "kind",
    "online",
    "lat",
    "lng",
    "radius_km",
    "categories",
    "rating_count",
    "rating_sum",
    "offers_received",
    "offers_accepted",
    "kept_apart",
)
"""What the geo index holds of a provider besides its keys: what matching reads (about 260
of a provider item's 465 bytes, so a match reads 1.8x fewer bytes: read units and 1 MB
pages)."""


class Gsi3(GlobalSecondaryIndex["Entity"]):
    """Geo index: online providers by latitude band, sorted by longitude (sparse; only
    :data:`GEO_ATTRIBUTES` projected)."""

    class Meta:
        index_name = "gsi3"
        projection = IncludeProjection(list(GEO_ATTRIBUTES))

    gsi3pk = UnicodeAttribute(hash_key=True)
    gsi3sk = UnicodeAttribute(range_key=True)


class Gsi4(GlobalSecondaryIndex["Entity"]):
    """Fine geo index: online providers by 5 km latitude band, sorted by longitude (sparse;
    only :data:`GEO_ATTRIBUTES` projected): the rings of bounded matching in dense areas."""

    class Meta:
        index_name = "gsi4"
        projection = IncludeProjection(list(GEO_ATTRIBUTES))

    gsi4pk = UnicodeAttribute(hash_key=True)
    gsi4sk = UnicodeAttribute(range_key=True)


class Entity(Table):
    """Base of every item in the main table; ``kind`` tells the entity apart."""

    class Meta:
        table_name = _S.table
        region = _S.region
        billing_mode = "PAY_PER_REQUEST"
        # No stream here: infra/ adds NEW_AND_OLD_IMAGES in the cloud, where the analytics
        # export consumes it; locally nothing would, and moto keeps stream records forever.

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = DiscriminatorAttribute(attr_name="kind")
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    lsi1sk = UnicodeAttribute(null=True)
    ttl = NumberAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)

    gsi1 = Gsi1()
    gsi2 = Gsi2()
    gsi3 = Gsi3()
    gsi4 = Gsi4()
    lsi1 = Lsi1()


class CompactJSONAttribute(JSONAttribute):
    """JSON stored without the spaces ``json.dumps`` puts after ``,`` and ``:`` (same value
    read back): a feed entry carries a whole object, and a write unit is 1 KB."""

    def serialize(self, value: Any) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


TTL_ATTRIBUTE = "ttl"
CONDITION_FAILED = "ConditionalCheckFailedException"


M = TypeVar("M", bound=Model)


def get_or_none(model: type[M], pk: str, sk: str, *, consistent: bool = False) -> M | None:
    """The item at (pk, sk), or None. 1 GetItem (``consistent``: strongly consistent)."""
    try:
        return model.get(pk, sk, consistent_read=consistent)
    except DoesNotExist:
        return None


def read_items(
    request: Sequence[tuple[str, str]], *, consistent: bool = False
) -> dict[tuple[str, str], Entity | None]:
    """Each key mapped to its item, or None when there is none.
    1 BatchGetItem per 100 keys (0 for none)."""
    wanted = list(dict.fromkeys(request))
    items: dict[tuple[str, str], Entity | None] = dict.fromkeys(wanted)
    for item in Entity.batch_get(wanted, consistent_read=consistent) if wanted else ():
        items[(str(item.pk), str(item.sk))] = item
    return items


def transaction() -> TransactWrite:
    """A TransactWriteItems on the main table's shared connection (a new ``Connection``
    would build a botocore client every time)."""
    return TransactWrite(connection=Entity._get_connection().connection)


def raw_pages(**query: Any) -> Iterator[tuple[list[dict[str, Any]], bool]]:
    """The pages of a DynamoDB Query on the main table or an index (``query``: its
    arguments but the table's name): each page's items as DynamoDB stores them, and
    whether more pages follow. 1 Query per page (1 MB, or ``Limit`` items)."""
    client = Entity._get_connection().connection.client
    start: dict[str, Any] | None = None
    while True:
        page = client.query(
            TableName=str(Entity.Meta.table_name),
            **query,
            **({"ExclusiveStartKey": start} if start else {}),
        )
        start = page.get("LastEvaluatedKey")
        yield page.get("Items", []), bool(start)
        if not start:
            return


def raw_query(**query: Any) -> Iterator[dict[str, Any]]:
    """The items of every page of :func:`raw_pages`."""
    for items, _ in raw_pages(**query):
        yield from items


def condition_failed(exc: Exception) -> bool:
    """A PynamoDB write error caused by its condition (someone else got there first)."""
    return getattr(exc, "cause_response_code", None) == CONDITION_FAILED


def save_if(item: Model, condition: Condition | None) -> bool:
    """Put ``item`` if ``condition`` holds; False (nothing written) when it does not.
    1 conditional PutItem."""
    try:
        item.save(condition=condition)
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def leave_gsi1(model: type[Entity], **values: str | None) -> list[Action]:
    """The update of an item leaving its gsi1 list (a queue once decided, the published
    reviews): ``values`` set (None or empty: removed), ``updated_at`` stamped, its gsi1
    entry removed."""
    actions = [
        getattr(model, name).set(value) if value else getattr(model, name).remove()
        for name, value in values.items()
    ]
    return [*actions, model.updated_at.set(ids.iso()), model.gsi1pk.remove(), model.gsi1sk.remove()]


def update_if(item: Model, actions: Sequence[Action], condition: Condition | None) -> bool:
    """Apply ``actions`` to ``item`` if ``condition`` holds (``item`` then holds the values
    written); False (nothing written) when it does not. 1 conditional UpdateItem."""
    try:
        item.update(actions=list(actions), condition=condition)
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


class UserItem(Entity, discriminator="user"):
    email = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    avatar_media_id = UnicodeAttribute(null=True)
    roles = JSONAttribute(null=True)


class SettingsItem(Entity, discriminator="settings"):
    data = JSONAttribute(null=True)
    version = NumberAttribute(default=0)


PROVIDER_KIND = "provider"
"""The ``kind`` of a provider profile (the only items of the geo indexes)."""


class ProviderItem(Entity, discriminator=PROVIDER_KIND):
    name = UnicodeAttribute(null=True)
    categories = JSONAttribute(null=True)
    bio = UnicodeAttribute(null=True)
    lat = NumberAttribute(null=True)
    lng = NumberAttribute(null=True)
    """The position the provider is indexed and matched at (projected into the geo
    indexes); within ``geo.REINDEX_KM`` of the last report while online."""
    live_lat = NumberAttribute(null=True)
    live_lng = NumberAttribute(null=True)
    """The last reported position (not projected: a report inside the cell writes no index
    entry); absent on items written before it existed (then ``lat``/``lng``)."""
    address = UnicodeAttribute(null=True)
    radius_km = NumberAttribute(null=True)
    rate = JSONAttribute(null=True)
    online = NumberAttribute(default=0)
    rating_count = NumberAttribute(default=0)
    rating_sum = NumberAttribute(default=0)
    offers_received = NumberAttribute(default=0)
    offers_accepted = NumberAttribute(default=0)
    """The ranking inputs matching reads (projected into the geo indexes): a copy of the
    exact counts below, rewritten only when it would score ``ranking.QUALITY_STEP`` apart
    from them or the index entry is written anyway (``store/counters.py``)."""
    exact_rating_count = NumberAttribute(null=True)
    exact_rating_sum = NumberAttribute(null=True)
    exact_offers_received = NumberAttribute(null=True)
    exact_offers_accepted = NumberAttribute(null=True)
    """The exact counts (not projected: counting writes no index entry); absent on items
    written before they existed (then the copy above is exact)."""
    kept_apart = UnicodeSetAttribute(null=True)
    """Users this provider must never be matched with (blocks, either way)."""
    version = NumberAttribute(default=0)


class CatalogItem(Entity, discriminator="catalog"):
    categories = JSONAttribute(null=True)


class IdempotencyItem(Table):
    """The table Powertools' idempotency utility writes (its default attribute names)."""

    class Meta:
        table_name = _S.idempotency_table
        region = _S.region
        billing_mode = "PAY_PER_REQUEST"

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)
    validation = UnicodeAttribute(null=True)
    in_progress_expiration = NumberAttribute(null=True)


IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"

TABLES: tuple[tuple[type[Model], str], ...] = (
    (Entity, TTL_ATTRIBUTE),
    (IdempotencyItem, IDEMPOTENCY_TTL_ATTRIBUTE),
)
"""Every table with its TTL attribute: devstack provisions these and infra/ derives its
table definitions from them, so local and cloud share one definition."""


def table_spec(model: type[Model]) -> dict[str, Any]:
    """Key schema, attribute definitions and GSIs of a model's table as plain data, with
    its TTL attribute (infra/ builds the cloud tables from this)."""
    ttl = dict((m.Meta.table_name, t) for m, t in TABLES)
    schema: dict[str, Any] = dict(model._get_schema())
    schema["table_name"] = model.Meta.table_name
    schema["ttl_attribute"] = ttl[model.Meta.table_name]
    return schema
