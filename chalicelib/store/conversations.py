"""Conversations: one per job (customer ↔ provider) and one per quote (customer ↔ quoting
provider). The Marketplace opens them; the Real-time capability owns messages, read
receipts and unread counts and extends this module.

| pattern                              | key condition                              | index |
|--------------------------------------|--------------------------------------------|-------|
| conversation by id                   | pk=CONV#<id>, sk=META                      | table |
| a user's conversations (newest first)| pk=USER#<uid>, sk begins_with CONV#        | table |
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import TransactWriteError

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity, get_or_none, transaction


class ConversationItem(Entity, discriminator="conversation"):
    participants = JSONAttribute()
    ref_type = UnicodeAttribute()  # "job" | "quote"
    ref_id = UnicodeAttribute()
    last_seq = NumberAttribute(default=0)
    last_message = JSONAttribute(null=True)
    """Preview of the message that took ``last_seq`` (set by the same atomic update that
    takes the number, so the two always agree): ``{sender_id, text, media_id, at}``."""
    closed_by = UnicodeSetAttribute(null=True)
    """Participants who blocked another one: the conversation takes no messages while any
    is here (``store/blocks.py``)."""
    last_sent: MapAttribute[str, Any] = MapAttribute(default=dict)
    """``{user_id: seq}``: each participant's latest own message, set by that same update.
    A participant has read everything up to ``max(last_read_seq, last_sent[me])``."""


class MemberItem(Entity, discriminator="conversation_member"):
    """A participant's view of a conversation (what GET /conversations lists)."""

    conversation_id = UnicodeAttribute()
    ref_type = UnicodeAttribute()
    ref_id = UnicodeAttribute()
    counterpart_id = UnicodeAttribute(null=True)
    last_read_seq = NumberAttribute(default=0)


def conversation_items(
    participants: list[str], ref_type: str, ref_id: str, conversation_id: str
) -> list[Entity]:
    """The items of a new conversation (its meta and one member entry per participant), for
    the caller to create in the transaction of the change that opens it (each with
    ``pk does_not_exist``): a job or quote and its conversation commit together, in one
    TransactWriteItems. 0 calls."""
    now = ids.iso()
    items: list[Entity] = [
        ConversationItem(
            keys.conversation(conversation_id),
            keys.META,
            participants=participants,
            ref_type=ref_type,
            ref_id=ref_id,
            last_seq=0,
            created_at=now,
            updated_at=now,
        )
    ]
    for uid in participants:
        others = [p for p in participants if p != uid]
        items.append(
            MemberItem(
                keys.user(uid),
                keys.conversation(conversation_id),
                conversation_id=conversation_id,
                ref_type=ref_type,
                ref_id=ref_id,
                counterpart_id=others[0] if others else None,
                last_read_seq=0,
                created_at=now,
                updated_at=now,
            )
        )
    return items


def open_conversation(
    participants: list[str], ref_type: str, ref_id: str, conversation_id: str | None = None
) -> str:
    """Create a conversation and its member entries atomically, on its own; returns its id.
    1 TransactWriteItems (1 + participants items). Idempotent per ``conversation_id``. (The
    marketplace opens its conversations inside its own transactions:
    :func:`conversation_items`.)"""
    cid = conversation_id or ids.new_id()
    meta, *members = conversation_items(participants, ref_type, ref_id, cid)
    try:
        with transaction() as tx:
            tx.save(meta, condition=ConversationItem.pk.does_not_exist())
            for member in members:
                tx.save(member)
    except TransactWriteError as exc:
        if get_conversation(cid) is None:
            raise
        _ = exc  # already open: opening twice is a no-op
    return cid


def get_conversation(conversation_id: str) -> ConversationItem | None:
    """1 GetItem."""
    return get_or_none(ConversationItem, keys.conversation(conversation_id), keys.META)
