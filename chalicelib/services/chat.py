"""Chat: messages, typing indicators, read receipts, unread counts, catch-up.

Conversations are opened by the marketplace (one per job, one per quote); only their
participants may read or write them -- to anyone else a conversation does not exist (404).
``chat.send`` over the socket and ``POST /conversations/{id}/messages`` are this one
:func:`send`: the message is stored (with its per-conversation ``seq``) before it is
delivered, as a ``chat.message`` event to every participant's live sockets (the sender's
other devices too) and as push to the other participants who have none. Typing indicators
are never stored. A participant's read position only moves forward; unread counts are
``last_seq - max(last_read_seq, last_sent[me])``: sending a message marks everything
before it read, without a second write (``store/realtime.py``).
"""

from __future__ import annotations

from typing import Any

from chalicelib import ids, observability, runtime
from chalicelib.domain.market import QuoteStatus
from chalicelib.errors import Conflict, NotFound
from chalicelib.schemas.common import Page
from chalicelib.schemas.realtime import (
    ChatReadData,
    ChatTypingData,
    ConversationSummary,
    Message,
    MessageContent,
    MessagePreview,
    ReadState,
)
from chalicelib.services import events, live, media, moderation
from chalicelib.store import keys, marketplace, pagination
from chalicelib.store import realtime as store
from chalicelib.store.conversations import ConversationItem, MemberItem

CHAT_IMAGE = "chat_image"


def _remember(conv: ConversationItem) -> tuple[str, ...]:
    people = tuple(str(p) for p in (conv.participants or []))
    runtime.get().participants[str(conv.pk).removeprefix("CONV#")] = people
    return people


def participants(user_id: str, conversation_id: str) -> tuple[str, ...]:
    """The participants, if ``user_id`` is one of them (else 404). 0 calls once the
    container has seen the conversation, else 1 GetItem, consistent: a participant learns
    of a conversation when it is opened (the accept's answer, the ``job.accepted`` event)
    and may read it the moment after, which an eventually consistent read may not see yet.

    Cached per container: no one joins or leaves a conversation; the one change is account
    deletion rewriting the deleted user's id to a pseudonym (``services/erasure.py``), which
    a cached entry may miss. That does not matter here: the deleted user's sockets close at
    once and every route refuses them within 30 s of asking, so an entry still holding
    their id lets no one else in, and at most lets them, for those seconds, read a
    conversation they were in or send a typing frame. Nothing stored or pushed comes from
    this cache: :func:`send` and :func:`read` read the participants afresh."""
    people = runtime.get().participants.get(conversation_id)
    if people is None:
        conv = store.conversation(conversation_id, consistent=True)
        people = _remember(conv) if conv is not None else ()
    if user_id not in people:
        raise NotFound(f"No conversation {conversation_id} of yours.")
    return people


def _checked(user_id: str, conversation_id: str, conv: ConversationItem | None) -> tuple[str, ...]:
    people = _remember(conv) if conv is not None else ()
    if user_id not in people:
        raise NotFound(f"No conversation {conversation_id} of yours.")
    return people


def _message(item: store.MessageItem) -> Message:
    return Message(
        id=item.message_id,
        conversation_id=item.conversation_id,
        seq=int(item.seq),
        sender_id=item.sender_id,
        client_msg_id=item.client_msg_id,
        text=item.text,
        media_id=item.media_id,
        created_at=str(item.created_at),
    )


def _new_item(
    user_id: str, conversation_id: str, seq: int, content: MessageContent, at: str
) -> store.MessageItem:
    return store.MessageItem(
        keys.conversation(conversation_id),
        keys.client_message(user_id, content.client_msg_id),
        lsi1sk=keys.message(seq),
        message_id=ids.new_id(),
        conversation_id=conversation_id,
        seq=seq,
        sender_id=user_id,
        client_msg_id=content.client_msg_id,
        text=content.text,
        media_id=content.media_id,
        created_at=at,
    )


def _deliver(
    people: tuple[str, ...], item: store.MessageItem, read: events.Prefetched | None
) -> Message:
    message = _message(item)
    event = _delivery(people, message.model_dump(mode="json"), read)
    events.publish(event)
    return message


