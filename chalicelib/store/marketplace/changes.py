"""The writes of one state change, committed together in one TransactWriteItems.

A change holds condition checks on other items (:meth:`Changes.require`), its own writes
(the aggregate under its version condition first), and the feed entries of its events
(:meth:`Changes.notify`: the outbox). The feed therefore holds an entry exactly when the
change committed. A feed entry in a transaction costs 2 write units per KB (entries are
kept under 1 KB).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib import ids
from chalicelib.store.marketplace.items import NotificationItem
from chalicelib.store.models import CONDITION_FAILED, Entity, transaction

MAX_WRITES = 100
"""The most items one TransactWriteItems takes."""
FEED_TTL = timedelta(days=30)
"""How long a feed entry is kept (DynamoDB TTL)."""


class Stale(Exception):
    """The transaction was cancelled: an item it was conditioned on changed meanwhile.
    ``failed_checks``: the positions (in :meth:`Changes.require` order) of the condition
    checks that did not hold (empty: another writer changed the aggregate first)."""

    def __init__(self, message: str, failed_checks: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.failed_checks = failed_checks


def feed_expiry() -> int:
    """The TTL (epoch seconds) of a feed entry written now."""
    return int((ids.now() + FEED_TTL).timestamp())


class Changes:
    """The writes of one state change: 1 TransactWriteItems of up to 100 items."""

    def __init__(self) -> None:
        self._checks: list[Callable[[TransactWrite], None]] = []
        self._ops: list[Callable[[TransactWrite], None]] = []
        self._staged: list[tuple[Any, list[NotificationItem]]] = []
        self._recorded: list[bool] = []

    def __len__(self) -> int:
        """The items staged (checks, writes, feed entries)."""
        return len(self._checks) + len(self._ops) + sum(len(e) for _, e in self._staged)

    def require(self, model: type[Entity], pk: str, sk: str, condition: Condition) -> None:
        """Commit only if ``condition`` holds for the item ``(pk, sk)`` (a ConditionCheck:
        1 read unit, no call of its own)."""
        self._checks.append(lambda tx: tx.condition_check(model, pk, sk, condition=condition))

    def room(self) -> int:
        """How many more checks and writes the transaction takes."""
        return MAX_WRITES - len(self._checks) - len(self._ops)

    def put(self, item: Entity, condition: Condition | None = None) -> None:
        """Write ``item`` (if ``condition`` holds)."""
        self._ops.append(lambda tx: tx.save(item, condition=condition))

    def delete(self, item: Entity) -> None:
        """Delete ``item`` (nothing when it is gone already)."""
        self._ops.append(lambda tx: tx.delete(item))

    def save_new(self, item: Entity) -> None:
        """Create ``item``; the change fails if it exists."""
        self.put(item, Entity.pk.does_not_exist())

    def save_versioned(self, item: Any, expected_version: int) -> None:
        """Write a versioned item (request, job) if it is still at ``expected_version``
        (0: it must not exist); sets its new ``version`` and ``updated_at``."""
        condition = (
            Entity.pk.does_not_exist()
            if expected_version == 0
            else type(item).version == expected_version
        )
        item.version = expected_version + 1
        self.put(item, condition)

    def update(self, item: Entity, actions: list[Action], condition: Condition | None) -> None:
        self._ops.append(lambda tx: tx.update(item, actions=actions, condition=condition))

    def notify(self, event: Any, entries: Iterable[NotificationItem]) -> None:
        """Stage an event with its feed entries, written in the same transaction."""
        self._staged.append((event, list(entries)))

    def events(self) -> list[tuple[Any, bool]]:
        """The staged events in order, each with whether its feed entries were committed
        with the change (False: they did not fit in its 100 items; write them after)."""
        recorded = self._recorded or [False] * len(self._staged)
        return [(event, done) for (event, _), done in zip(self._staged, recorded, strict=True)]

    def commit(self) -> None:
        """1 TransactWriteItems; :class:`Stale` when cancelled. The change's own writes
        must fit (``ValueError`` otherwise); feed entries fill the room left, an event's
        entries all or none (see :meth:`events`)."""
        room = self.room()
        if room < 0:
            raise ValueError(
                f"a transaction takes at most {MAX_WRITES} items, not {MAX_WRITES - room}"
            )
        entries: list[NotificationItem] = []
        recorded: list[bool] = []
        for _, staged in self._staged:
            fits = len(staged) <= room
            if fits:
                room -= len(staged)
                entries += staged
            recorded.append(fits)
        if not self._ops and not self._checks and not entries:
            self._recorded = recorded
            return
        expires = feed_expiry()
        try:
            with transaction() as tx:
                for check in self._checks:
                    check(tx)
                for op in self._ops:
                    op(tx)
                for entry in entries:
                    entry.ttl = expires
                    tx.save(entry)
        except TransactWriteError as exc:
            code = getattr(exc, "cause_response_code", None)
            if code not in ("TransactionCanceledException", CONDITION_FAILED):
                raise
            reasons = list(exc.cancellation_reasons or [])[: len(self._checks)]
            failed = tuple(
                n
                for n, reason in enumerate(reasons)
                if reason is not None and reason.code == "ConditionalCheckFailed"
            )
            raise Stale(str(exc), failed) from exc
        self._recorded = recorded
