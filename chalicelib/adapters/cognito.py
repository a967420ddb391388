"""The user pool, as the app administers it (cognito-idp Admin* calls on the stage's pool;
the user id is the pool's ``sub``, which is also its username)."""

from __future__ import annotations

from typing import Any

from chalicelib import runtime
from chalicelib.adapters import aws_client


def _pool() -> str:
    return runtime.settings().user_pool_id


def _client() -> Any:
    return aws_client("cognito-idp")


def add_to_group(user_id: str, group: str) -> None:
    """AdminAddUserToGroup (idempotent)."""
    _client().admin_add_user_to_group(UserPoolId=_pool(), Username=user_id, GroupName=group)


def groups_of(user_id: str) -> list[str]:
    """AdminListGroupsForUser."""
    found = _client().admin_list_groups_for_user(UserPoolId=_pool(), Username=user_id)
    return sorted(g["GroupName"] for g in found.get("Groups", []))


def set_enabled(user_id: str, enabled: bool) -> None:
    """AdminEnableUser, or AdminDisableUser and AdminUserGlobalSignOut (refresh tokens
    revoked; ID tokens already issued stay valid until they expire: the app's own
    suspension list refuses them)."""
    client, pool = _client(), _pool()
    if enabled:
        client.admin_enable_user(UserPoolId=pool, Username=user_id)
        return
    client.admin_disable_user(UserPoolId=pool, Username=user_id)
    client.admin_user_global_sign_out(UserPoolId=pool, Username=user_id)


def find_by_email(email: str) -> list[dict[str, Any]]:
    """ListUsers filtered on the email (prefix match): ``id``, ``email``, ``enabled``."""
    safe = email.replace('"', "")
    found = _client().list_users(UserPoolId=_pool(), Filter=f'email ^= "{safe}"', Limit=20)
    out = []
    for user in found.get("Users", []):
        attrs = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
        out.append(
            {
                "id": attrs.get("sub", user["Username"]),
                "email": attrs.get("email", ""),
                "enabled": bool(user.get("Enabled", True)),
                "status": str(user.get("UserStatus", "")),
            }
        )
    return out
