"""Chat storage: messages and read positions (live connections: ``store/connections.py``;
live job locations: ``store/locations.py``).

| pattern                                 | key condition                                  | index |
|-----------------------------------------|------------------------------------------------|-------|
| a message (keyed by its sender's id)    | pk=CONV#<id>, sk=CMID#<sender>#<client_msg_id> | table |
| messages of a conversation after SEQ    | pk=CONV#<id>, lsi1sk > MSG#<seq, zero-padded>  | lsi1  |
| conversation + this send's message      | BatchGetItem (consistent) of META + the above  | table |
| a user's conversations (read positions) | pk=USER#<uid>, sk begins_with CONV#            | table |

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

from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.pagination import ResultIterator

from chalicelib import ids
from chalicelib.errors import NotFound
from chalicelib.store import keys
from chalicelib.store.conversations import ConversationItem, MemberItem
from chalicelib.store.models import (
    CONDITION_FAILED,
    Entity,
    get_or_none,
    read_items,
    save_if,
    update_if,
)


class MessageItem(Entity, discriminator="message"):
    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    seq = NumberAttribute()
    sender_id = UnicodeAttribute()
    client_msg_id = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)


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
    return save_if(message, MessageItem.pk.does_not_exist())


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
