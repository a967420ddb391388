"""Accounts: choosing a role after sign-up, provider verification, and the suspension
check every route and socket applies.

* ``POST /me/roles`` adds the Cognito group (``customers`` or ``providers``); the client
  refreshes its token (Cognito ``REFRESH_TOKEN_AUTH``) and the new token carries the group.
  Becoming a provider starts its verification: ``approved`` at once unless the stage
  requires approval (``SUMMON_PROVIDER_APPROVAL=required``, on in prod), then ``pending``
  until an operator decides. A provider that is not approved cannot go online, so it is
  never matched.
* A suspended account is refused on every route (403) and socket within
  :data:`SUSPENSION_CACHE_S` seconds, whatever tokens it still holds: each container
  re-reads the suspended set that often (1 GetItem a container per 30 s). So is a deleted
  account (``DELETE /me``) while its ID tokens may still be valid: the same item lists
  the SHA-256 of its id.
"""

from __future__ import annotations

import hashlib
import math
import time

from chalicelib import runtime
from chalicelib.adapters import cognito
from chalicelib.auth import CUSTOMERS, PROVIDERS, Principal
from chalicelib.errors import Conflict, Forbidden
from chalicelib.schemas.accounts import RoleIn, RolesOut
from chalicelib.store import accounts as repo
from chalicelib.store import profiles as profiles_repo

SUSPENSION_CACHE_S = 30.0
"""How stale a container's view of the suspended accounts may be (the refusal comes
within this, well inside the 60 s the product promises)."""
GROUPS = {"customer": CUSTOMERS, "provider": PROVIDERS}


def add_role(principal: Principal, body: RoleIn) -> RolesOut:
    """``POST /me/roles``: the caller's groups after adding the role's (adding one twice
    changes nothing). Cost: 1-2 Cognito calls; a new provider +2 DynamoDB calls."""
    group = GROUPS[body.role]
    uid, username = principal.user_id, principal.username or principal.user_id
    cognito.add_to_group(username, group)
    groups = sorted(set(cognito.groups_of(username)) | {group})
    verification = None
    if group == PROVIDERS:
        status = repo.PENDING if runtime.settings().provider_approval else repo.APPROVED
        verification = repo.request_approval(uid, principal.email or None, status).status
    profiles_repo.get_or_create_user(uid, principal.email, groups)
    return RolesOut(
        roles=groups,
        provider_verification=verification,  # type: ignore[arg-type]
        refresh_token=group not in principal.groups,
    )


def approval_status(user_id: str) -> str:
    """A provider's verification (``approved`` when the stage requires none). 0 calls
    without approval, 1 GetItem with."""
    if not runtime.settings().provider_approval:
        return repo.APPROVED
    found = repo.approval(user_id)
    return found.status if found else repo.PENDING


def check_may_go_online(user_id: str) -> None:
    """409 saying why a provider may not go online (its verification is not approved)."""
    status = approval_status(user_id)
    if status != repo.APPROVED:
        raise Conflict(
            f"Your provider verification is {status}: you can go online once an operator "
            "approves it."
        )


def _refused() -> tuple[frozenset[str], frozenset[str]]:
    """(suspended ids, digests of deleted accounts) as this container last read them (at
    most :data:`SUSPENSION_CACHE_S` old). 1 GetItem when the view is older."""
    cache = _refusals()
    now = time.monotonic()
    if now - float(cache[0]) >= SUSPENSION_CACHE_S:  # type: ignore[arg-type]
        users, erased = repo.refused()
        cache[:] = [now, users, frozenset(e.split(" ", 1)[0] for e in erased)]
    return cache[1], cache[2]  # type: ignore[return-value]


def suspended_users() -> frozenset[str]:
    """The suspended accounts as this container last read them (at most
    :data:`SUSPENSION_CACHE_S` old). 1 GetItem when the view is older."""
    return _refused()[0]


def digest(user_id: str) -> str:
    """What the refusal list keeps of a deleted account: the SHA-256 of its id."""
    return hashlib.sha256(user_id.encode()).hexdigest()


def deleted(user_id: str) -> bool:
    """Whether the account is deleted or being deleted (as this container last read)."""
    return digest(user_id) in _refused()[1]


def refusal(user_id: str) -> str | None:
    """Why the account is refused on every route and socket, or None."""
    if user_id in suspended_users():
        return "This account is suspended."
    if deleted(user_id):
        return "This account is deleted."
    return None


def forget_suspended() -> None:
    """Read the suspended set again on next use (this container just changed it)."""
    _refusals()[0] = -math.inf


def _refusals() -> list[object]:
    """This container's view: [when it was read (``time.monotonic``; never: -inf),
    suspended ids, digests of deleted accounts]."""
    return runtime.get().memo("suspended", lambda: [-math.inf, frozenset(), frozenset()])


def guard(principal: Principal, *, deleting: bool = False) -> Principal:
    """The principal, or 403 when its account is suspended or deleted (``deleting``: the
    route that deletes it answers a deleted account too, so a retry succeeds)."""
    why = refusal(principal.user_id)
    if why and not (deleting and deleted(principal.user_id)):
        raise Forbidden(why)
    return principal
