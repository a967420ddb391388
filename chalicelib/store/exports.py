"""Data exports: the export records, and everything an export reads about a user.

| pattern                                   | key condition                             | index |
|-------------------------------------------|-------------------------------------------|-------|
| a user's export                           | pk=USER#<uid>, sk=EXPORT#<id>             | table |
| the export being built (one at a time)    | pk=USER#<uid>, sk=EXPORTING               | table |
| every item of a user's partition          | pk=USER#<uid>                             | table |
| a customer's requests                     | gsi1pk=REQS#<uid>                         | gsi1  |
| a job's or a conversation's items         | pk=JOB#<id> / pk=CONV#<id>                | table |
| the quotes a provider made                | BatchGetItem USER#<customer>/QUOTE#<id>   | table |
| a user's uploads / the grants they hold   | gsi1pk=MEDIAOF#<uid> / VIEWS#<uid>        | gsi1  |
| the reports a user made                   | BatchGetItem REPORT#<id>/META (the links) | table |
| is the account suspended                  | pk=ACCOUNTS, sk=SUSPENDED                 | table |

Starting an export writes the export and the user's ``EXPORTING`` item in one transaction,
on condition that no other export of theirs is being built (or that it is older than the
stale limit: a build that died). The gathering reads items as plain dicts (every kind,
also kinds this module does not know), never with a Scan: the user's partition, then the
partitions and index entries it points to.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import TransactWriteError

from chalicelib import ids, runtime
from chalicelib.adapters import aws_client
from chalicelib.domain.exports import Gathered, Item
from chalicelib.store import (  # noqa: F401 - every model of the table, for _json_fields
    accounts,
    blocks,
    devices,
    keys,
    locations,
    media,
    moderation,
    realtime,
)
from chalicelib.store.marketplace import items as _marketplace_items  # noqa: F401
from chalicelib.store.models import (
    CONDITION_FAILED,
    Entity,
    condition_failed,
    get_or_none,
    raw_query,
    update_if,
)
from chalicelib.store.models import transaction as _transaction

PENDING, READY = "pending", "ready"


class ExportItem(Entity, discriminator="export"):
    """pk=USER#<uid>, sk=EXPORT#<id>: one export and, once ready, its archive's key."""

    export_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    status = UnicodeAttribute()
    started_ms = NumberAttribute()
    key = UnicodeAttribute(null=True)
    size = NumberAttribute(null=True)
    ready_at = UnicodeAttribute(null=True)


class ExportingItem(Entity, discriminator="exporting"):
    """pk=USER#<uid>, sk=EXPORTING: the export being built (removed when it is ready)."""

    export_id = UnicodeAttribute()
    started_ms = NumberAttribute()


def start(user_id: str, export_id: str, stale_before_ms: int, ttl: int) -> ExportItem:
    """Record a new pending export, or answer the one being built (started after
    ``stale_before_ms``). 1 TransactWriteItems (+ 1 GetItem when one is being built)."""
    now = ids.iso()
    started = int(ids.now().timestamp() * 1000)
    pk = keys.user(user_id)
    item = ExportItem(
        pk,
        keys.export(export_id),
        export_id=export_id,
        user_id=user_id,
        status=PENDING,
        started_ms=started,
        created_at=now,
        updated_at=now,
        ttl=ttl,
    )
    marker = ExportingItem(
        pk, keys.EXPORTING, export_id=export_id, started_ms=started, created_at=now, ttl=ttl
    )
    try:
        with _transaction() as tx:
            tx.save(
                marker,
                condition=ExportingItem.pk.does_not_exist()
                | (ExportingItem.started_ms < stale_before_ms),
            )
            tx.save(item, condition=ExportItem.pk.does_not_exist())
    except TransactWriteError as exc:
        if getattr(exc, "cause_response_code", None) not in (
            "TransactionCanceledException",
            CONDITION_FAILED,
        ):
            raise
        found = get_or_none(ExportingItem, pk, keys.EXPORTING, consistent=True)
        if found is None:  # finished in between: try once more
            return start(user_id, export_id, stale_before_ms, ttl)
        return ExportItem(
            pk,
            keys.export(str(found.export_id)),
            export_id=found.export_id,
            user_id=user_id,
            status=PENDING,
            started_ms=found.started_ms,
            created_at=found.created_at,
        )
    return item


def forget(user_id: str, export_id: str) -> None:
    """Undo :func:`start` (the build could not be queued). 1 TransactWriteItems."""
    pk = keys.user(user_id)
    with _transaction() as tx:
        tx.delete(ExportItem(pk, keys.export(export_id)))
        tx.delete(ExportingItem(pk, keys.EXPORTING), condition=ExportingItem.export_id == export_id)


