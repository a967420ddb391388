"""What a data export's archive holds, file by file: the user's own data in order, without
keys, index attributes or anything private of someone else or of the staff."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.domain.exports import Gathered, clean, documents, file_name, media_files

pytestmark = pytest.mark.unit

UID = "u-carla"
OTHER = "u-paulo"


def keyed(kind: str, pk: str, sk: str, **fields: Any) -> dict[str, Any]:
    """An item as DynamoDB holds it: keys, index attributes and bookkeeping included."""
    return {
        "pk": pk,
        "sk": sk,
        "kind": kind,
        "gsi1pk": "G1",
        "gsi1sk": "g1",
        "ttl": 99,
        "version": 3,
        **fields,
    }


def mine(kind: str, sk: str, **fields: Any) -> dict[str, Any]:
    return keyed(kind, f"USER#{UID}", sk, **fields)


def gathered(**overrides: Any) -> Gathered:
    own = [
        mine("user", "PROFILE", user_id=UID, email="carla@example.com", name="Carla"),
        mine("settings", "SETTINGS", data={"locale": "pt-PT"}, updated_at="2026-01-02T00:00:00Z"),
        mine(
            "device",
            "DEVICE#d2",
            device_id="d2",
            platform="fcm",
            created_at="2026-01-05T00:00:00Z",
            endpoint_arn="arn:aws:sns:endpoint/d2",
            token_sha256="ab12",
            user_id=UID,
        ),
        mine("device", "DEVICE#d1", device_id="d1", platform="apns", created_at="2026-01-04"),
        mine(
            "sockets",
            "SOCKETS",
            conns=[
                "c1 1767225600 https://ws.example.com/prod",
                "broken",
                "c2 soon https://ws.example.com/prod",
                "c3 1767229200 https://ws.example.com/prod",
            ],
        ),
        mine("conversation_member", "CONV#cv1", conversation_id="cv1", last_read_seq=2),
        mine("job_member", "JOB#j1", job_id="j1", role="customer"),
        mine("job_member", "JOB#j2", job_id="j2", role="provider"),
        mine("offer", "OFFER#o2", request_id="r9", created_at="2026-02-02"),
        mine("offer", "OFFER#o1", request_id="r8", created_at="2026-02-01"),
        mine("quote", "QUOTE#q1", quote_id="q1", created_at="2026-02-03"),
        mine("quote", "QUOTE#q0", quote_id="q0", created_at="2026-02-01"),
        mine("block", "BLOCK#u-bruno", other_id="u-bruno", created_at="2026-03-01"),
        mine("block", "BLOCK#u-ana", other_id="u-ana", created_at="2026-02-28"),
        mine("block", "BLOCKEDBY#u-rita", other_id="u-rita", created_at="2026-03-02"),
        mine("notification", "N#2", event_id="e2", type="job.updated", at="2026-03-05"),
        mine("notification", "N#1", event_id="e1", type="quote.new", at="2026-03-05"),
        mine("notification", "N#9", event_id="e9", type="job.updated", at="2026-03-04"),
        mine(
            "export",
            "EXPORT#x1",
            export_id="x1",
            status="ready",
            created_at="2026-03-09",
            user_id=UID,
            key="exports/u-carla/x1.zip",
            started_ms=1,
        ),
        mine("export", "EXPORT#x0", export_id="x0", status="ready", created_at="2026-03-08"),
    ]
    requests = [
        keyed(
            "request",
            "REQ#r2",
            "REQUEST",
            request_id="r2",
            created_at="2026-01-10",
            offers={"p1": {}, "p2": {}},
            quotes={"p1": {}},
        ),
        keyed("request", "REQ#r1", "REQUEST", request_id="r1", created_at="2026-01-10"),
        keyed("request", "REQ#r9", "REQUEST", request_id="r9", created_at="2026-01-09"),
    ]
    jobs = [
        keyed(
            "job",
            "JOB#j2",
            "JOB",
            job_id="j2",
            provider_id=UID,
            created_at="2026-01-20",
            customer_review={"rating": 1},
            provider_review={"rating": 2},
        ),
        keyed("job", "JOB#j1", "JOB", job_id="j1", provider_id=OTHER, created_at="2026-01-20"),
        keyed("job", "JOB#j9", "JOB", job_id="j9", provider_id=OTHER, created_at="2026-01-19"),
        keyed("job_location", "JOB#j2", "LOC", job_id="j2", lat=38.7, lng=-9.1),
        keyed("job_location", "JOB#j1", "LOC", job_id="j1", lat=41.1, lng=-8.6),
        keyed(
            "review",
            "JOB#j1",
            "REVIEW#a",
            review_id="ra",
            author_id=UID,
            subject_id=OTHER,
            rating=5,
            created_at="2026-01-22",
        ),
        keyed(
            "review",
            "JOB#j1",
            "REVIEW#b",
            review_id="rb",
            author_id=OTHER,
            subject_id=UID,
            rating=4,
            created_at="2026-01-21",
            published_at="2026-01-23",
        ),
        keyed(
            "review",
            "JOB#j2",
            "REVIEW#c",
            review_id="rc",
            author_id=OTHER,
            subject_id=UID,
            rating=1,
            created_at="2026-01-21",
        ),
    ]
    jobs += [
        keyed(
            "review",
            "JOB#j9",
            "REVIEW#d",
            review_id="rd",
            author_id=UID,
            subject_id=OTHER,
            rating=3,
            created_at="2026-01-19",
        ),
        keyed(
            "review",
            "JOB#j9",
            "REVIEW#e",
            review_id="re",
            author_id=OTHER,
            subject_id=UID,
            rating=2,
            created_at="2026-01-24",
            published_at="2026-01-22",
        ),
    ]
    conversations = [
        keyed(
            "conversation",
            "CONV#cv2",
            "CONV",
            created_at="2026-01-21",
            closed_by=OTHER,
            last_message="hi",
        ),
        keyed("conversation", "CONV#cv1", "CONV", created_at="2026-01-20"),
        keyed("message", "CONV#cv1", "MSG#10", conversation_id="cv1", seq=10, text="ten"),
        keyed("message", "CONV#cv1", "MSG#2", conversation_id="cv1", seq=2, text="two"),
        keyed("message", "CONV#cv1", "MSG#1", conversation_id="cv1", seq=1, text="one"),
    ]
    media = [
        keyed(
            "media",
            "MEDIA#mz",
            "MEDIA",
            media_id="mz",
            owner_id=UID,
            status="ready",
            content_type="image/webp",
            created_at="2026-01-02",
        ),
        keyed(
            "media",
            "MEDIA#m2",
            "MEDIA",
            media_id="m2",
            owner_id=UID,
            status="ready",
            content_type="image/png",
            created_at="2026-01-03",
        ),
        keyed(
            "media",
            "MEDIA#m1",
            "MEDIA",
            media_id="m1",
            owner_id=UID,
            status="ready",
            content_type="image/jpeg",
            created_at="2026-01-03",
        ),
        keyed(
            "media",
            "MEDIA#m0",
            "MEDIA",
            media_id="m0",
            owner_id=UID,
            status="pending",
            content_type="image/png",
            created_at="2026-01-01",
        ),
    ]
    grants = [
        keyed(
            "media_viewer",
            "MEDIA#m9",
            f"VIEWER#{UID}",
            ref_type="request",
            ref_id="r7",
            created_at="2026-01-08",
        ),
        keyed(
            "media_viewer",
            "MEDIA#m8",
            f"VIEWER#{UID}",
            ref_type="job",
            ref_id="j1",
            created_at="2026-01-07",
        ),
    ]
    reports = [
        keyed(
            "report",
            "REPORT#rp1",
            "REPORT",
            report_id="rp1",
            reporter_id=UID,
            reason="spam",
            note="operator says: ignore",
            resolved_by="op1",
            created_at="2026-03-03",
        ),
        keyed(
            "report",
            "REPORT#rp0",
            "REPORT",
            report_id="rp0",
            reporter_id=UID,
            reason="fraud",
            created_at="2026-03-02",
        ),
    ]
    values: dict[str, Any] = {
        "user_id": UID,
        "own": own,
        "requests": requests,
        "jobs": jobs,
        "conversations": conversations,
        "media": media,
        "grants": grants,
        "reports": reports,
        "suspended": True,
        **overrides,
    }
    return Gathered(**values)


FILES = [
    "profile.json",
    "provider.json",
    "settings.json",
    "devices.json",
    "requests.json",
    "offers.json",
    "quotes.json",
    "jobs.json",
    "messages.json",
    "reviews.json",
    "media.json",
    "blocks.json",
    "reports.json",
    "feed.json",
    "exports.json",
]


def test_the_archive_has_exactly_the_files_its_readme_lists() -> None:
    from chalicelib.domain.exports import README

    listed = re.findall(r"^(\S+\.json)\s", README, flags=re.MULTILINE)
    assert listed == FILES
    assert list(documents(gathered())) == FILES


def test_clean_drops_keys_index_attributes_and_the_kinds_private_fields() -> None:
    device = mine("device", "DEVICE#d", device_id="d", endpoint_arn="arn", token_sha256="x")
    assert clean(device) == {"device_id": "d"}
    # A field private to one kind is kept in another.
    assert clean(mine("thing", "T", note="kept", endpoint_arn="kept too")) == {
        "endpoint_arn": "kept too",
        "note": "kept",
    }
    assert clean({}) == {}


def test_the_profile_is_the_users_item_with_their_id_and_suspension() -> None:
    docs = documents(gathered())
    assert docs["profile.json"] == {
        "user_id": UID,
        "email": "carla@example.com",
        "name": "Carla",
        "suspended": True,
    }
    # A user whose profile item is gone still gets their id and status.
    bare = documents(gathered(own=[], suspended=False))
    assert bare["profile.json"] == {"user_id": UID, "suspended": False}


def test_provider_and_settings() -> None:
    docs = documents(gathered())
    assert docs["provider.json"] is None
    assert docs["settings.json"] == {
        "settings": {"locale": "pt-PT"},
        "updated_at": "2026-01-02T00:00:00Z",
    }
    provider = mine("provider", "PROVIDER", categories=["plumbing"], kept_apart=[OTHER])
    approval = mine("approval", "APPROVAL", status="approved", decided_by="op1")
    g = gathered()
    g.own += [provider]
    assert documents(g)["provider.json"] == {"categories": ["plumbing"], "verification": None}
    g.own += [approval]
    assert documents(g)["provider.json"] == {
        "categories": ["plumbing"],
        "verification": {"status": "approved"},
    }
    nothing = documents(gathered(own=[]))
    assert nothing["settings.json"] == {"settings": {}, "updated_at": None}


def test_devices_oldest_first_without_push_secrets_and_the_live_connections() -> None:
    docs = documents(gathered())
    assert docs["devices.json"] == {
        "devices": [
            {"device_id": "d1", "platform": "apns", "created_at": "2026-01-04"},
            {"device_id": "d2", "platform": "fcm", "created_at": "2026-01-05T00:00:00Z"},
        ],
        "connections": [
            {"connection_id": "c1", "expires": 1767225600},
            {"connection_id": "c3", "expires": 1767229200},
        ],
    }
    assert documents(gathered(own=[]))["devices.json"] == {"devices": [], "connections": []}


def test_requests_with_the_number_of_offers_and_offers_and_quotes_in_order() -> None:
    docs = documents(gathered())
    assert docs["requests.json"] == [
        {"request_id": "r9", "created_at": "2026-01-09", "offers_made": 0},
        {"request_id": "r1", "created_at": "2026-01-10", "offers_made": 0},
        {"request_id": "r2", "created_at": "2026-01-10", "offers_made": 2},
    ]
    assert [o["request_id"] for o in docs["offers.json"]] == ["r8", "r9"]
    made = [
        {"kind": "quote", "quote_id": "q3", "created_at": "2026-02-05"},
        {"kind": "quote", "quote_id": "q2", "created_at": "2026-02-04"},
    ]
    assert documents(gathered(quotes_made=made))["quotes.json"] == {
        "received": [
            {"quote_id": "q0", "created_at": "2026-02-01"},
            {"quote_id": "q1", "created_at": "2026-02-03"},
        ],
        "made": [
            {"quote_id": "q2", "created_at": "2026-02-04"},
            {"quote_id": "q3", "created_at": "2026-02-05"},
        ],
    }


def test_jobs_with_the_role_and_the_last_position_only_of_jobs_the_user_drove() -> None:
    docs = documents(gathered())
    assert docs["jobs.json"] == [
        {
            "job_id": "j9",
            "provider_id": OTHER,
            "created_at": "2026-01-19",
            "role": None,
            "last_position": None,
        },
        {
            "job_id": "j1",
            "provider_id": OTHER,
            "created_at": "2026-01-20",
            "role": "customer",
            "last_position": None,
        },
        {
            "job_id": "j2",
            "provider_id": UID,
            "created_at": "2026-01-20",
            "role": "provider",
            "last_position": {"job_id": "j2", "lat": 38.7, "lng": -9.1},
        },
    ]
    g = gathered()
    g.jobs = [i for i in g.jobs if i["kind"] != "job_location"]
    assert [j["last_position"] for j in documents(g)["jobs.json"]] == [None, None, None]


def test_reviews_written_and_only_the_published_ones_about_the_user() -> None:
    reviews = documents(gathered())["reviews.json"]
    assert [r["review_id"] for r in reviews["written"]] == ["rd", "ra"]
    assert [r["review_id"] for r in reviews["about_me"]] == ["re", "rb"]
    assert reviews["about_me"][1:] == [
        {
            "review_id": "rb",
            "author_id": OTHER,
            "subject_id": UID,
            "rating": 4,
            "created_at": "2026-01-21",
            "published_at": "2026-01-23",
        }
    ]


def test_conversations_with_the_read_position_and_messages_in_sequence() -> None:
    messages = documents(gathered())["messages.json"]
    assert messages == [
        {
            "conversation_id": "cv1",
            "created_at": "2026-01-20",
            "last_read_seq": 2,
            "messages": [
                {"conversation_id": "cv1", "seq": 1, "text": "one"},
                {"conversation_id": "cv1", "seq": 2, "text": "two"},
                {"conversation_id": "cv1", "seq": 10, "text": "ten"},
            ],
        },
        {"conversation_id": "cv2", "created_at": "2026-01-21", "last_read_seq": 0, "messages": []},
    ]


def test_uploads_name_their_file_when_included_and_shared_media_is_listed() -> None:
    media = documents(gathered(), included=["m1"])["media.json"]
    assert [(m["media_id"], m["file"]) for m in media["uploaded"]] == [
        ("m0", None),
        ("mz", None),
        ("m1", "media/m1.jpg"),
        ("m2", None),
    ]
    assert "owner_id" in media["uploaded"][0] and "pk" not in media["uploaded"][0]
    assert media["shared_with_me"] == [
        {"media_id": "m8", "ref_type": "job", "ref_id": "j1", "created_at": "2026-01-07"},
        {"media_id": "m9", "ref_type": "request", "ref_id": "r7", "created_at": "2026-01-08"},
    ]


def test_only_the_users_ready_uploads_go_into_media_oldest_first() -> None:
    g = gathered()
    g.media.append({"kind": "media", "media_id": "m5", "owner_id": OTHER, "status": "ready"})
    assert [m["media_id"] for m in media_files(g)] == ["mz", "m1", "m2"]


@pytest.mark.parametrize(
    ("content_type", "name"),
    [
        ("image/jpeg", "media/m1.jpg"),
        ("image/png", "media/m1.png"),
        ("image/webp", "media/m1.webp"),
        ("application/pdf", "media/m1.pdf"),
        ("video/mp4", "media/m1"),
        (None, "media/m1"),
    ],
)
def test_an_originals_file_name_has_its_types_extension(content_type: Any, name: str) -> None:
    assert file_name({"media_id": "m1", "content_type": content_type}) == name


def test_blocks_reports_feed_and_exports() -> None:
    docs = documents(gathered())
    assert docs["blocks.json"] == [
        {"user_id": "u-ana", "created_at": "2026-02-28"},
        {"user_id": "u-bruno", "created_at": "2026-03-01"},
    ]
    assert docs["reports.json"] == [
        {"report_id": "rp0", "reason": "fraud", "created_at": "2026-03-02"},
        {"report_id": "rp1", "reason": "spam", "created_at": "2026-03-03"},
    ]
    assert [(n["event_id"], n["type"]) for n in docs["feed.json"]] == [
        ("e9", "job.updated"),
        ("e1", "quote.new"),
        ("e2", "job.updated"),
    ]
    assert docs["exports.json"] == [
        {"export_id": "x0", "status": "ready", "created_at": "2026-03-08"},
        {"export_id": "x1", "status": "ready", "created_at": "2026-03-09"},
    ]
