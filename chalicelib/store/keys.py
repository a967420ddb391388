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


# --- devices and media (store/devices.py, store/media.py) --------------------------------
DEVICE_SHARDS = 16
"""Devices are also indexed in ``DEVICES#00``..``DEVICES#15`` (gsi1) so announcements can
enumerate every device owner with 16 Queries, never a Scan, and no hot partition."""
TOKEN = "TOKEN"


def device(device_id: str) -> str:
    return f"DEVICE#{device_id}"


def device_token(platform: str, token_sha256: str) -> str:
    return f"TOKEN#{platform}#{token_sha256}"


def device_shard(shard: int) -> str:
    return f"DEVICES#{shard:02d}"


def device_owner_sort(user_id: str, device_id: str) -> str:
    return f"{user_id}#{device_id}"


def media(media_id: str) -> str:
    return f"MEDIA#{media_id}"


def media_viewer(user_id: str) -> str:
    return f"VIEWER#{user_id}"


def announcement(message_id: str) -> str:
    return f"ANNOUNCEMENT#{message_id}"


# --- real time (store/realtime.py) -------------------------------------------------------
SOCKETS = "SOCKETS"
LOCATION = "LOCATION"
CONNECTION_SHARDS = 16
"""Connection records are also indexed in ``CONNS#00``..``CONNS#15`` (gsi1), so a broadcast
(announcements) reaches every live socket with 16 Queries, never a Scan."""


def connection(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def connection_shard(shard: int) -> str:
    return f"CONNS#{shard:02d}"


def message(seq: int) -> str:
    """Messages sort by their per-conversation sequence number (zero-padded)."""
    return f"MSG#{seq:012d}"


MESSAGE_PREFIX = "MSG#"


def client_message(sender_id: str, client_msg_id: str) -> str:
    """The dedupe record of a ``client_msg_id`` (per sender, in the conversation)."""
    return f"CMID#{sender_id}#{client_msg_id}"


def job_location(job_id: str) -> tuple[str, str]:
    """The last live position of a job's provider (kept beside the job's own items)."""
    return f"JOB#{job_id}", LOCATION
