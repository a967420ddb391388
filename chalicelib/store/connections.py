"""Live connections: the sockets each user holds, and where to send to them.

| pattern                                 | key condition                                  | index |
|-----------------------------------------|------------------------------------------------|-------|
| a connection → its user and endpoint    | pk=CONN#<connection_id>, sk=META               | table |
| a user's live sockets (one item, a set) | pk=USER#<uid>, sk=SOCKETS                      | table |
| live sockets of many users              | BatchGetItem of USER#<uid>/SOCKETS             | table |
| ... + what push would need, at once     | the same BatchGetItem + the keys push names    | table |
| live connections, a page of one shard   | gsi1pk=CONNS#<00..15> (16 shards)              | gsi1  |

API Gateway gives each socket an id; ``$connect`` writes a connection record
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
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import UnicodeAttribute, UnicodeSetAttribute
from pynamodb.expressions.condition import size

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity, get_or_none, read_items, update_if

CONNECTION_TTL_S = 2 * 3600 + 300
"""API Gateway closes a socket after 2 hours; its records expire 5 minutes later."""


def _shard(connection_id: str) -> int:
    return zlib.crc32(connection_id.encode()) % keys.CONNECTION_SHARDS


class ConnectionItem(Entity, discriminator="connection"):
    """One live socket: who holds it and where to send to it."""

    user_id = UnicodeAttribute()
    endpoint = UnicodeAttribute()
    socket = UnicodeAttribute()
    """The element of the user's ``SocketsItem.conns`` set for this connection."""


class SocketsItem(Entity, discriminator="sockets"):
    """The live sockets of one user: a string set of ``"<id> <expires> <endpoint>"``."""

    conns = UnicodeSetAttribute(null=True)


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
    (``models.read_items`` of :func:`sockets_keys`); None when a user's key was not read."""
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
