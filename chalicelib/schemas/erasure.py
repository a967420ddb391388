"""Account deletion (``DELETE /me``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Model


class ErasureOut(Model):
    status: Literal["pending", "deleted"] = Field(
        description="pending: sign-in is disabled and the erasure runs (within a few "
        "minutes); deleted: it is over"
    )
