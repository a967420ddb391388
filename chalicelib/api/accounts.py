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


@route(bp, "POST /me/roles", body=RoleIn, calls=4)
def post_role(call: Call) -> RolesOut:
    """Take a role (customer or provider); then refresh the token."""
    return accounts.add_role(call.principal, call.body)


@route(bp, "GET /auth/config", auth=False, calls=0)
def get_auth_config(call: Call) -> dict[str, str]:
    """The user pool serving this region: sign in here (after a 401 for a token of another pool,
    read it again)."""
    settings = runtime.settings()
    return {
        "region": settings.region,
        "user_pool_id": settings.user_pool_id,
        "user_pool_client_id": settings.user_pool_client_id,
    }


@route(bp, "GET /me/blocks", query=PageQuery, calls=1)
def get_blocks(call: Call) -> Page[BlockOut]:
    """Whom I blocked, newest first."""
    return blocks.list_blocked(call.principal, call.query)


@route(bp, "PUT /me/blocks/{user_id}", calls=2)
def put_block(call: Call) -> BlockOut:
    """Block a user: no matching, offers, chat or push between us (they are not told)."""
    return blocks.block(call.principal, call.params["user_id"])


@route(bp, "DELETE /me/blocks/{user_id}", status=204, calls=1)
def delete_block(call: Call) -> Reply[None]:
    """Unblock a user."""
    blocks.unblock(call.principal, call.params["user_id"])
    return Reply(status=204)


@route(bp, "GET /admin/providers", query=ApprovalsQuery, role=OPERATORS, calls=1)
def admin_providers(call: Call) -> Page[ApprovalOut]:
    """Provider verifications waiting, oldest first."""
    return admin.providers(call.query)


@route(bp, "POST /admin/providers/{user_id}/approve", body=DecisionIn, role=OPERATORS, calls=3)
def admin_approve(call: Call) -> ApprovalOut:
    """Approve a provider."""
    return admin.decide_provider(call.principal, call.params["user_id"], True, call.body)


@route(bp, "POST /admin/providers/{user_id}/reject", body=DecisionIn, role=OPERATORS, calls=5)
def admin_reject(call: Call) -> ApprovalOut:
    """Reject a provider (it goes offline)."""
    return admin.decide_provider(call.principal, call.params["user_id"], False, call.body)


@route(bp, "GET /admin/users", query=UsersQuery, role=OPERATORS, calls=1)
def admin_users(call: Call) -> Page[AdminUser]:
    """Accounts whose email starts so."""
    return Page[AdminUser](items=admin.find_users(call.query.email), cursor=None)


@route(bp, "POST /admin/users/{user_id}/suspend", body=DecisionIn, role=OPERATORS, calls=7)
def admin_suspend(call: Call) -> dict[str, object]:
    """Suspend an account: refused everywhere within 30 s, sockets closed."""
    return admin.suspend(call.principal, call.params["user_id"], call.body)


@route(bp, "POST /admin/users/{user_id}/restore", body=DecisionIn, role=OPERATORS, calls=4)
def admin_restore(call: Call) -> dict[str, object]:
    """Restore a suspended account."""
    return admin.restore(call.principal, call.params["user_id"], call.body)


@route(bp, "PUT /admin/categories/{category_id}", body=CategoryIn, role=OPERATORS, calls=3)
def admin_category(call: Call) -> Category:
    """Create or change a service category."""
    return admin.put_category(call.principal, call.params["category_id"], call.body)


@route(bp, "POST /admin/announcements", body=AnnouncementIn, status=202, role=OPERATORS, calls=2)
def admin_announce(call: Call) -> AnnouncementOut:
    """Announce to all, customers or providers."""
    return admin.announce(call.principal, call.body)


@route(bp, "GET /admin/audit", query=AuditQuery, role=OPERATORS, calls=2)
def admin_audit(call: Call) -> Page[AuditEntry]:
    """The operators' actions of a month, newest first."""
    return admin.audit(call.query)


@route(bp, "POST /reports", body=ReportIn, status=201, calls=3)
def post_report(call: Call) -> ReportOut:
    """Report a user, message, review, media or request (404 for what you cannot see)."""
    return reports.report(call.principal, call.body)


@route(bp, "GET /admin/reports", query=PageQuery, role=OPERATORS, calls=1)
def admin_reports(call: Call) -> Page[ReportOut]:
    """Open reports, oldest first."""
    return reports.queue(call.query)


@route(
    bp,
    "POST /admin/reports/{report_id}/resolve",
    body=ResolveIn,
    role=OPERATORS,
    errors=(409,),
    calls=10,
)
def admin_resolve(call: Call) -> ReportOut:
    """Resolve a report: dismiss, remove_content or suspend_user."""
    return reports.resolve(call.principal, call.params["report_id"], call.body)


@route(bp, "PUT /admin/words", body=WordsIn, role=OPERATORS, calls=3)
def admin_words(call: Call) -> WordsOut:
    """Change the objectionable-words list: add, allow or drop words."""
    return admin.change_words(call.principal, call.body)


@route(bp, "GET /admin/metrics", role=OPERATORS, calls=1)
def admin_metrics(call: Call) -> MetricsOut:
    """Live figures: providers online, open requests, jobs today, median time to accept."""
    return live_figures.figures()


@route(bp, "GET /admin/map", query=MapQuery, role=OPERATORS, calls=10)
def admin_map(call: Call) -> MapOut:
    """Providers online and open requests within 20 km of the city's centre."""
    return live_figures.city_map(call.query)
