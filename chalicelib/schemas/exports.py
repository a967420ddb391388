"""Data exports: what ``POST /me/exports`` and ``GET /me/exports/{id}`` answer, and the data
of the ``export.ready`` frame."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Model


class ExportOut(Model):
    id: str
    status: Literal["pending", "ready", "failed"] = Field(
        description="pending while the archive is built; failed when the build did not "
        "finish within an hour (start another)"
    )
    created_at: str
    ready_at: str | None = None
    expires_at: str | None = Field(
        default=None, description="When a ready archive is deleted (7 days after it was made)"
    )
    size_bytes: int | None = None
    url: str | None = Field(
        default=None,
        description="When ready: a presigned GET of the zip archive, valid for 15 minutes "
        "(read the export again for a new one)",
    )
    url_expires_at: str | None = None
