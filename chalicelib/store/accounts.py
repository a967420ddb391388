"""Accounts as operators see them: provider verification, suspensions, the audit log.

| pattern                               | key condition                              | index |
|---------------------------------------|--------------------------------------------|-------|
| a provider's verification             | pk=USER#<id>, sk=APPROVAL                  | table |
| verifications waiting, oldest first   | gsi1pk=APPROVALS#pending                   | gsi1  |
| every suspended (and deleted) account  | pk=ACCOUNTS, sk=SUSPENDED (one item, sets) | table |
| the audit log of a month, newest first | pk=AUDIT#<YYYY-MM>                        | table |

The pending queue and the audit log grow with operator work, not with traffic, so one
partition each is enough; the suspended set is one item of at most 400 KB (about 10,000
suspended accounts).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute, UnicodeSetAttribute

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity, get_or_none, leave_gsi1, update_if
from chalicelib.store.pagination import paged

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class ApprovalItem(Entity, discriminator="approval"):
    """A provider's verification; in the pending queue (gsi1) while ``pending``."""

    user_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    decided_by = UnicodeAttribute(null=True)


class SuspendedItem(Entity, discriminator="suspended"):
    users = UnicodeSetAttribute(null=True)
    erased = UnicodeSetAttribute(null=True)
    """``"<digest> <until>"`` of each account deleted (or being deleted) whose ID tokens may
    still be valid: the SHA-256 of its id, never the id (``services/erasure.py``)."""


class AuditItem(Entity, discriminator="audit"):
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    detail = JSONAttribute(null=True)


def approval(user_id: str) -> ApprovalItem | None:
    """1 GetItem (consistent)."""
    return get_or_none(ApprovalItem, keys.user(user_id), keys.APPROVAL, consistent=True)


def request_approval(user_id: str, email: str | None, status: str) -> ApprovalItem:
    """Record a provider's verification as ``status`` unless one exists. 1 GetItem + 1
    PutItem the first time."""
    found = approval(user_id)
    if found is not None:
        return found
    now = ids.iso()
    item = ApprovalItem(
        keys.user(user_id), keys.APPROVAL, user_id=user_id, email=email, status=status,
        created_at=now, updated_at=now,
    )  # fmt: skip
    if status == PENDING:
        item.gsi1pk, item.gsi1sk = keys.approvals(PENDING), f"{now}#{user_id}"
    item.save(condition=ApprovalItem.pk.does_not_exist())
    return item


def decide(user_id: str, status: str, by: str, reason: str | None) -> ApprovalItem | None:
    """Approve or reject a verification (leaving the pending queue); None when there is
    none. 1 UpdateItem."""
    item = ApprovalItem(keys.user(user_id), keys.APPROVAL)
    actions = leave_gsi1(ApprovalItem, status=status, decided_by=by, reason=reason)
    return item if update_if(item, actions, ApprovalItem.pk.exists()) else None


def waiting(limit: int, cursor: str | None) -> tuple[list[ApprovalItem], str | None]:
    """Verifications waiting for an operator, oldest first. 1 Query (gsi1)."""
    return paged(
        ApprovalItem.gsi1, hash_key="gsi1pk", hash_value=keys.approvals(PENDING),
        limit=limit, cursor=cursor, newest_first=False,
    )  # fmt: skip


def suspended() -> frozenset[str]:
    """Every suspended account. 1 GetItem."""
    return refused()[0]


def refused() -> tuple[frozenset[str], frozenset[str]]:
    """Every suspended account, and the ``"<digest> <until>"`` of the deleted ones.
    1 GetItem."""
    item = get_or_none(SuspendedItem, *keys.SUSPENDED, consistent=True)
    if item is None:
        return frozenset(), frozenset()
    return frozenset(item.users or ()), frozenset(item.erased or ())


def set_erased(add: set[str], drop: set[str]) -> None:
    """Add elements to (and drop elements from) the deleted accounts' set. 1 UpdateItem
    (2 when both)."""
    item = SuspendedItem(*keys.SUSPENDED)
    if add:
        item.update(
            actions=[SuspendedItem.erased.add(add), SuspendedItem.updated_at.set(ids.iso())]
        )
    if drop:
        item.update(actions=[SuspendedItem.erased.delete(drop)])


def set_suspended(user_id: str, on: bool) -> None:
    """Add ``user_id`` to (or take it off) the suspended set. 1 UpdateItem (atomic)."""
    item = SuspendedItem(*keys.SUSPENDED)
    action = SuspendedItem.users.add({user_id}) if on else SuspendedItem.users.delete({user_id})
    item.update(actions=[action, SuspendedItem.updated_at.set(ids.iso())])


def record(actor_id: str, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """One line of the operators' audit log. 1 PutItem."""
    now = ids.now()
    AuditItem(
        keys.audit(now.strftime("%Y-%m")), f"{ids.iso(now)}#{ids.new_id()}",
        actor_id=actor_id, action=action, target=target, detail=detail, created_at=ids.iso(now),
    ).save()  # fmt: skip


def audit_log(month: str, limit: int, cursor: str | None) -> tuple[list[AuditItem], str | None]:
    """A month's audit log, newest first. 1 Query."""
    return paged(AuditItem, hash_key="pk", hash_value=keys.audit(month), limit=limit, cursor=cursor)
