"""Account deletion's storage: the deletion marker, pseudonymising the items another user
keeps, and erasing what is the user's own.

| pattern                                  | key condition                          | index |
|------------------------------------------|----------------------------------------|-------|
| a deletion under way                     | pk=ERASURE#<uid>, sk=META              | table |
| deletions left behind, oldest first      | gsi1pk=ERASURES#pending                | gsi1  |
| every item of a user's partition         | pk=USER#<uid>                          | table |
| a user's reports (made or about them)    | pk=USER#<uid>, sk begins_with REPORTREF# | table |
| a user's media records                   | gsi1pk=MEDIAOF#<uid>                   | gsi1  |

The marker holds what the steps need (the pool's username, the email, the pseudonym) and
which steps are done; it goes last, so a deletion that stopped anywhere resumes. The
pending index grows with deletions in flight, a handful at a time.

Pseudonymising (:func:`pseudonymise`) reads an item as DynamoDB stores it and rewrites
every string (attribute values, set members, map keys and values, JSON text, keys): the
user's id to the pseudonym, their email, name and phone to a placeholder (the service's
``swap``): one conditional UpdateItem of the attributes that
changed (each must still hold what was read; a versioned item's ``version`` moves on so
a concurrent versioned write retries), or, when a key holds the id (a message's
``CMID#<sender>#...``), one TransactWriteItems putting the item under its new key and
deleting the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute

from chalicelib import ids
from chalicelib.errors import Conflict
from chalicelib.store import keys
from chalicelib.store.models import Entity, get_or_none, raw_query, save_if

PENDING = "ERASURES#pending"
_RACES = ("ConditionalCheckFailedException", "TransactionCanceledException")


class ErasureItem(Entity, discriminator="erasure"):
    """pk=ERASURE#<uid>, sk=META; gsi1 = the deletions under way, oldest first."""

    user_id = UnicodeAttribute()
    username = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    pseudonym = UnicodeAttribute()
    done = UnicodeSetAttribute(null=True)
    """The steps finished (``services/erasure.py``)."""
    counterparts = UnicodeSetAttribute(null=True)
    """Users whose feeds may name the user (found by the steps, read by the feed step)."""
    personal = UnicodeSetAttribute(null=True)
    """The user's email, name and phone, as the first step found them: what the kept
    items must not hold either."""
    attempts = NumberAttribute(default=0)
    error = UnicodeAttribute(null=True)


def marker(user_id: str) -> ErasureItem | None:
    """1 GetItem (consistent)."""
    return get_or_none(ErasureItem, keys.erasure(user_id), keys.META, consistent=True)


def start(user_id: str, username: str, email: str | None, pseudonym: str) -> ErasureItem | None:
    """Write the marker of a new deletion; None when one is under way already.
    1 conditional PutItem."""
    now = ids.iso()
    item = ErasureItem(
        keys.erasure(user_id), keys.META, user_id=user_id, username=username, email=email,
        pseudonym=pseudonym, gsi1pk=PENDING, gsi1sk=f"{now}#{ids.new_id()}", created_at=now,
        updated_at=now,
    )  # fmt: skip
    return item if save_if(item, ErasureItem.pk.does_not_exist()) else None


def pending(limit: int) -> list[ErasureItem]:
    """Deletions under way, oldest first. 1 Query (gsi1)."""
    return list(ErasureItem.gsi1.query(PENDING, limit=limit, page_size=limit))  # type: ignore[arg-type]


def step_done(item: ErasureItem, step: str) -> None:
    """1 UpdateItem."""
    item.update(actions=[ErasureItem.done.add({step}), ErasureItem.updated_at.set(ids.iso())])


def add_counterparts(item: ErasureItem, user_ids: Iterable[str]) -> None:
    """Remember users whose feeds the feed step must look at. 1 UpdateItem (0 for none)."""
    found = {u for u in user_ids if u and u not in (item.user_id, item.pseudonym)}
    if found:
        item.update(actions=[ErasureItem.counterparts.add(found)])


def add_personal(item: ErasureItem, values: Iterable[str | None]) -> None:
    """Remember personal values the kept items must lose. 1 UpdateItem (0 for none)."""
    found = {v for v in values if v}
    if found:
        item.update(actions=[ErasureItem.personal.add(found)])


def failed(item: ErasureItem, error: str) -> None:
    """Count a failed run (the next sweep resumes it). 1 UpdateItem."""
    item.update(
        actions=[
            ErasureItem.attempts.add(1),
            ErasureItem.error.set(error[:500]),
            ErasureItem.updated_at.set(ids.iso()),
        ]
    )


def finish(user_id: str) -> None:
    """The deletion is over: the marker goes. 1 DeleteItem."""
    ErasureItem(keys.erasure(user_id), keys.META).delete()


# --- raw items -----------------------------------------------------------------------------


