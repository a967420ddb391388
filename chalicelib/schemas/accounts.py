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


class BlockOut(Model):
    user_id: str
    blocked_at: str


SubjectType = Literal["user", "message", "review", "media", "request"]


class ReportIn(Strict):
    subject_type: SubjectType
    subject_id: str = Field(
        min_length=1,
        max_length=120,
        description="user: its id; message: <conversation_id>:<seq>; review: <job_id>:<side>; "
        "media and request: their id",
    )
    reason: Literal["spam", "abuse", "inappropriate", "fraud", "other"]
    text: str | None = Field(default=None, max_length=1000)


class ReportOut(Model):
    id: str
    subject_type: SubjectType
    subject_id: str
    reason: str
    text: str | None = None
    status: Literal["open", "resolved"]
    created_at: str
    reporter_id: str | None = Field(default=None, description="Operators only")
    author_id: str | None = Field(default=None, description="Operators only")
    action: str | None = None


class ResolveIn(Strict):
    action: Literal["dismiss", "remove_content", "suspend_user"]
    note: str | None = Field(default=None, max_length=500)


class WordsIn(Strict):
    add: list[str] = Field(default_factory=list, max_length=100)
    allow: list[str] = Field(default_factory=list, max_length=100)
    drop: list[str] = Field(default_factory=list, max_length=100)


class WordsOut(Model):
    added: list[str]
    allowed: list[str]


class MetricsOut(Model):
    """``GET /admin/metrics``: the live figures."""

    at: str = Field(description="When they were read (ISO 8601 UTC)")
    providers_online: int
    open_requests: int
    jobs_today: int = Field(description="Jobs made since 00:00 UTC")
    median_accept_s: float | None = Field(
        description="Median time from request to job today, seconds (interpolated within "
        "its histogram bucket: 5 s wide under 20 s, wider above); null before the first job"
    )


class MapQuery(Strict):
    limit: int = Field(
        default=200, ge=1, le=500, description="At most this many of each kind per band"
    )


class Spot(Model):
    id: str
    lat: float
    lng: float


class MapOut(Model):
    """``GET /admin/map``: providers online and open requests within 20 km of the city."""

    center: Spot
    radius_km: float
    providers: list[Spot]
    requests: list[Spot]
    truncated: bool = Field(description="Some band held more than `limit` of a kind")
