"""The route deleting an account (``DELETE /me``); the erasure itself runs in the
scheduled handler (``services/erasure.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib import lazy
from chalicelib.schemas.erasure import ErasureOut
from chalicelib.web import Call, route

if TYPE_CHECKING:
    from chalicelib.services import erasure
else:  # imported on first use (runtime.py: late imports)
    erasure = lazy.module("chalicelib.services.erasure")

bp = Blueprint(__name__)


@route(bp, "DELETE /me", status=202, errors=(409,), calls=7, deleting=True)
def delete_me(call: Call) -> ErasureOut:
    """Delete my account: sign-in disabled and sockets closed at once, everything personal erased
    within minutes (409 while a job is under way)."""
    return erasure.start(call.principal)
