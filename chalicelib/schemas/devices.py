"""Push devices."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from chalicelib.schemas.common import Model, Strict

Platform = Literal["apns", "apns_sandbox", "fcm"]
_APNS = re.compile(r"^[0-9a-fA-F]{64,200}$")
_FCM = re.compile(r"^[A-Za-z0-9_:\-.]{20,4096}$")


class DeviceIn(Strict):
    platform: Platform = Field(
        description="apns (App Store/TestFlight builds), apns_sandbox (development builds), fcm"
    )
    token: str = Field(
        min_length=20,
        max_length=4096,
        description="The APNs device token (hex) or the FCM registration token",
    )

    @model_validator(mode="after")
    def _token_shape(self) -> DeviceIn:
        if self.platform == "fcm":
            if not _FCM.match(self.token):
                raise ValueError("token: an FCM registration token has no spaces or symbols")
        elif not _APNS.match(self.token):
            raise ValueError("token: an APNs device token is 64+ hex digits")
        return self


class DeviceOut(Model):
    id: str
    platform: Platform
    created_at: str | None = None
