"""A user's data export (GDPR art. 20): what goes in the archive, file by file. Pure: the
store gathers the user's items (:class:`Gathered`, plain dicts as DynamoDB holds them) and
:func:`documents` shapes them into the archive's JSON files; :data:`README` documents the
layout inside the archive itself (docs/accounts.md repeats it).

Left out on purpose, because they are someone else's or the staff's, never the user's to
take: who blocked the user (the ``BLOCKEDBY`` mirror and other providers' keep-apart
lists: blocking is private), reports others made about the user, a review about the user
that is not published yet (reviews are double-blind until both are in or the window
ends), the ratings inside a job that stand for such reviews, operators' notes and
decisions' authors, push endpoint ARNs and token hashes, and every key and index
attribute."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]

INTERNAL = frozenset(
    {
        "pk",
        "sk",
        "kind",
        "gsi1pk",
        "gsi1sk",
        "gsi2pk",
        "gsi2sk",
        "gsi3pk",
        "gsi3sk",
        "gsi4pk",
        "gsi4sk",
        "lsi1sk",
        "ttl",
        "version",
        "due_at",
    }
)
"""Keys, index attributes and bookkeeping: never in an archive."""

PRIVATE = {
    "provider": frozenset({"kept_apart"}),
    "approval": frozenset({"decided_by"}),
    "device": frozenset({"endpoint_arn", "token_sha256", "user_id"}),
    "request": frozenset({"offers", "quotes"}),
    "job": frozenset({"customer_review", "provider_review"}),
    "conversation": frozenset({"closed_by", "last_sent", "last_message"}),
    "report": frozenset({"reporter_id", "resolved_by", "note"}),
    "export": frozenset({"user_id", "key", "started_ms"}),
}
"""Fields of a kind left out: someone else's (who blocked whom, unpublished ratings),
the staff's, or the system's."""

README = """Your Summon data export
=======================

This archive holds the data Summon keeps about your account, as JSON (UTF-8). Times are
ISO 8601 UTC; ids are the ones the app and the API use.

profile.json    your account: user id, email, name, phone, avatar, roles, suspended
provider.json   your provider profile and its verification (null if you are no provider)
settings.json   your settings
devices.json    your push devices (id, platform, when added) and open connections
requests.json   the requests you made as a customer (with the number of offers made)
offers.json     the offers and quote invitations you received as a provider
quotes.json     quotes you received (as a customer) and made (as a provider)
jobs.json       your jobs, with their history; your own last position for jobs you drove
messages.json   your conversations and every message in them
reviews.json    reviews you wrote, and the published reviews about you
media.json      your uploads (files in media/) and the media others shared with you
blocks.json     the users you blocked
reports.json    the reports you made
feed.json       your notification feed (the last 30 days)
exports.json    your data exports
media/          the original of each of your uploads that is ready (up to a total size;
                media.json says which are not included)

Not included: who blocked or reported you and reviews about you that are not published
yet (they belong to someone else until then), and the operators' internal notes.
"""


@dataclass
class Gathered:
    """Every item about one user, as the store read it."""

    user_id: str
    own: list[Item] = field(default_factory=list)
    """Every item of the user's partition (``USER#<id>``)."""
    requests: list[Item] = field(default_factory=list)
    """Requests the user made as a customer."""
    jobs: list[Item] = field(default_factory=list)
    """The items of the user's jobs' partitions (the job, its reviews, its last position)."""
    conversations: list[Item] = field(default_factory=list)
    """The items of the user's conversations' partitions (the conversation, its messages)."""
    quotes_made: list[Item] = field(default_factory=list)
    """Quotes the user made as a provider (kept in their customers' partitions)."""
    media: list[Item] = field(default_factory=list)
    grants: list[Item] = field(default_factory=list)
    reports: list[Item] = field(default_factory=list)
    suspended: bool = False


def clean(item: Item) -> Item:
    """The item without keys, index attributes and its kind's private fields."""
    hidden = INTERNAL | PRIVATE.get(str(item.get("kind")), frozenset())
    return {k: v for k, v in sorted(item.items()) if k not in hidden}


def _of(items: Iterable[Item], kind: str) -> list[Item]:
    return [i for i in items if i.get("kind") == kind]


def _one(items: Iterable[Item], kind: str) -> Item | None:
    found = _of(items, kind)
    return found[0] if found else None


def _by_time(items: Iterable[Item], *fields: str) -> list[Item]:
    return sorted(items, key=lambda i: tuple(str(i.get(f) or "") for f in fields))


def media_files(g: Gathered) -> list[Item]:
    """The user's uploads whose original goes into ``media/`` (ready ones), oldest first."""
    mine = [m for m in g.media if m.get("owner_id") == g.user_id and m.get("status") == "ready"]
    return _by_time(mine, "created_at", "media_id")


