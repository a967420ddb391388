"""Real-time storage: live connections, chat messages, read positions (live job locations:
``store/locations.py``).

| pattern                                 | key condition                                  | index |
|-----------------------------------------|------------------------------------------------|-------|
| a connection → its user and endpoint    | pk=CONN#<connection_id>, sk=META               | table |
| a user's live sockets (one item, a set) | pk=USER#<uid>, sk=SOCKETS                      | table |
| live sockets of many users              | BatchGetItem of USER#<uid>/SOCKETS             | table |
| ... + what push would need, at once     | the same BatchGetItem + the keys push names    | table |
| live connections, a page of one shard   | gsi1pk=CONNS#<00..15> (16 shards)              | gsi1  |
| a message (keyed by its sender's id)    | pk=CONV#<id>, sk=CMID#<sender>#<client_msg_id> | table |
| messages of a conversation after SEQ    | pk=CONV#<id>, lsi1sk > MSG#<seq, zero-padded>  | lsi1  |
| conversation + this send's message      | BatchGetItem (consistent) of META + the above  | table |
| a user's conversations (read positions) | pk=USER#<uid>, sk begins_with CONV#            | table |

Connections. API Gateway gives each socket an id; ``$connect`` writes a connection record
(``CONN#<id>``: user, callback endpoint, TTL) and adds ``"<id> <expires> <endpoint>"`` to the
string set ``conns`` of the user's ``SOCKETS`` item with an atomic ``ADD`` that returns the
set (conditional on the set's size: the per-user socket limit, ADR 0020); ``$disconnect``
deletes the record and removes the element with an atomic ``DELETE``.
So "first socket opened / last socket closed" (presence) is read from the very update that
changed the set -- no read-modify-write, no counter that can drift -- and sending to any
number of users is one BatchGetItem. Every connection carries its expiry (API Gateway
closes sockets after 2 h), so a socket whose ``$disconnect`` was lost stops counting when it
expires, and DynamoDB's TTL removes records nobody cleaned up. A send that meets
``GoneException`` removes the socket (:func:`drop_sockets`).

Messages take their sequence number from the atomic counter ``ConversationItem.last_seq``
(one UpdateItem that also sets the preview and the sender's ``last_sent``, so what a
participant has read is ``max(last_read_seq, last_sent[me])`` with no second write). A
message's item key is its sender's ``client_msg_id`` (``CMID#<sender>#<client_msg_id>``) and
its sequence number is the sort key of the local index ``lsi1`` (strongly consistent, so a
catch-up right after a send sees it): the one conditional PutItem that stores the message
is also its dedupe, so a message costs 1 UpdateItem + 1 PutItem (3 write units with its
index entry; a transaction of a claim and a message cost 5). A retried ``client_msg_id`` is
found by the consistent read that starts every send, which returns the stored message
itself; two copies racing each other can both pass that read, and then the loser's put
fails its condition and its number stays unused (a gap that ``?after=SEQ`` skips over).
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import size
from pynamodb.pagination import ResultIterator

from chalicelib import ids
from chalicelib.errors import NotFound
from chalicelib.store import keys
from chalicelib.store.conversations import ConversationItem, MemberItem
from chalicelib.store.models import (
    CONDITION_FAILED,
    Entity,
    condition_failed,
    get_or_none,
    update_if,
)

CONNECTION_TTL_S = 2 * 3600 + 300
"""API Gateway closes a socket after 2 hours; its records expire 5 minutes later."""


def _shard(connection_id: str) -> int:
    return zlib.crc32(connection_id.encode()) % keys.CONNECTION_SHARDS


# --- models ---------------------------------------------------------------------------


class ConnectionItem(Entity, discriminator="connection"):
    """One live socket: who holds it and where to send to it."""

    user_id = UnicodeAttribute()
    endpoint = UnicodeAttribute()
    socket = UnicodeAttribute()
    """The element of the user's ``SocketsItem.conns`` set for this connection."""


class SocketsItem(Entity, discriminator="sockets"):
    """The live sockets of one user: a string set of ``"<id> <expires> <endpoint>"``."""

    conns = UnicodeSetAttribute(null=True)


class MessageItem(Entity, discriminator="message"):
    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    seq = NumberAttribute()
    sender_id = UnicodeAttribute()
    client_msg_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)


# --- connections ----------------------------------------------------------------------


