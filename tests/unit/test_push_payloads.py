"""Push payloads: each platform's real format, collapse keys, which events push at all."""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.sns import Notification, message_for
from chalicelib.services.events import Event
from chalicelib.services.push import PUSH_TYPES, notification_for

pytestmark = pytest.mark.unit


def _event(type_: str, data: dict) -> Event:
    return Event(type=type_, recipients=("u1",), data=data)


def test_apns_message_has_aps_alert_sound_badge_and_custom_data():
    n = Notification(
        title="New job offer",
        body="Leaking tap",
        type="offer.new",
        data={"offer_id": "O1", "event_id": "E1"},
        collapse_key="offer:O1",
        badge=3,
    )
    message, attributes = message_for("apns", n)
    outer = json.loads(message)
    assert set(outer) == {"default", "APNS"}
    payload = json.loads(outer["APNS"])
    assert payload["aps"]["alert"] == {"title": "New job offer", "body": "Leaking tap"}
    assert payload["aps"]["sound"] == "default"
    assert payload["aps"]["badge"] == 3
    assert payload["type"] == "offer.new"
    assert payload["offer_id"] == "O1"
    assert attributes["AWS.SNS.MOBILE.APNS.COLLAPSE_ID"]["StringValue"] == "offer:O1"
    assert attributes["AWS.SNS.MOBILE.APNS.PUSH_TYPE"]["StringValue"] == "alert"


def test_apns_sandbox_uses_its_own_key():
    message, _ = message_for("apns_sandbox", Notification(title="t", body="b", type="x"))
    assert set(json.loads(message)) == {"default", "APNS_SANDBOX"}


def test_fcm_message_is_the_v1_shape_with_string_data_and_collapse_key():
    n = Notification(
        title="Your job",
        body="Your provider is on the way.",
        type="job.updated",
        data={"job_id": "J1", "seq": "4"},
        collapse_key="job:J1",
    )
    message, attributes = message_for("fcm", n)
    outer = json.loads(message)
    assert set(outer) == {"default", "GCM"}
    fcm = json.loads(outer["GCM"])["fcmV1Message"]["message"]
    assert fcm["notification"] == {"title": "Your job", "body": "Your provider is on the way."}
    assert fcm["data"] == {"type": "job.updated", "job_id": "J1", "seq": "4"}
    assert all(isinstance(v, str) for v in fcm["data"].values())
    assert fcm["android"]["collapse_key"] == "job:J1"
    assert fcm["android"]["priority"] == "high"
    assert attributes == {}


def test_long_texts_are_clipped_so_the_payload_stays_small():
    n = Notification(title="T" * 500, body="word " * 2000, type="chat.message")
    message, _ = message_for("apns", n)
    alert = json.loads(json.loads(message)["APNS"])["aps"]["alert"]
    assert len(alert["title"]) <= 80 and len(alert["body"]) <= 180
    assert alert["body"].endswith("…")
    assert len(message.encode()) < 4096


def test_only_important_types_become_a_push():
    assert notification_for(_event("chat.typing", {})) is None
    assert notification_for(_event("settings.updated", {})) is None
    assert notification_for(_event("media.ready", {"id": "M"})) is None
    for t in ("offer.new", "request.updated", "chat.message", "job.updated", "announcement"):
        assert t in PUSH_TYPES
        assert notification_for(_event(t, {"id": "X1", "status": "accepted"})) is not None


def test_chat_message_collapses_per_conversation_and_shows_the_text():
    n = notification_for(
        _event("chat.message", {"conversation_id": "C1", "seq": 7, "text": "On my way!"})
    )
    assert n is not None
    assert n.body == "On my way!"
    assert n.collapse_key == "chat:C1"
    assert n.data["conversation_id"] == "C1" and n.data["seq"] == "7"
    photo = notification_for(_event("chat.message", {"conversation_id": "C1", "media_id": "M"}))
    assert photo is not None and "Photo" in photo.body


def test_job_and_request_updates_say_what_happened():
    job = notification_for(_event("job.updated", {"job": {"id": "J9", "status": "en_route"}}))
    assert job is not None
    assert job.body == "Your provider is on the way."
    assert job.collapse_key == "job:J9"
    req = notification_for(_event("request.updated", {"id": "R1", "status": "expired"}))
    assert req is not None and "Nobody was available" in req.body


def test_offer_names_the_category_and_the_job():
    n = notification_for(
        _event(
            "offer.new",
            {"offer_id": "O7", "request": {"category": "plumbing", "description": "Sink"}},
        )
    )
    assert n is not None
    assert n.title == "New job offer: plumbing"
    assert n.body == "Sink"
    assert n.data["offer_id"] == "O7"
    assert n.collapse_key == "offer:O7"


def test_marketplace_shapes_offer_quote_and_job():
    offer = notification_for(
        _event(
            "offer.new",
            {
                "id": "O2",
                "request_id": "R2",
                "category": "cleaning",
                "description": "Flat",
                "distance_km": 2.345,
            },
        )
    )
    assert offer is not None
    assert (offer.title, offer.body) == ("New job offer: cleaning", "Flat · 2.3 km away")
    assert offer.data["id"] == "O2" and offer.data["request_id"] == "R2"
    quote = notification_for(
        _event("quote.new", {"id": "Q1", "price": {"amount": "45.00", "currency": "EUR"}})
    )
    assert quote is not None and quote.body == "A provider quoted 45.00 EUR."
    job = notification_for(_event("job.updated", {"id": "J1", "state": "arrived"}))
    assert job is not None and job.body == "Your provider has arrived."


def test_announcement_uses_its_title_and_body():
    n = notification_for(
        _event("announcement", {"id": "A1", "title": "Maintenance", "body": "Tonight 2-3am"})
    )
    assert n is not None
    assert (n.title, n.body, n.collapse_key) == ("Maintenance", "Tonight 2-3am", "announcement:A1")


def test_a_ready_export_pushes_without_its_url_and_opens_the_export():
    data = {"id": "01J0000000000000000000000X", "status": "ready", "url": None}
    n = notification_for(_event("export.ready", data))
    assert n is not None
    assert n.title == "Your data export is ready"
    assert n.collapse_key == "export:01J0000000000000000000000X"
    assert n.data["id"] == "01J0000000000000000000000X" and n.data["status"] == "ready"
    assert "url" not in n.data
