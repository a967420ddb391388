"""Routes of accounts (roles) and of the operators' tools (``/admin``, operators only).
Each view parses, calls one service function and returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import lazy, runtime
from chalicelib.auth import OPERATORS
from chalicelib.schemas.accounts import (
    AdminUser,
    AnnouncementIn,
    AnnouncementOut,
    ApprovalOut,
    ApprovalsQuery,
    AuditEntry,
    AuditQuery,
    BlockOut,
    CategoryIn,
    DecisionIn,
    MapOut,
    MapQuery,
    MetricsOut,
    ReportIn,
    ReportOut,
    ResolveIn,
    RoleIn,
    RolesOut,
    UsersQuery,
    WordsIn,
    WordsOut,
)
from chalicelib.schemas.common import Page, PageQuery
from chalicelib.schemas.profiles import Category
from chalicelib.web import Call, Reply, route

if TYPE_CHECKING:
    from chalicelib.services import accounts, admin, blocks, live_figures, reports
else:  # imported on first use (runtime.py: late imports)
    live_figures = lazy.module("chalicelib.services.live_figures")
    reports = lazy.module("chalicelib.services.reports")
    accounts = lazy.module("chalicelib.services.accounts")
    blocks = lazy.module("chalicelib.services.blocks")
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
    "/auth/config",
    method="GET",
    summary="The user pool serving this region: sign in here (after a 401 for a token of "
    "another pool, read it again)",
    auth=False,
    calls=0,
)
def get_auth_config(call: Call) -> dict[str, str]:
    settings = runtime.settings()
    return {
        "region": settings.region,
        "user_pool_id": settings.user_pool_id,
        "user_pool_client_id": settings.user_pool_client_id,
    }


@route(
    bp,
    "/me/blocks",
    method="GET",
    summary="Whom I blocked, newest first",
    query=PageQuery,
    response=Page[BlockOut],
    calls=1,
)
def get_blocks(call: Call) -> Page[BlockOut]:
    return blocks.list_blocked(call.principal, call.query)


@route(
    bp,
    "/me/blocks/{user_id}",
    method="PUT",
    summary="Block a user: no matching, offers, chat or push between us (they are not told)",
    response=BlockOut,
    calls=2,
)
def put_block(call: Call) -> BlockOut:
    return blocks.block(call.principal, call.params["user_id"])


@route(
    bp,
    "/me/blocks/{user_id}",
    method="DELETE",
    summary="Unblock a user",
    status=204,
    errors=(400,),
    calls=1,
)
def delete_block(call: Call) -> Reply:
    blocks.unblock(call.principal, call.params["user_id"])
    return Reply(status=204)


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


@route(
    bp,
    "/reports",
    method="POST",
    summary="Report a user, message, review, media or request (404 for what you cannot see)",
    body=ReportIn,
    response=ReportOut,
    status=201,
    errors=(404,),
    calls=3,
)
def post_report(call: Call) -> ReportOut:
    return reports.report(call.principal, call.body)


@route(
    bp,
    "/admin/reports",
    method="GET",
    summary="Open reports, oldest first",
    query=PageQuery,
    response=Page[ReportOut],
    roles=STAFF,
    calls=1,
)
def admin_reports(call: Call) -> Page[ReportOut]:
    return reports.queue(call.query)


@route(
    bp,
    "/admin/reports/{report_id}/resolve",
    method="POST",
    summary="Resolve a report: dismiss, remove_content or suspend_user",
    body=ResolveIn,
    response=ReportOut,
    roles=STAFF,
    errors=(404, 409),
    calls=10,
)
def admin_resolve(call: Call) -> ReportOut:
    return reports.resolve(call.principal, call.params["report_id"], call.body)


@route(
    bp,
    "/admin/words",
    method="PUT",
    summary="Change the objectionable-words list: add, allow or drop words",
    body=WordsIn,
    response=WordsOut,
    roles=STAFF,
    calls=3,
)
def admin_words(call: Call) -> WordsOut:
    return admin.change_words(call.principal, call.body)


@route(
    bp,
    "/admin/metrics",
    method="GET",
    summary="Live figures: providers online, open requests, jobs today, median time to accept",
    response=MetricsOut,
    roles=STAFF,
    calls=1,
)
def admin_metrics(call: Call) -> MetricsOut:
    return live_figures.figures()


@route(
    bp,
    "/admin/map",
    method="GET",
    summary="Providers online and open requests within 20 km of the city's centre",
    query=MapQuery,
    response=MapOut,
    roles=STAFF,
    calls=10,
)
def admin_map(call: Call) -> MapOut:
    return live_figures.city_map(call.query)
