"""The user pool, as the app administers it (cognito-idp Admin* calls on the stage's pool,
which take the pool's username; the app's user id is ``custom:user_id``, or the ``sub``
where it is not set: see ADR 0013)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.adapters import aws_client


def _pool() -> str:
    return runtime.settings().user_pool_id


def _client() -> Any:
    return aws_client("cognito-idp")


def add_to_group(username: str, group: str) -> None:
    """AdminAddUserToGroup (idempotent)."""
    _client().admin_add_user_to_group(UserPoolId=_pool(), Username=username, GroupName=group)


def groups_of(username: str) -> list[str]:
    """AdminListGroupsForUser."""
    found = _client().admin_list_groups_for_user(UserPoolId=_pool(), Username=username)
    return sorted(g["GroupName"] for g in found.get("Groups", []))


def username_of(user_id: str, email: str | None) -> str:
    """This pool's username of the account with this app user id (ADR 0013: the same
    in both pools' ``custom:user_id``; the primary pool's username is that id). ListUsers
    by email when one is known, else ``user_id`` itself."""
    for user in find_by_email(email, exact=True) if email else []:
        if user["id"] == user_id:
            return str(user["username"])
    return user_id


def set_enabled(username: str, enabled: bool) -> None:
    """AdminEnableUser, or AdminDisableUser and AdminUserGlobalSignOut (refresh tokens
    revoked; ID tokens already issued stay valid until they expire: the app's own
    suspension list refuses them)."""
    client, pool = _client(), _pool()
    if enabled:
        client.admin_enable_user(UserPoolId=pool, Username=username)
        return
    client.admin_disable_user(UserPoolId=pool, Username=username)
    client.admin_user_global_sign_out(UserPoolId=pool, Username=username)


def find_by_email(email: str, *, exact: bool = False) -> list[dict[str, Any]]:
    """ListUsers filtered on the email (its beginning, or ``exact``): ``id`` (the app's
    user id), ``username``, ``email``, ``enabled``, ``status``."""
    safe = email.replace('"', "").replace("\\", "")
    op = "=" if exact else "^="
    found = _client().list_users(UserPoolId=_pool(), Filter=f'email {op} "{safe}"', Limit=20)
    out = []
    for user in found.get("Users", []):
        attrs = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        out.append(
            {
                "id": attrs.get("custom:user_id") or attrs.get("sub", user["Username"]),
                "username": user["Username"],
                "email": attrs.get("email", ""),
                "enabled": bool(user.get("Enabled", True)),
                "status": str(user.get("UserStatus", "")),
            }
        )
    return out


def _gone(exc: ClientError) -> bool:
    return bool(exc.response.get("Error", {}).get("Code") == "UserNotFoundException")


def exists(username: str) -> bool:
    """AdminGetUser: whether the pool still has the account."""
    try:
        _client().admin_get_user(UserPoolId=_pool(), Username=username)
    except ClientError as exc:
        if _gone(exc):
            return False
        raise
    return True


def delete_user(username: str) -> None:
    """AdminDeleteUser (idempotent: an account already gone is fine)."""
    try:
        _client().admin_delete_user(UserPoolId=_pool(), Username=username)
    except ClientError as exc:
        if not _gone(exc):
            raise
