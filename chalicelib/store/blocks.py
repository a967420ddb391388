"""Blocks between two users.

| pattern                        | key condition                               | index |
|--------------------------------|---------------------------------------------|-------|
| whom I blocked, newest first   | pk=USER#<me>, sk begins_with BLOCK#          | table |
| every pair I must not meet     | pk=USER#<me>, sk begins_with BLOCK (both)    | table |

A block is two items written together: ``BLOCK#<them>`` in the blocker's partition (their
list) and ``BLOCKEDBY#<blocker>`` in the blocked user's (so one Query of a partition gives
every user it must be kept apart from, either way; it is never shown to them).
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.conversations import ConversationItem, MemberItem
from chalicelib.store.models import Entity, ProviderItem, get_or_none, transaction, update_if
from chalicelib.store.pagination import paged


class BlockItem(Entity, discriminator="block"):
    """pk=USER#<owner>, sk=BLOCK#<other> (owner blocked other) or BLOCKEDBY#<other>."""

    other_id = UnicodeAttribute()


def block(blocker: str, blocked: str) -> None:
    """Record the block (idempotent), and keep the pair apart in matching: each side's
    provider profile, if it has one, lists the other. 1 TransactWriteItems + 2
    UpdateItems."""
    now = ids.iso()
    with transaction() as tx:
        tx.save(
            BlockItem(keys.user(blocker), keys.block(blocked), other_id=blocked, created_at=now)
        )
        tx.save(
            BlockItem(
                keys.user(blocked), keys.blocked_by(blocker), other_id=blocker, created_at=now
            )
        )
    _keep_apart(blocker, blocked, True)
    _close_conversations(blocker, blocked, True)


def unblock(blocker: str, blocked: str) -> None:
    """Forget the block (idempotent); the pair may meet again unless the other side blocks
    too. 1 TransactWriteItems + 1 GetItem (+ 2 UpdateItems)."""
    with transaction() as tx:
        tx.delete(BlockItem(keys.user(blocker), keys.block(blocked)))
        tx.delete(BlockItem(keys.user(blocked), keys.blocked_by(blocker)))
    _close_conversations(blocker, blocked, False)
    if get_or_none(BlockItem, keys.user(blocked), keys.block(blocker), consistent=True) is None:
        _keep_apart(blocker, blocked, False)


def _close_conversations(blocker: str, blocked: str, on: bool) -> None:
    """Close (or reopen) every conversation between the two for the blocker's part. 1 Query
    + 1 UpdateItem per conversation between them."""
    for member in MemberItem.query(
        keys.user(blocker),
        MemberItem.sk.startswith(keys.conversation("")),
        filter_condition=MemberItem.counterpart_id == blocked,
    ):
        conv = ConversationItem(keys.conversation(member.conversation_id), keys.META)
        action = (
            ConversationItem.closed_by.add({blocker})
            if on
            else ConversationItem.closed_by.delete({blocker})
        )
        update_if(conv, [action], ConversationItem.pk.exists())


def _keep_apart(a: str, b: str, on: bool) -> None:
    """Each side's provider profile (where there is one) lists, or stops listing, the
    other in ``kept_apart``, which the geo index carries to matching."""
    for owner, other in ((a, b), (b, a)):
        item = ProviderItem(keys.user(owner), keys.PROVIDER)
        change = (
            ProviderItem.kept_apart.add({other}) if on else ProviderItem.kept_apart.delete({other})
        )
        update_if(item, [change, ProviderItem.version.add(1)], ProviderItem.pk.exists())


def blocked(user_id: str, limit: int, cursor: str | None) -> tuple[list[BlockItem], str | None]:
    """Whom ``user_id`` blocked. 1 Query."""
    return paged(
        BlockItem,
        hash_key="pk",
        hash_value=keys.user(user_id),
        limit=limit,
        cursor=cursor,
        condition=BlockItem.sk.startswith(keys.block("")),
    )


def kept_apart(user_id: str) -> frozenset[str]:
    """Every user ``user_id`` blocked or was blocked by. 1 Query per 1 MB."""
    return frozenset(
        i.other_id
        for i in BlockItem.query(keys.user(user_id), BlockItem.sk.startswith("BLOCK"))
        if isinstance(i, BlockItem)
    )


def forget_user(user_id: str) -> list[str]:
    """A deleted account's blocks, both ways: the mirror in each other user's partition
    goes, and their provider profile stops keeping the two apart (the user's own items go
    with their partition). The other users. 1 Query + per other user 1 DeleteItem + 1
    UpdateItem."""
    others = []
    for item in BlockItem.query(keys.user(user_id), BlockItem.sk.startswith("BLOCK")):
        if not isinstance(item, BlockItem):
            continue
        mirror = (
            keys.blocked_by(user_id) if item.sk.startswith(keys.block("")) else keys.block(user_id)
        )
        BlockItem(keys.user(item.other_id), mirror).delete()
        others.append(item.other_id)
    for other in dict.fromkeys(others):
        provider = ProviderItem(keys.user(other), keys.PROVIDER)
        actions = [ProviderItem.kept_apart.delete({user_id}), ProviderItem.version.add(1)]
        update_if(provider, actions, ProviderItem.pk.exists())
    return others
