"""What each side keeps after a quote or a job ends (issue 12, docs/realtime.md)."""

from __future__ import annotations

import pytest

from chalicelib import runtime
from chalicelib.schemas.realtime import LocationFrame
from chalicelib.services import live
from tests.api.test_marketplace import become_provider, matched_job, request_body, walk
from tests.api.test_realtime import FakeSender

pytestmark = pytest.mark.api


@pytest.fixture(autouse=True)
def _quiet(aws):
    runtime.settings()
    runtime.use(sender=FakeSender())


def say(api, cid: str, text: str, n: int):
    body = {"client_msg_id": f"m-{n}", "text": text}
    return api.call("POST", f"/conversations/{cid}/messages", body)


def test_a_declined_quotes_conversation_is_read_only_for_both_sides(as_user):
    chosen = become_provider(as_user(("providers",)))
    declined = become_provider(as_user(("providers",)), where={"lat": 38.71, "lng": -9.12})
    customer = as_user(("customers",))
    rid = customer.call("POST", "/requests", request_body(mode="quote")).json_body["id"]
    quote = {"price": {"amount": "40", "currency": "EUR"}, "eta_minutes": 30}
    q1 = chosen.call("POST", f"/requests/{rid}/quotes", quote).json_body
    q2 = declined.call("POST", f"/requests/{rid}/quotes", quote).json_body
    assert say(declined, q2["conversation_id"], "before", 1).status_code == 201
    accepted = customer.call("POST", f"/quotes/{q1['id']}/accept")
    assert accepted.status_code in (200, 201), accepted.json_body

    for n, who in enumerate((declined, customer)):
        late = say(who, q2["conversation_id"], "still there?", 10 + n)
        assert late.status_code == 409, late.json_body
        assert "read-only" in late.json_body["detail"]
    history = declined.call("GET", f"/conversations/{q2['conversation_id']}/messages")
    assert [m["text"] for m in history.json_body["items"]] == ["before"]  # kept, readable
    for n, who in enumerate((chosen, customer, chosen)):  # the accepted one is the job's
        assert say(who, q1["conversation_id"], "on my way", 20 + n).status_code == 201


def test_the_providers_position_is_not_shown_once_the_job_ended(as_user):
    customer, provider, job = matched_job(as_user)
    jid = job["id"]
    walk(provider, jid, "en_route")
    frame = LocationFrame(action="location.update", job_id=jid, lat=38.72, lng=-9.14)
    live.update_location(provider.user_id, frame)
    assert customer.call("GET", f"/jobs/{jid}/location").status_code == 200
    walk(provider, jid, "arrived", "in_progress", "completed")
    for who in (customer, provider):
        ended = who.call("GET", f"/jobs/{jid}/location")
        assert ended.status_code == 404
        assert "ended" in ended.json_body["detail"]
