"""Blocking: a blocked pair is never matched, cannot message each other (either way), and
gets no offers, quotes or pushes from each other; unblocking restores that. Blocking is
private: the blocked user is not told, and a conversation between the two answers both
that it is closed."""

from __future__ import annotations

import re

from chalicelib import ids
from chalicelib.auth import Principal
from chalicelib.errors import Invalid
from chalicelib.schemas.accounts import BlockOut
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.store import blocks as repo


def list_blocked(principal: Principal, query: PageQuery) -> Page[BlockOut]:
    """``GET /me/blocks``: whom I blocked, newest first."""
    items, cursor = repo.blocked(principal.user_id, query.limit, query.cursor)
    return Page[BlockOut](
        items=[BlockOut(user_id=i.other_id, blocked_at=i.created_at or "") for i in items],
        cursor=cursor,
    )


USER_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
"""What a user id looks like (a Cognito ``sub`` or the stable id of ADR 0013)."""


def _checked(user_id: str) -> str:
    if not USER_ID.match(user_id):
        raise Invalid(f"user_id: {user_id[:80]!r} is not a user id.")
    return user_id


def block(principal: Principal, user_id: str) -> BlockOut:
    """``PUT /me/blocks/{user_id}`` (idempotent); 400 for oneself or a malformed id. Any
    well-formed id may be blocked (an answer would tell who has an account)."""
    if _checked(user_id) == principal.user_id:
        raise Invalid("You cannot block yourself.")
    repo.block(principal.user_id, user_id)
    return BlockOut(user_id=user_id, blocked_at=ids.iso())


def unblock(principal: Principal, user_id: str) -> None:
    """``DELETE /me/blocks/{user_id}`` (idempotent; 400 for a malformed id)."""
    repo.unblock(principal.user_id, _checked(user_id))