def _delivery(
    people: tuple[str, ...], data: dict[str, Any], read: events.Prefetched | None
) -> events.Event:
    return events.Event(type="chat.message", recipients=people, data=data, feed=False, read=read)


def send(user_id: str, conversation_id: str, content: MessageContent) -> tuple[Message, bool]:
    """Store a message, then deliver it; ``(message, True)``, or ``(the stored one, False)``
    for a retried ``client_msg_id``.
    1 BatchGetItem (the conversation, this send's message if stored and, once this
    container knows the participants, their sockets and the others' settings and push
    devices: an offline one costs no more) + 1 UpdateItem (seq) + 1 conditional PutItem
    (the message, keyed by its client_msg_id: 3 write units in all); the first time a
    container sees the conversation, 1 more BatchGetItem for the sockets. An image adds
    1 BatchGetItem (the media check) + 1 BatchWriteItem (the participants' grants).
    A retry: 1 BatchGetItem."""
    known = runtime.get().participants.get(conversation_id)
    planned = _delivery(known, {"sender_id": user_id}, None) if known else None
    ahead = live.keys_for([planned]) if planned else []
    conv, stored, read = store.conversation_and_dedupe(
        conversation_id, user_id, content.client_msg_id, ahead
    )
    people = _checked(user_id, conversation_id, conv)
    if stored is not None:
        return _message(stored), False
    assert conv is not None
    _check_open(conv, conversation_id, people)
    if content.text:
        content = content.model_copy(update={"text": moderation.mask(content.text)})
    if content.media_id is not None:
        _share_image(user_id, people, conversation_id, content.media_id)
    now = ids.iso()
    preview = {"sender_id": user_id, "text": content.text, "media_id": content.media_id, "at": now}
    seq = store.take_seq(conversation_id, user_id, preview)
    item = _new_item(user_id, conversation_id, seq, content, now)
    if not store.store_message(item):
        # A copy of this very send stored it a moment ago (this number stays unused).
        _, first, _ = store.conversation_and_dedupe(conversation_id, user_id, content.client_msg_id)
        if first is None:
            raise NotFound(f"No message {content.client_msg_id} in {conversation_id}.")
        return _message(first), False
    observability.count("MessagesSent")
    return _deliver(people, item, read if known == people else None), True


def _check_open(conv: ConversationItem, conversation_id: str, people: tuple[str, ...]) -> None:
    """A quote's conversation takes messages while the quote is pending or accepted (then
    it is the job's); once the quote was declined or withdrawn it is read-only: both sides
    keep what was said, nobody adds to it (409). Job conversations stay open (follow-ups,
    reviews). 1 GetItem for a quote's conversation until its quote is seen accepted, which
    this container then remembers (an accepted quote never changes)."""
    if conv.closed_by:  # a participant blocked another (they are not told so)
        raise Conflict("This conversation is closed.")
    if conv.ref_type != "quote" or conversation_id in runtime.get().open_conversations:
        return
    quote = marketplace.quote(people[0], str(conv.ref_id))  # participants: customer first
    status = quote.status if quote is not None else None
    if status == QuoteStatus.ACCEPTED:
        runtime.get().open_conversations[conversation_id] = True
    elif status != QuoteStatus.PENDING:
        raise Conflict(f"The quote was {status or 'removed'}: this conversation is read-only now.")


def _share_image(
    user_id: str, people: tuple[str, ...], conversation_id: str, media_id: str
) -> None:
    """A chat image must be the sender's own, ready, uploaded as ``chat_image`` (else a
    400 naming ``media_id``); the other participants may then read it (before the message
    reaches them). 1 BatchGetItem + 1 BatchWriteItem."""
    media.check_attachable(user_id, [media_id], (CHAT_IMAGE,), ready=True, field="media_id")
    media.share(media_id, [p for p in people if p != user_id], "conversation", conversation_id)


def typing(user_id: str, conversation_id: str, is_typing: bool) -> None:
    """``chat.typing`` to the other participants' sockets (not stored, never pushed).
    1 BatchGetItem (+1 GetItem the first time this container sees the conversation)."""
    people = participants(user_id, conversation_id)
    others = [p for p in people if p != user_id]
    data = ChatTypingData(conversation_id=conversation_id, user_id=user_id, typing=is_typing)
    live.send_to_users(others, live.frame("chat.typing", data))


