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

from pynamodb.attributes import JSONAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import ids
from chalicelib.store import keys
from chalicelib.store.models import Entity


class ConversationItem(Entity, discriminator="conversation"):
    participants = JSONAttribute()
    ref_type = UnicodeAttribute()  # "job" | "quote"
    ref_id = UnicodeAttribute()
    last_seq = NumberAttribute(default=0)
    last_message = JSONAttribute(null=True)
    """Preview of the message that took ``last_seq`` (set by the same atomic update that
    takes the number, so the two always agree): ``{sender_id, text, media_id, at}``."""
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


def open_conversation(
    participants: list[str], ref_type: str, ref_id: str, conversation_id: str | None = None
) -> str:
    """Create a conversation and its member entries atomically; returns its id.
    1 TransactWriteItems (1 + participants items). Idempotent per ``conversation_id``."""
    cid = conversation_id or ids.new_id()
    now = ids.iso()
    meta = ConversationItem(
        keys.conversation(cid),
        keys.META,
        participants=participants,
        ref_type=ref_type,
        ref_id=ref_id,
        last_seq=0,
        created_at=now,
        updated_at=now,
    )
    try:
        with TransactWrite(connection=Connection(region=Entity.Meta.region)) as tx:
            tx.save(meta, condition=ConversationItem.pk.does_not_exist())
            for uid in participants:
                others = [p for p in participants if p != uid]
                tx.save(
                    MemberItem(
                        keys.user(uid),
                        keys.conversation(cid),
                        conversation_id=cid,
                        ref_type=ref_type,
                        ref_id=ref_id,
                        counterpart_id=others[0] if others else None,
                        last_read_seq=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
    except TransactWriteError as exc:
        if get_conversation(cid) is None:
            raise
        _ = exc  # already open: opening twice is a no-op
    return cid


def get_conversation(conversation_id: str) -> ConversationItem | None:
    """1 GetItem."""
    try:
        return ConversationItem.get(keys.conversation(conversation_id), keys.META)
    except DoesNotExist:
        return None