def _client() -> Any:
    return Entity._get_connection().connection.client


def _table() -> str:
    return str(Entity.Meta.table_name)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _item_keys(pk: str, prefix: str = "") -> Iterator[tuple[str, str]]:
    """The keys of a partition's items (those whose sk begins with ``prefix``).
    1 Query per 1 MB."""
    for item in _raw_items(pk, prefix, projection="pk, sk"):
        yield item["pk"]["S"], item["sk"]["S"]


def _raw_items(pk: str, prefix: str = "", projection: str = "") -> Iterator[dict[str, Any]]:
    """A partition's items (those whose sk begins with ``prefix``) as stored (only the
    ``projection`` attributes, when given). 1 Query per 1 MB."""
    condition = "pk = :pk" + (" AND begins_with(sk, :prefix)" if prefix else "")
    values: dict[str, Any] = {":pk": {"S": pk}}
    if prefix:
        values[":prefix"] = {"S": prefix}
    extra = {"ProjectionExpression": projection} if projection else {}
    yield from raw_query(
        KeyConditionExpression=condition, ExpressionAttributeValues=values, **extra
    )


def _delete(found: Iterable[tuple[str, str]]) -> int:
    """Delete items by key (deleting one twice is harmless). 1 BatchWriteItem per 25."""
    count = 0
    with Entity.batch_write() as batch:
        for pk, sk in dict.fromkeys(found):
            batch.delete(Entity(pk, sk))
            count += 1
    return count


Swap = Callable[[str], str]
"""What pseudonymising does to each string of an item (the user's id to the pseudonym,
their email, name and phone to a placeholder)."""


def _swap(value: dict[str, Any], swap: Swap) -> dict[str, Any]:
    """A stored attribute value with ``swap`` applied to its strings (map keys too)."""
    if "S" in value:
        return {"S": swap(value["S"])}
    if "SS" in value:
        return {"SS": sorted({swap(s) for s in value["SS"]})}
    if "L" in value:
        return {"L": [_swap(v, swap) for v in value["L"]]}
    if "M" in value:
        return {"M": {swap(k): _swap(v, swap) for k, v in value["M"].items()}}
    return value


def _holds(item: dict[str, Any], swap: Swap) -> bool:
    """Whether ``swap`` changes any string of a stored item."""
    return any(_swap(v, swap) != v for v in item.values())


def pseudonymise(pk: str, sk: str, swap: Swap, item: dict[str, Any] | None = None) -> bool:
    """Apply ``swap`` to every string of one item (see the module doc); False when there
    is no item or nothing to change. ``item``: the item as just read (saves the first
    GetItem). 1 GetItem + 1 UpdateItem (or 1 TransactWriteItems for a key that changes); a
    race with another write reads again."""
    for _ in range(5):
        raw = item or _client().get_item(
            TableName=_table(), Key=_key(pk, sk), ConsistentRead=True
        ).get("Item")
        item = None
        if raw is None:
            return False
        swapped = {k: _swap(v, swap) for k, v in raw.items()}
        if swapped == raw:
            return False
        try:
            if swapped["pk"] != raw["pk"] or swapped["sk"] != raw["sk"]:
                _rekey(raw, swapped)
            else:
                _update(raw, swapped)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _RACES:
                raise
    raise Conflict(f"{pk} {sk} kept changing while it was pseudonymised: retry.")


def _update(raw: dict[str, Any], swapped: dict[str, Any]) -> None:
    changed = [k for k in raw if swapped[k] != raw[k]]
    names = {f"#a{n}": k for n, k in enumerate(changed)}
    values: dict[str, Any] = {}
    sets, conditions = [], []
    for n, _name in enumerate(changed):
        sets.append(f"#a{n} = :n{n}")
        conditions.append(f"#a{n} = :o{n}")
        values[f":n{n}"], values[f":o{n}"] = swapped[_name], raw[_name]
    if "N" in raw.get("version", {}):  # a versioned item: its next versioned write retries
        names["#v"] = "version"
        values[":one"] = {"N": "1"}
        sets.append("#v = #v + :one")
    _client().update_item(
        TableName=_table(),
        Key={"pk": raw["pk"], "sk": raw["sk"]},
        UpdateExpression="SET " + ", ".join(sets),
        ConditionExpression=" AND ".join(conditions),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def _rekey(raw: dict[str, Any], swapped: dict[str, Any]) -> None:
    _client().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": _table(),
                    "Item": swapped,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": {"pk": raw["pk"], "sk": raw["sk"]},
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
        ]
    )


# --- the steps' reads and writes (``services/erasure.py``) ----------------------------------


def _ids_after(user_id: str, prefix: str) -> Iterator[str]:
    """The ids in the sks of the user's items that begin with ``prefix``. 1 Query per 1 MB."""
    for _, sk in _item_keys(keys.user(user_id), prefix):
        yield sk.removeprefix(prefix)