def read(user_id: str, conversation_id: str, seq: int) -> ReadState:
    """Everything up to ``seq`` (at most the last message) is read; every participant's
    sockets get ``chat.read`` (read receipts; the reader's other devices clear their badge).
    1 GetItem (conversation) + 1 UpdateItem (forward only) + 1 BatchGetItem (sockets);
    reading an older position changes nothing: 1 GetItem + 1 UpdateItem + 1 GetItem."""
    conv = store.conversation(conversation_id, consistent=True)
    people = _checked(user_id, conversation_id, conv)
    assert conv is not None
    last_seq = int(conv.last_seq or 0)
    upto = min(seq, last_seq)
    if store.mark_read(user_id, conversation_id, upto):
        position = upto
        data = ChatReadData(conversation_id=conversation_id, user_id=user_id, seq=upto)
        live.send_to_users(people, live.frame("chat.read", data))
    else:
        found = store.member(user_id, conversation_id)
        position = int(found.last_read_seq or 0) if found is not None else 0
    position = _read_upto(conv, user_id, position)
    return ReadState(
        conversation_id=conversation_id,
        user_id=user_id,
        last_read_seq=position,
        unread=max(0, last_seq - position),
    )


def _read_upto(conv: ConversationItem | None, user_id: str, last_read_seq: int) -> int:
    """What a participant has read: up to their receipt, or their own latest message."""
    sent = (
        dict(conv.last_sent.attribute_values)
        if conv is not None and conv.last_sent is not None
        else {}
    )
    return max(last_read_seq, int(sent.get(user_id, 0)))


def messages(
    user_id: str, conversation_id: str, after: int, limit: int, cursor: str | None
) -> Page[Message]:
    """Messages with ``seq > after`` in order (catch-up after a reconnect).
    1 Query (+1 GetItem the first time this container sees the conversation)."""
    participants(user_id, conversation_id)
    pk = keys.conversation(conversation_id)
    listed = f"messages|{pk}"
    start = pagination.decode(cursor, list_id=listed, hash_key="pk", hash_value=pk)
    items, last_key = store.messages_after(conversation_id, after, limit, start)
    return Page[Message](
        items=[_message(i) for i in items], cursor=pagination.encode(last_key, list_id=listed)
    )


def conversations(user_id: str, limit: int, cursor: str | None) -> Page[ConversationSummary]:
    """My conversations, newest first, with unread counts and whether the counterpart is
    online. 1 Query + 1 BatchGetItem (conversations) + 1 BatchGetItem (sockets)."""
    pk = keys.user(user_id)
    listed = f"conversations|{pk}"
    start = pagination.decode(cursor, list_id=listed, hash_key="pk", hash_value=pk)
    mine, last_key = store.members(user_id, limit, start)
    convs = store.conversations([m.conversation_id for m in mine])
    online = live.online([m.counterpart_id for m in mine if m.counterpart_id])
    items = [
        _summary(m, convs.get(m.conversation_id), online)
        for m in mine
        if m.conversation_id in convs
    ]
    return Page[ConversationSummary](
        items=items, cursor=pagination.encode(last_key, list_id=listed)
    )


def _summary(
    member: MemberItem, conv: ConversationItem | None, online: set[str]
) -> ConversationSummary:
    last_seq = int(conv.last_seq or 0) if conv is not None else 0
    read_upto = _read_upto(
        conv, str(member.pk).removeprefix("USER#"), int(member.last_read_seq or 0)
    )
    preview: Any = conv.last_message if conv is not None else None
    return ConversationSummary(
        id=member.conversation_id,
        ref_type=member.ref_type,
        ref_id=member.ref_id,
        counterpart_id=member.counterpart_id,
        counterpart_online=member.counterpart_id in online,
        last_seq=last_seq,
        last_read_seq=read_upto,
        unread=max(0, last_seq - read_upto),
        last_message=MessagePreview.model_validate(preview) if preview else None,
        created_at=member.created_at,
    )