def get(user_id: str, export_id: str) -> ExportItem | None:
    """1 GetItem (consistent: right after the POST)."""
    return get_or_none(ExportItem, keys.user(user_id), keys.export(export_id), consistent=True)


def finish(item: ExportItem, key: str, size: int, ttl: int) -> bool:
    """Mark the export ready with its archive; False when it was not pending any more.
    1 conditional UpdateItem + 1 conditional DeleteItem (the ``EXPORTING`` item)."""
    actions = [
        ExportItem.status.set(READY),
        ExportItem.key.set(key),
        ExportItem.size.set(size),
        ExportItem.ready_at.set(ids.iso()),
        ExportItem.updated_at.set(ids.iso()),
        ExportItem.ttl.set(ttl),
    ]
    if not update_if(item, actions, ExportItem.status == PENDING):
        return False
    try:
        ExportingItem(item.pk, keys.EXPORTING).delete(
            condition=ExportingItem.export_id == item.export_id
        )
    except Exception as exc:
        if not condition_failed(exc):  # a newer export is being built: leave it
            raise
    return True


# --- gathering: every item about a user, as plain dicts ------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    return value


def _json_fields() -> frozenset[str]:
    """The names of the JSON attributes (stored as strings) of every model of the table."""
    names: set[str] = set()
    pending: list[type[Entity]] = [Entity]
    while pending:
        model = pending.pop()
        pending += model.__subclasses__()
        names |= {n for n, a in model.get_attributes().items() if isinstance(a, JSONAttribute)}
    return frozenset(names)


def _items(raw: list[dict[str, Any]]) -> list[Item]:
    """DynamoDB JSON to plain values, JSON attributes decoded."""
    out = []
    deserialize = TypeDeserializer().deserialize
    decode = _json_fields()
    for row in raw:
        item = {k: _plain(deserialize(v)) for k, v in row.items()}
        for k, v in item.items():
            if k in decode and isinstance(v, str):
                try:
                    item[k] = json.loads(v)
                except ValueError:
                    pass
        out.append(item)
    return out


def _query(key: str, value: str, index: str | None = None) -> list[Item]:
    """Every item with ``key = value`` (on ``index``). 1 Query per 1 MB page."""
    found = raw_query(
        KeyConditionExpression="#k = :v",
        ExpressionAttributeNames={"#k": key},
        ExpressionAttributeValues={":v": {"S": value}},
        **({"IndexName": index} if index else {}),
    )
    return _items(list(found))


def _batch_get(wanted: list[tuple[str, str]]) -> list[Item]:
    """The items at these keys (missing ones absent). 1 BatchGetItem per 100 keys."""
    client = aws_client("dynamodb")
    table = runtime.settings().table
    out: list[Item] = []
    unique = list(dict.fromkeys(wanted))
    for start in range(0, len(unique), 100):
        request: dict[str, Any] = {
            table: {
                "Keys": [
                    {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + 100]
                ]
            }
        }
        while request:
            answer = client.batch_get_item(RequestItems=request)
            out += _items(answer.get("Responses", {}).get(table, []))
            request = answer.get("UnprocessedKeys") or {}
    return out


def gather(user_id: str) -> Gathered:
    """Every item about the user (:class:`Gathered`). Queries: the user's partition, their
    requests, each job and conversation, their uploads and grants (a page each);
    BatchGetItems: the quotes they made, the reports their partition links to (those
    they made are kept), the suspended list."""
    own = _query("pk", keys.user(user_id))
    quote_keys = [
        (keys.user(str(o["customer_id"])), keys.quote(str(o["quote_id"])))
        for o in own
        if o.get("kind") == "offer" and o.get("quote_id") and o.get("customer_id")
    ]
    jobs = [
        item
        for member in own
        if member.get("kind") == "job_member"
        for item in _query("pk", keys.job(str(member["job_id"])))
    ]
    conversations = [
        item
        for member in own
        if member.get("kind") == "conversation_member"
        for item in _query("pk", keys.conversation(str(member["conversation_id"])))
    ]
    report_keys = [
        (keys.report(str(ref["report_id"])), keys.META)
        for ref in own
        if ref.get("kind") == "report_ref"
    ]
    suspended = _batch_get([keys.SUSPENDED])
    return Gathered(
        user_id=user_id,
        own=own,
        requests=_query("gsi1pk", keys.customer_requests(user_id), "gsi1"),
        jobs=jobs,
        conversations=conversations,
        quotes_made=_batch_get(quote_keys),
        media=_query("gsi1pk", keys.owner_media(user_id), "gsi1"),
        grants=_query("gsi1pk", keys.viewer_grants(user_id), "gsi1"),
        reports=[r for r in _batch_get(report_keys) if r.get("reporter_id") == user_id],
        suspended=any(user_id in (s.get("users") or ()) for s in suspended),
    )
