"""Routes of accounts (roles) and of the operators' tools (``/admin``, operators only).
Each view parses, calls one service function and returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import lazy
from chalicelib.auth import OPERATORS
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
    RoleIn,
    RolesOut,
    UsersQuery,
)
from chalicelib.schemas.common import Page
from chalicelib.schemas.profiles import Category
from chalicelib.web import Call, route

if TYPE_CHECKING:
    from chalicelib.services import accounts, admin
else:  # imported on first use (runtime.py: late imports)
    accounts = lazy.module("chalicelib.services.accounts")
    admin = lazy.module("chalicelib.services.admin")

bp = Blueprint(__name__)
STAFF = (OPERATORS,)


@route(
    bp,
    "/me/roles",
    method="POST",
    summary="Take a role (customer or provider); then refresh the token",
    body=RoleIn,
    response=RolesOut,
    errors=(503,),
    calls=4,
)
def post_role(call: Call) -> RolesOut:
    return accounts.add_role(call.principal, call.body)


@route(
    bp,
    "/admin/providers",
    method="GET",
    summary="Provider verifications waiting, oldest first",
    query=ApprovalsQuery,
    response=Page[ApprovalOut],
    roles=STAFF,
    calls=1,
)
def admin_providers(call: Call) -> Page[ApprovalOut]:
    return admin.providers(call.query)


@route(
    bp,
    "/admin/providers/{user_id}/approve",
    method="POST",
    summary="Approve a provider",
    body=DecisionIn,
    response=ApprovalOut,
    roles=STAFF,
    errors=(404,),
    calls=3,
)
def admin_approve(call: Call) -> ApprovalOut:
    return admin.decide_provider(call.principal, call.params["user_id"], True, call.body)


@route(
    bp,
    "/admin/providers/{user_id}/reject",
    method="POST",
    summary="Reject a provider (it goes offline)",
    body=DecisionIn,
    response=ApprovalOut,
    roles=STAFF,
    errors=(404,),
    calls=5,
)
def admin_reject(call: Call) -> ApprovalOut:
    return admin.decide_provider(call.principal, call.params["user_id"], False, call.body)


@route(
    bp,
    "/admin/users",
    method="GET",
    summary="Accounts whose email starts so",
    query=UsersQuery,
    response=Page[AdminUser],
    roles=STAFF,
    calls=1,
)
def admin_users(call: Call) -> Page[AdminUser]:
    return Page[AdminUser](items=admin.find_users(call.query.email), cursor=None)


@route(
    bp,
    "/admin/users/{user_id}/suspend",
    method="POST",
    summary="Suspend an account: refused everywhere within 30 s, sockets closed",
    body=DecisionIn,
    roles=STAFF,
    errors=(404,),
    calls=7,
)
def admin_suspend(call: Call) -> dict[str, object]:
    return admin.suspend(call.principal, call.params["user_id"], call.body)


@route(
    bp,
    "/admin/users/{user_id}/restore",
    method="POST",
    summary="Restore a suspended account",
    body=DecisionIn,
    roles=STAFF,
    errors=(404,),
    calls=4,
)
def admin_restore(call: Call) -> dict[str, object]:
    return admin.restore(call.principal, call.params["user_id"], call.body)


@route(
    bp,
    "/admin/categories/{category_id}",
    method="PUT",
    summary="Create or change a service category",
    body=CategoryIn,
    response=Category,
    roles=STAFF,
    calls=3,
)
def admin_category(call: Call) -> Category:
    return admin.put_category(call.principal, call.params["category_id"], call.body)


@route(
    bp,
    "/admin/announcements",
    method="POST",
    summary="Announce to all, customers or providers",
    body=AnnouncementIn,
    response=AnnouncementOut,
    status=202,
    roles=STAFF,
    errors=(503,),
    calls=2,
)
def admin_announce(call: Call) -> AnnouncementOut:
    return admin.announce(call.principal, call.body)


@route(
    bp,
    "/admin/audit",
    method="GET",
    summary="The operators' actions of a month, newest first",
    query=AuditQuery,
    response=Page[AuditEntry],
    roles=STAFF,
    calls=2,
)
def admin_audit(call: Call) -> Page[AuditEntry]:
    return admin.audit(call.query)
