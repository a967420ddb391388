"""The operators' tools (``/admin/*``, the ``operators`` group only): provider
verification, finding, suspending and restoring accounts, the category catalog,
announcements, and the audit log every one of these actions writes (who, what, when).

Suspending an account disables its sign-in in Cognito and signs it out everywhere, adds it
to the suspended set the edge checks (refused on every route and socket within 30 s,
whatever tokens it holds), closes its sockets and takes it offline as a provider.
Restoring undoes the refusal and the sign-in block.
"""

from __future__ import annotations

import contextlib
import json

from chalicelib import ids, runtime
from chalicelib.adapters import aws_client, cognito
from chalicelib.auth import Principal
from chalicelib.errors import NotFound, Unavailable
from chalicelib.schemas.accounts import (
    AdminUser,
    AnnouncementIn,
    AnnouncementOut,
    ApprovalOut,
    ApprovalsQuery,
    AuditEntry,
    AuditQuery,
    CategoryIn,
    DecisionIn,
    WordsIn,
    WordsOut,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.profiles import Category
from chalicelib.services import accounts, live, moderation
from chalicelib.store import accounts as repo
from chalicelib.store import moderation as moderation_repo
from chalicelib.store import profiles as profiles_repo


def _approval_out(item: repo.ApprovalItem) -> ApprovalOut:
    return ApprovalOut(
        user_id=item.user_id,
        email=item.email,
        status=item.status,  # type: ignore[arg-type]
        reason=item.reason,
        requested_at=item.created_at or "",
        decided_by=item.decided_by,
    )


def providers(query: ApprovalsQuery) -> Page[ApprovalOut]:
    """``GET /admin/providers?status=pending``: verifications waiting, oldest first."""
    items, cursor = repo.waiting(query.limit, query.cursor)
    return Page[ApprovalOut](items=[_approval_out(i) for i in items], cursor=cursor)


def decide_provider(
    operator: Principal, user_id: str, approve: bool, body: DecisionIn
) -> ApprovalOut:
    """Approve or reject a provider's verification (404 when it has none); a rejected
    provider is taken offline."""
    status = repo.APPROVED if approve else repo.REJECTED
    if repo.decide(user_id, status, operator.user_id, body.reason) is None:
        raise NotFound(f"No provider verification for user {user_id}.")
    if not approve:
        _offline(user_id)
    repo.record(operator.user_id, f"provider.{status}", user_id, {"reason": body.reason})
    found = repo.approval(user_id)
    assert found is not None
    return _approval_out(found)


def _offline(user_id: str) -> None:
    with contextlib.suppress(NotFound):  # not a provider
        profiles_repo.set_availability(user_id, online=False, lat=None, lng=None)


def find_users(email: str) -> list[AdminUser]:
    """``GET /admin/users?email=``: accounts whose email starts so (at most 20)."""
    suspended = accounts.suspended_users()
    return [
        AdminUser(
            id=u["id"],
            email=u["email"],
            enabled=u["enabled"],
            status=u["status"],
            suspended=u["id"] in suspended,
            roles=cognito.groups_of(u["username"]),
        )
        for u in cognito.find_by_email(email)
    ]


def _username(user_id: str) -> str:
    """This pool's username of a known user; 404 for an unknown one."""
    profile = profiles_repo.get_user(user_id)
    if profile is None:
        raise NotFound(f"No user {user_id}.")
    return cognito.username_of(user_id, profile.email)


def suspend(operator: Principal, user_id: str, body: DecisionIn) -> dict[str, object]:
    """``POST /admin/users/{id}/suspend`` (404 for an unknown user)."""
    username = _username(user_id)
    repo.set_suspended(user_id, True)
    accounts.forget_suspended()
    cognito.set_enabled(username, False)
    _offline(user_id)
    closed = live.close_user_sockets(user_id)
    repo.record(operator.user_id, "user.suspend", user_id, {"reason": body.reason})
    return {"user_id": user_id, "suspended": True, "sockets_closed": closed}


def restore(operator: Principal, user_id: str, body: DecisionIn) -> dict[str, object]:
    """``POST /admin/users/{id}/restore``."""
    username = _username(user_id)
    repo.set_suspended(user_id, False)
    accounts.forget_suspended()
    cognito.set_enabled(username, True)
    repo.record(operator.user_id, "user.restore", user_id, {"reason": body.reason})
    return {"user_id": user_id, "suspended": False}


def put_category(operator: Principal, category_id: str, body: CategoryIn) -> Category:
    """``PUT /admin/categories/{id}``: create or change a category."""
    catalog = [c for c in profiles_repo.categories() if c.get("id") != category_id]
    entry = {"id": category_id, "name": body.name, **({"icon": body.icon} if body.icon else {})}
    profiles_repo.put_categories(sorted([*catalog, entry], key=lambda c: str(c["id"])))
    repo.record(operator.user_id, "category.put", category_id, entry)
    return Category(**entry)


def announce(operator: Principal, body: AnnouncementIn) -> AnnouncementOut:
    """``POST /admin/announcements``: published to the announcements topic (the topic's
    handler reaches the audience live and by push)."""
    arn = runtime.settings().announcements_topic_arn
    if not arn:
        raise Unavailable("No announcements topic is configured for this stage.")
    message = {"title": body.title, "body": body.text, "data": {"audience": body.audience}}
    sent = aws_client("sns").publish(
        TopicArn=arn, Subject=body.title[:100], Message=json.dumps(message)
    )
    repo.record(operator.user_id, "announcement", sent["MessageId"], message)
    return AnnouncementOut(message_id=sent["MessageId"], audience=body.audience)


def _words(words: list[str]) -> set[str]:
    return {w.strip().lower() for w in words if w.strip()}


def change_words(operator: Principal, body: WordsIn) -> WordsOut:
    """``PUT /admin/words``: the operators' additions to and exceptions from the list of
    objectionable words (``services/moderation.py``)."""
    add, allow, drop = _words(body.add), _words(body.allow), _words(body.drop)
    added, allowed = moderation_repo.change_words(add, allow, drop)
    moderation.forget()
    detail = {"add": sorted(add), "allow": sorted(allow), "drop": sorted(drop)}
    repo.record(operator.user_id, "words.change", "words", detail)
    return WordsOut(added=sorted(added), allowed=sorted(allowed))


def audit(query: AuditQuery) -> Page[AuditEntry]:
    """``GET /admin/audit``: a month's admin actions, newest first."""
    month = query.month or ids.now().strftime("%Y-%m")
    items, cursor = repo.audit_log(month, query.limit, query.cursor)
    return Page[AuditEntry](
        items=[
            AuditEntry(
                at=i.created_at or "",
                actor_id=i.actor_id,
                action=i.action,
                target=i.target,
                detail=i.detail,
            )
            for i in items
        ],
        cursor=cursor,
    )
