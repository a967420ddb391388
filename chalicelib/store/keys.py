"""Every key of the main table is built here, and nowhere else."""

from __future__ import annotations

PROFILE = "PROFILE"
SETTINGS = "SETTINGS"
PROVIDER = "PROVIDER"


def user(user_id: str) -> str:
    return f"USER#{user_id}"


def cell(geohash: str) -> str:
    return f"CELL#{geohash}"


CATALOG = ("CATALOG", "CATEGORIES")

# --- conversations (store/conversations.py) ---------------------------------------------
META = "META"


def conversation(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"
