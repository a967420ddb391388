"""Accounts (roles) and the operators' routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from chalicelib.schemas.common import Model, PageQuery, Strict

Verification = Literal["pending", "approved", "rejected"]


class RoleIn(Strict):
    role: Literal["customer", "provider"]


class RolesOut(Model):
    roles: list[str] = Field(description="The account's groups now")
    provider_verification: Verification | None = Field(
        default=None, description="Set when the role is provider: approved, or pending review"
    )
    refresh_token: bool = Field(
        description="True when the role is new: refresh the ID token (REFRESH_TOKEN_AUTH) "
        "to use it; the refreshed token carries the group"
    )


class DecisionIn(Strict):
    reason: str | None = Field(default=None, max_length=500)


class ApprovalOut(Model):
    user_id: str
    email: str | None = None
    status: Verification
    reason: str | None = None
    requested_at: str
    decided_by: str | None = None


class ApprovalsQuery(PageQuery):
    status: Literal["pending"] = "pending"


class UsersQuery(Strict):
    email: str = Field(min_length=1, max_length=254, description="An email or its beginning")


class AdminUser(Model):
    id: str
    email: str
    enabled: bool
    status: str
    suspended: bool
    roles: list[str]


class AuditQuery(PageQuery):
    month: str | None = Field(
        default=None, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (default: this month)"
    )


class AuditEntry(Model):
    at: str
    actor_id: str
    action: str
    target: str
    detail: dict[str, Any] | None = None


class CategoryIn(Strict):
    name: str = Field(min_length=1, max_length=80)
    icon: str | None = Field(default=None, max_length=40)


class AnnouncementIn(Strict):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=1000)
    audience: Literal["all", "customers", "providers"] = "all"


class AnnouncementOut(Model):
    message_id: str
    audience: str
