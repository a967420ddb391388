"""Routes and handlers of the media capability (see the README's route table)."""

from __future__ import annotations

from chalice.app import Blueprint

bp = Blueprint(__name__)