@dataclass(frozen=True)
class Socket:
    """A live connection of a user, as stored in the user's socket set."""

    user_id: str
    connection_id: str
    endpoint: str
    expires: int

    @property
    def element(self) -> str:
        return f"{self.connection_id} {self.expires} {self.endpoint}"

    def alive(self, now_s: float) -> bool:
        return self.expires > now_s

    def connected_for(self, now_s: float) -> float:
        """Seconds since ``$connect`` recorded it."""
        return now_s - (self.expires - CONNECTION_TTL_S)

    @classmethod
    def parse(cls, user_id: str, element: str) -> Socket | None:
        parts = element.split(" ", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(user_id, parts[0], parts[2], int(parts[1]))


def _sockets(user_id: str, elements: Iterable[str] | None) -> list[Socket]:
    out = [Socket.parse(user_id, e) for e in (elements or ())]
    return sorted((s for s in out if s is not None), key=lambda s: s.connection_id)


def add_connection(
    connection_id: str,
    user_id: str,
    endpoint: str,
    now_s: float | None = None,
    *,
    most: int | None = None,
) -> list[Socket] | None:
    """Record a new socket; return every socket of the user afterwards (this one included,
    expired ones too: callers filter with :meth:`Socket.alive`), or ``None`` when the user
    already holds ``most`` sockets (then nothing was written). 1 UpdateItem (a conditional
    ADD to the socket set, returning the set) + 1 PutItem; when the set is full, + 1 GetItem
    and, if some of its sockets expired (a lost ``$disconnect``), + 1 UpdateItem removing
    them and the ADD once more."""
    now = time.time() if now_s is None else now_s
    expires = int(now) + CONNECTION_TTL_S
    sock = Socket(user_id, connection_id, endpoint, expires)
    stamp = ids.iso()
    item = SocketsItem(keys.user(user_id), keys.SOCKETS)
    if not _add_socket(item, sock, stamp, most):
        held = get_or_none(SocketsItem, keys.user(user_id), keys.SOCKETS, consistent=True)
        held_sockets = _sockets(user_id, held.conns if held else None)
        expired = {s.element for s in held_sockets if not s.alive(now)}
        if not expired:
            return None
        _remove_elements(user_id, expired)
        if not _add_socket(item, sock, stamp, most):
            return None
    ConnectionItem(
        keys.connection(connection_id),
        keys.META,
        user_id=user_id,
        endpoint=endpoint,
        socket=sock.element,
        gsi1pk=keys.connection_shard(_shard(connection_id)),
        gsi1sk=connection_id,
        ttl=expires,
        created_at=stamp,
    ).save()
    return _sockets(user_id, item.conns)


def _add_socket(item: SocketsItem, sock: Socket, stamp: str, most: int | None) -> bool:
    """ADD ``sock`` to the set unless it holds ``most`` elements already (False)."""
    condition = None
    if most is not None:
        condition = SocketsItem.conns.does_not_exist() | (size(SocketsItem.conns) < most)
    actions = [
        SocketsItem.conns.add({sock.element}),
        SocketsItem.kind.set(SocketsItem),
        SocketsItem.ttl.set(sock.expires),
        SocketsItem.updated_at.set(stamp),
    ]
    return update_if(item, actions, condition)


def connection(connection_id: str) -> ConnectionItem | None:
    """Who holds a connection. 1 GetItem (consistent: a frame may follow $connect at once)."""
    return get_or_none(ConnectionItem, keys.connection(connection_id), keys.META, consistent=True)


def remove_connection(connection_id: str) -> tuple[str, list[Socket]] | None:
    """Forget a socket; ``(user_id, the user's remaining sockets)``, or ``None`` if it was
    not recorded. 1 DeleteItem (returning the record) + 1 UpdateItem (DELETE from the set,
    returning what is left)."""
    table = ConnectionItem._get_connection()
    old = table.delete_item(keys.connection(connection_id), keys.META, return_values="ALL_OLD")
    if not old.get("Attributes"):
        return None
    record = ConnectionItem.from_raw_data(old["Attributes"])
    return record.user_id, _remove_elements(record.user_id, {record.socket})


def _remove_elements(user_id: str, elements: set[str]) -> list[Socket]:
    item = SocketsItem(keys.user(user_id), keys.SOCKETS)
    if not update_if(item, [SocketsItem.conns.delete(elements)], SocketsItem.pk.exists()):
        return []
    return _sockets(user_id, item.conns)


def sockets_of(user_ids: Iterable[str]) -> dict[str, list[Socket]]:
    """Every recorded socket of each user (users with none are absent).
    1 BatchGetItem per 100 users."""
    return sockets_and_items(user_ids)[0]


def sockets_and_items(
    user_ids: Iterable[str], extra: Sequence[tuple[str, str]] = ()
) -> tuple[dict[str, list[Socket]], dict[tuple[str, str], Entity | None]]:
    """Every recorded socket of each user (users with none are absent) and, in the same
    request, the items at ``extra`` (another capability's keys: push's settings and devices
    of the users it could reach), each mapped to its item or None when there is none.
    1 BatchGetItem per 100 keys (users + extra keys; 0 for none)."""
    wanted = sorted(set(user_ids))
    socket_keys = sockets_keys(wanted)
    items = read_items([*socket_keys, *extra])
    found = sockets_in(items, wanted)
    assert found is not None
    return found, {k: v for k, v in items.items() if k not in set(socket_keys)}


def sockets_keys(user_ids: Iterable[str]) -> list[tuple[str, str]]:
    """The keys :func:`sockets_in` needs for these users' sockets. No I/O."""
    return [(keys.user(u), keys.SOCKETS) for u in sorted(set(user_ids))]


def sockets_in(
    items: Mapping[tuple[str, str], Any], user_ids: Iterable[str]
) -> dict[str, list[Socket]] | None:
    """The users' recorded sockets (users with none are absent) from items read ahead
    (:func:`read_items` of :func:`sockets_keys`); None when a user's key was not read."""
    sockets: dict[str, list[Socket]] = {}
    for key in sockets_keys(user_ids):
        if key not in items:
            return None
        item = items[key]
        if isinstance(item, SocketsItem):
            user_id = key[0].removeprefix("USER#")
            found = _sockets(user_id, item.conns)
            if found:
                sockets[user_id] = found
    return sockets


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


def drop_sockets(sockets: Iterable[Socket]) -> None:
    """Forget sockets found dead (``GoneException``) or expired.
    Per user: 1 UpdateItem; per socket: 1 DeleteItem of its record."""
    by_user: dict[str, set[str]] = {}
    for sock in sockets:
        by_user.setdefault(sock.user_id, set()).add(sock.element)
        ConnectionItem(keys.connection(sock.connection_id), keys.META).delete()
    for user_id, elements in by_user.items():
        _remove_elements(user_id, elements)


def connection_page(
    shard: int, limit: int, cursor: dict[str, Any] | None = None
) -> tuple[list[Socket], dict[str, Any] | None]:
    """One page of one shard of the recorded connections (``CONNS#<shard>`` on gsi1, for
    broadcasts): at most ``limit`` sockets and the key to go on from (None on the last
    page). 1 Query."""
    results = ConnectionItem.gsi1.query(
        keys.connection_shard(shard), limit=limit, page_size=limit, last_evaluated_key=cursor
    )
    found = []
    for item in results:
        if isinstance(item, ConnectionItem):
            sock = Socket.parse(item.user_id, item.socket)
            if sock is not None:
                found.append(sock)
    return found, results.last_evaluated_key


# --- conversations, messages, read positions ----------------------------------------


def conversation_and_dedupe(
    conversation_id: str,
    sender_id: str,
    client_msg_id: str,
    extra: Sequence[tuple[str, str]] = (),
) -> tuple[ConversationItem | None, MessageItem | None, dict[tuple[str, str], Entity | None]]:
    """The conversation, the message if this ``client_msg_id`` of this sender was already
    stored, and the items at ``extra`` read in the same request (each key mapped to its
    item or None: the recipients' sockets and push profiles of the delivery to come).
    1 BatchGetItem (consistent)."""
    pk = keys.conversation(conversation_id)
    own = [(pk, keys.META), (pk, keys.client_message(sender_id, client_msg_id))]
    items = read_items([*own, *extra], consistent=True)
    conv, stored = items.pop(own[0]), items.pop(own[1])
    return (
        conv if isinstance(conv, ConversationItem) else None,
        stored if isinstance(stored, MessageItem) else None,
        items,
    )


def conversation(conversation_id: str, *, consistent: bool = False) -> ConversationItem | None:
    """1 GetItem."""
    return get_or_none(
        ConversationItem, keys.conversation(conversation_id), keys.META, consistent=consistent
    )


def take_seq(conversation_id: str, sender_id: str, preview: dict[str, Any]) -> int:
    """The next sequence number of a conversation (atomic increment), recording it as the
    sender's latest own message (``last_sent``) and as the preview, in the same update.
    1 UpdateItem (2 for a conversation stored before ``last_sent`` existed)."""
    item = ConversationItem(keys.conversation(conversation_id), keys.META)
    actions = [
        ConversationItem.last_seq.set(ConversationItem.last_seq + 1),
        ConversationItem.last_sent[sender_id].set(ConversationItem.last_seq + 1),
        ConversationItem.last_message.set(preview),
        ConversationItem.updated_at.set(ids.iso()),
    ]
    for attempt in range(2):
        try:
            item.update(actions=actions, condition=ConversationItem.pk.exists())
            return int(item.last_seq)
        except UpdateError as exc:
            code = getattr(exc, "cause_response_code", None)
            if code == CONDITION_FAILED:
                raise NotFound(f"No conversation {conversation_id}.") from exc
            if code != "ValidationException" or attempt:
                raise
            item.update(
                actions=[ConversationItem.last_sent.set(ConversationItem.last_sent | {})],
                condition=ConversationItem.pk.exists(),
            )
    raise AssertionError("unreachable")


def store_message(message: MessageItem) -> bool:
    """Store a message under its sender's ``client_msg_id``; ``False`` (nothing written)
    when a copy of the same send stored it first. 1 conditional PutItem (+ its lsi1 entry)."""
    try:
        message.save(condition=MessageItem.pk.does_not_exist())
    except PutError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def messages_after(
    conversation_id: str, after: int, limit: int, start_key: dict[str, Any] | None = None
) -> tuple[list[MessageItem], dict[str, Any] | None]:
    """Messages with ``seq > after`` in order, at most ``limit``, and the key to go on from
    (``None`` on the last page). 1 Query."""
    results = MessageItem.lsi1.query(
        keys.conversation(conversation_id),
        MessageItem.lsi1sk.between(keys.message(after + 1), keys.message(10**12 - 1)),
        consistent_read=True,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start_key,
    )
    items = [item for item in results if isinstance(item, MessageItem)]  # lsi1: messages only
    return items, results.last_evaluated_key if len(items) == limit else None


def mark_read(user_id: str, conversation_id: str, seq: int) -> bool:
    """Move a participant's read position forward to ``seq`` (never back). ``False`` when it
    was already there or past it. 1 UpdateItem (conditional)."""
    item = MemberItem(keys.user(user_id), keys.conversation(conversation_id))
    return update_if(
        item,
        [MemberItem.last_read_seq.set(seq), MemberItem.updated_at.set(ids.iso())],
        MemberItem.pk.exists() & (MemberItem.last_read_seq < seq),
    )


def member(user_id: str, conversation_id: str) -> MemberItem | None:
    """1 GetItem."""
    return get_or_none(MemberItem, keys.user(user_id), keys.conversation(conversation_id))


def members(
    user_id: str, limit: int, start_key: dict[str, Any] | None = None
) -> tuple[list[MemberItem], dict[str, Any] | None]:
    """A user's conversations, newest first. 1 Query."""
    results = _newest_memberships(user_id, limit, last_evaluated_key=start_key)
    items = list(results)
    return items, results.last_evaluated_key if len(items) == limit else None


def conversations(conversation_ids: Sequence[str]) -> dict[str, ConversationItem]:
    """Conversations by id. 1 BatchGetItem per 100."""
    wanted = sorted(set(conversation_ids))
    if not wanted:
        return {}
    found = ConversationItem.batch_get([(keys.conversation(c), keys.META) for c in wanted])
    return {item.pk.removeprefix("CONV#"): item for item in found}


def counterparts(user_id: str, limit: int = 50) -> list[str]:
    """The other participants of a user's most recent conversations (presence goes to
    them). 1 Query."""
    results = _newest_memberships(user_id, limit, attributes_to_get=["counterpart_id", "kind"])
    return sorted({m.counterpart_id for m in results if m.counterpart_id})


def _newest_memberships(user_id: str, limit: int, **options: Any) -> ResultIterator[MemberItem]:
    """The user's ``limit`` latest conversation memberships, newest first (one page)."""
    return MemberItem.query(
        keys.user(user_id),
        MemberItem.sk.startswith(keys.conversation("")),
        scan_index_forward=False,
        limit=limit,
        page_size=limit,
        **options,
    )
