"""Uploads and media (limits per purpose: :mod:`chalicelib.domain.media`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Model, Strict

Purpose = Literal["avatar", "request_photo", "chat_image", "document"]
MediaStatus = Literal["pending", "ready", "rejected"]


class UploadIn(Strict):
    purpose: Purpose = Field(
        description="avatar, request_photo, chat_image (JPEG/PNG/WebP; 5, 10, 10 MiB) or "
        "document (PDF, 20 MiB)"
    )
    content_type: str = Field(max_length=100, description="The file's MIME type, e.g. image/png")
    size_bytes: int = Field(ge=1, description="The file's exact size in bytes")


class UploadOut(Model):
    """POST ``url`` as multipart/form-data with every entry of ``fields`` and then the file
    as the field ``file`` (last). The media then goes ``pending`` → ``ready`` or
    ``rejected``; the uploader gets ``media.ready`` either way."""

    id: str
    url: str
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class MediaOut(Model):
    id: str
    purpose: Purpose
    content_type: str
    status: MediaStatus
    reason: str | None = Field(default=None, description="Why it was rejected")
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = Field(default=None, description="Time-limited read URL (ready only)")
    thumbnail_url: str | None = Field(default=None, description="Images only, when ready")
    urls_expire_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
