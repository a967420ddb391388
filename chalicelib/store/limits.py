"""Rate counters: one item per (subject, what, fixed window), counted with one conditional
``ADD`` and removed by DynamoDB's TTL once its window is over.

| pattern                                  | key                                           |
|------------------------------------------|-----------------------------------------------|
| chat frames of a socket in a window      | pk=CONN#<connection_id>, sk=RATE#chat#<window>|
| HTTP calls of a user in a minute (shared)| pk=USER#<uid>, sk=RATE#http#<minute>          |
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute

from chalicelib.store import keys
from chalicelib.store.models import Entity, update_if

TTL_AFTER_S = 300
"""A counter item outlives its window by 5 minutes (TTL; it is never read after it)."""


class CounterItem(Entity, discriminator="counter"):
    """How many times something was counted in one window."""

    n = NumberAttribute(null=True)


def take_chat_frame(connection_id: str, window: int, *, most: int, expires: int) -> int | None:
    """Count one chat frame of a socket in its ``window``; the new count, or ``None`` when
    the socket sent ``most`` in it already (nothing counted). 1 UpdateItem."""
    counter = keys.rate_window("chat", window)
    return _take(keys.connection(connection_id), counter, 1, most=most, expires=expires)


def add_http_calls(user_id: str, minute: int, count: int, *, expires: int) -> int:
    """Add ``count`` calls to a user's shared counter of a ``minute``; the new total.
    1 UpdateItem."""
    total = _take(keys.user(user_id), keys.rate_window("http", minute), count, expires=expires)
    assert total is not None  # no limit: always counted
    return total


def _take(pk: str, sk: str, amount: int, *, most: int | None = None, expires: int) -> int | None:
    """Add ``amount`` to the counter at (pk, sk); the new count, or ``None`` when ``most``
    is given and the count would pass it (then nothing changed). 1 UpdateItem."""
    item = CounterItem(pk, sk)
    condition = None
    if most is not None:
        condition = CounterItem.n.does_not_exist() | (CounterItem.n <= most - amount)
    actions = [
        CounterItem.n.add(amount),
        CounterItem.kind.set(CounterItem),
        CounterItem.ttl.set(expires + TTL_AFTER_S),
    ]
    return int(item.n or 0) if update_if(item, actions, condition) else None