def file_name(media: Item) -> str:
    """Where an upload's original goes in the archive."""
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
    suffix = extension.get(str(media.get("content_type")), "")
    if str(media.get("content_type")) == "application/pdf":
        suffix = ".pdf"
    return f"media/{media['media_id']}{suffix}"


def _conversation(conv: Item, members: dict[str, Item], messages: dict[str, list[Item]]) -> Item:
    """A conversation with the user's read position and every message, in order."""
    conversation_id = str(conv["pk"]).removeprefix("CONV#")
    return {
        **clean(conv),
        "conversation_id": conversation_id,
        "last_read_seq": (members.get(conversation_id) or {}).get("last_read_seq", 0),
        "messages": sorted(messages.get(conversation_id, []), key=lambda m: int(m["seq"])),
    }


def documents(g: Gathered, included: Iterable[str] = ()) -> dict[str, Any]:
    """The archive's JSON files (name → value); ``included``: the media ids whose original
    is in ``media/`` (:func:`file_name`)."""
    uid = g.user_id
    own = g.own
    with_file = set(included)
    profile = clean(_one(own, "user") or {})
    settings = _one(own, "settings")
    provider = _one(own, "provider")
    approval = _one(own, "approval")
    sockets = _one(own, "sockets") or {}
    members = {str(m.get("conversation_id")): m for m in _of(own, "conversation_member")}
    roles = {str(m.get("job_id")): m.get("role") for m in _of(own, "job_member")}
    reviews = _of(g.jobs, "review")
    locations = {str(i.get("job_id")): i for i in _of(g.jobs, "job_location")}
    messages: dict[str, list[Item]] = {}
    for message in _of(g.conversations, "message"):
        messages.setdefault(str(message.get("conversation_id")), []).append(clean(message))
    return {
        "profile.json": {**profile, "user_id": uid, "suspended": g.suspended},
        "provider.json": None
        if provider is None
        else {**clean(provider), "verification": clean(approval) if approval else None},
        "settings.json": {
            "settings": (settings or {}).get("data") or {},
            "updated_at": (settings or {}).get("updated_at"),
        },
        "devices.json": {
            "devices": [clean(d) for d in _by_time(_of(own, "device"), "created_at")],
            "connections": [
                {"connection_id": parts[0], "expires": int(parts[1])}
                for parts in (str(e).split(" ", 2) for e in sockets.get("conns") or ())
                if len(parts) == 3 and parts[1].isdigit()
            ],
        },
        "requests.json": [
            {**clean(r), "offers_made": len(r.get("offers") or {})}
            for r in _by_time(g.requests, "created_at", "request_id")
        ],
        "offers.json": [clean(o) for o in _by_time(_of(own, "offer"), "created_at")],
        "quotes.json": {
            "received": [clean(q) for q in _by_time(_of(own, "quote"), "created_at")],
            "made": [clean(q) for q in _by_time(g.quotes_made, "created_at")],
        },
        "jobs.json": [
            {
                **clean(job),
                "role": roles.get(str(job.get("job_id"))),
                "last_position": clean(locations[str(job["job_id"])])
                if job.get("provider_id") == uid and str(job.get("job_id")) in locations
                else None,
            }
            for job in _by_time(_of(g.jobs, "job"), "created_at", "job_id")
        ],
        "messages.json": [
            _conversation(conv, members, messages)
            for conv in _by_time(_of(g.conversations, "conversation"), "created_at")
        ],
        "reviews.json": {
            "written": [
                clean(r) for r in _by_time(reviews, "created_at") if r.get("author_id") == uid
            ],
            "about_me": [
                clean(r)
                for r in _by_time(reviews, "published_at")
                if r.get("subject_id") == uid and r.get("published_at")
            ],
        },
        "media.json": {
            "uploaded": [
                {
                    **clean(m),
                    "file": file_name(m) if m.get("media_id") in with_file else None,
                }
                for m in _by_time(g.media, "created_at", "media_id")
            ],
            "shared_with_me": [
                {
                    "media_id": str(grant["pk"]).removeprefix("MEDIA#"),
                    "ref_type": grant.get("ref_type"),
                    "ref_id": grant.get("ref_id"),
                    "created_at": grant.get("created_at"),
                }
                for grant in _by_time(g.grants, "created_at")
            ],
        },
        "blocks.json": [
            {"user_id": b.get("other_id"), "created_at": b.get("created_at")}
            for b in _by_time(_of(own, "block"), "created_at")
            if str(b["sk"]).startswith("BLOCK#")
        ],
        "reports.json": [clean(r) for r in _by_time(g.reports, "created_at")],
        "feed.json": [clean(n) for n in _by_time(_of(own, "notification"), "at", "event_id")],
        "exports.json": [clean(e) for e in _by_time(_of(own, "export"), "created_at")],
    }