def offered_requests(user_id: str) -> Iterator[str]:
    """The ids of the requests the user was offered as a provider. 1 Query per 1 MB."""
    return _ids_after(user_id, keys.OFFER_PREFIX)


def user_jobs(user_id: str) -> Iterator[str]:
    """The ids of the user's jobs (either side). 1 Query per 1 MB."""
    return _ids_after(user_id, keys.JOB_PREFIX)


def user_conversations(user_id: str) -> Iterator[str]:
    """The ids of the user's conversations. 1 Query per 1 MB."""
    return _ids_after(user_id, keys.conversation(""))


def drop_request(request_id: str, providers: Iterable[str], keep: str | None, swap: Swap) -> None:
    """A deleted customer's request goes with the offers it made, but for the offer of the
    provider ``keep`` (whose job came from it): that one stays, pseudonymised. 1 GetItem +
    1 UpdateItem for the kept offer, 1 BatchWriteItem per 25 deleted items."""
    providers = list(providers)
    if keep in providers:
        pseudonymise(keys.user(keep), keys.offer(request_id), swap)
    _delete(
        [(keys.user(p), keys.offer(request_id)) for p in providers if p != keep]
        + [(keys.request(request_id), keys.META)]
    )


def pseudonymise_request(request_id: str, swap: Swap) -> None:
    """1 GetItem + 1 UpdateItem."""
    pseudonymise(keys.request(request_id), keys.META, swap)


def pseudonymise_quote(customer_id: str, quote_id: str, swap: Swap) -> None:
    """A quote, in its customer's partition. 1 GetItem + 1 UpdateItem."""
    pseudonymise(keys.user(customer_id), keys.quote(quote_id), swap)


def pseudonymise_job(job_id: str, swap: Swap) -> None:
    """A job and both sides' reviews of it. 3 GetItem + up to 3 UpdateItem."""
    for part in (keys.META, keys.review("customer"), keys.review("provider")):
        pseudonymise(keys.job(job_id), part, swap)


def revoke_grants(user_id: str, media_ids: Iterable[str], drove_job: str | None = None) -> None:
    """The user's grants to view these media, and (``drove_job``) their last live position
    in a job they drove. 1 BatchWriteItem per 25 (none for nothing)."""
    gone = [(keys.media(m), keys.media_viewer(user_id)) for m in media_ids]
    if drove_job is not None:
        gone.append(keys.job_location(drove_job))
    if gone:
        _delete(gone)


def pseudonymise_conversation(conversation_id: str, others: Iterable[str], swap: Swap) -> None:
    """A conversation's items that hold the user (meta, messages) and the other members'
    entries of it. 1 Query per 1 MB + 1 UpdateItem (or TransactWriteItems) per item that
    changes, + 1 GetItem and 1 UpdateItem per other member."""
    pk = keys.conversation(conversation_id)
    for raw in _raw_items(pk):
        if _holds(raw, swap):
            pseudonymise(pk, raw["sk"]["S"], swap, raw)
    for other in others:
        pseudonymise(keys.user(other), pk, swap)


def pseudonymise_reports(user_id: str, swap: Swap) -> None:
    """The reports the user made or that name them as the author (found through their
    links in the user's partition, ``store/moderation.py``). 1 Query per 1 MB + 1 GetItem
    and 1 UpdateItem per report."""
    for report_id in _ids_after(user_id, keys.REPORT_REF_PREFIX):
        pseudonymise(keys.report(report_id), keys.META, swap)


def pseudonymise_feed(user_id: str, swap: Swap) -> None:
    """The entries of a user's feed that hold what ``swap`` changes. 1 Query per 1 MB + 1
    UpdateItem per entry that changes."""
    for raw in _raw_items(keys.user(user_id), keys.NOTE_PREFIX):
        if _holds(raw, swap):
            pseudonymise(raw["pk"]["S"], raw["sk"]["S"], swap, raw)


def media_ids(user_id: str) -> set[str]:
    """The ids of the user's media records (their owner index). 1 Query per 1 MB (gsi1)."""
    found = raw_query(
        IndexName="gsi1",
        KeyConditionExpression="gsi1pk = :h",
        ExpressionAttributeValues={":h": {"S": keys.owner_media(user_id)}},
    )
    return {item["pk"]["S"].removeprefix(keys.media("")) for item in found}


def delete_media_items(media_id: str) -> None:
    """A media record and its grants. 1 Query + 1 BatchWriteItem per 25."""
    _delete(_item_keys(keys.media(media_id)))


def delete_partition(user_id: str) -> None:
    """Every item left in the user's partition. 1 Query per 1 MB + 1 BatchWriteItem per 25."""
    _delete(_item_keys(keys.user(user_id)))
