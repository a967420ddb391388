"""One test per user journey, two browser contexts for two users, web-first assertions
(wait for what a person sees; no sleeps)."""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.harness import Stack
from tests.web.conftest import shot

pytestmark = [pytest.mark.web, pytest.mark.timeout(180)]

CUSTOMER = "customer@summon.local"
PROVIDER = "provider@summon.local"
PROVIDER2 = "provider2@summon.local"


def ask(page: Any, text: str, *, quote: bool = False) -> None:
    page.get_by_label("Description").fill(text)
    if quote:
        page.get_by_label("Get quotes").check()
    page.get_by_role("button", name="Ask").click()
    expect(page.get_by_test_id("request-status")).to_have_text("open")


def offer(page: Any, text: str) -> Any:
    card = page.get_by_test_id("offer").filter(has_text=text)
    expect(card).to_be_visible()
    return card


def test_instant_job_end_to_end(open_page: Any) -> None:
    customer = open_page(CUSTOMER)
    provider = open_page(PROVIDER)
    text = f"The kitchen tap drips {uuid.uuid4().hex[:6]}"
    shot(customer, "customer-ask")
    ask(customer, text)

    card = offer(provider, text)  # live, over the socket
    expect(card.get_by_test_id("countdown")).to_have_text(re.compile(r"\d+:\d\d left"))
    shot(provider, "provider-offer")
    card.get_by_role("button", name="Accept").click()
    expect(provider.get_by_test_id("job-state")).to_have_text("accepted")
    expect(customer.get_by_test_id("job-state")).to_have_text("accepted")

    # Chat both ways, typing and a read receipt.
    customer.get_by_label("Message").fill("Hi! Can you come this afternoon?")
    customer.get_by_role("button", name="Send").click()
    expect(provider.locator(".messages")).to_contain_text("Can you come this afternoon?")
    expect(customer.get_by_test_id("receipt")).to_have_text("Read")
    provider.get_by_label("Message").press_sequentially("On my")
    expect(customer.get_by_text("typing…")).to_be_visible()
    provider.get_by_label("Message").fill("On my way: 20 minutes.")
    provider.get_by_role("button", name="Send").click()
    expect(customer.locator(".messages")).to_contain_text("On my way: 20 minutes.")
    expect(provider.get_by_test_id("receipt")).to_have_text("Read")
    shot(customer, "chat")

    # The provider sets off and drives; the customer sees the position move.
    provider.get_by_role("button", name="On my way").click()
    expect(customer.get_by_test_id("job-state")).to_have_text("en_route")
    provider.get_by_role("button", name="Simulate drive").click()
    where = customer.get_by_test_id("live-location")
    expect(where).to_be_visible()
    first = where.inner_text()
    expect(where).not_to_have_text(first)  # a later frame, another place
    shot(customer, "customer-tracking")
    shot(provider, "provider-job")

    for step, state in (("Arrived", "arrived"), ("Start work", "in_progress")):
        provider.get_by_role("button", name=step).click()
        expect(customer.get_by_test_id("job-state")).to_have_text(state)
    customer.get_by_role("button", name="Complete").click()
    expect(provider.get_by_test_id("job-state")).to_have_text("completed")

    for page, words in ((customer, "Quick and tidy"), (provider, "Friendly customer")):
        form = page.get_by_role("form", name="Review")
        form.get_by_label("Review").fill(words)
        form.get_by_role("button", name="Send review").click()
        expect(page.get_by_test_id("reviewed")).to_be_visible()
    shot(customer, "customer-reviewed")


def test_quote_job(open_page: Any) -> None:
    customer = open_page(CUSTOMER)
    provider = open_page(PROVIDER2)
    text = f"Paint the living room {uuid.uuid4().hex[:6]}"
    ask(customer, text, quote=True)

    card = offer(provider, text)
    form = card.get_by_role("form", name="Quote")
    form.get_by_label("Price (EUR)").fill("120.50")
    form.get_by_label("ETA (minutes)").fill("45")
    form.get_by_label("Note").fill("Two coats")
    form.get_by_role("button", name="Send quote").click()
    expect(card.get_by_test_id("quoted")).to_be_visible()

    quote = customer.get_by_test_id("quote").filter(has_text="Two coats")
    expect(quote).to_contain_text("120.50 EUR")
    shot(customer, "customer-quotes")
    quote.get_by_role("button", name="Accept quote").click()
    expect(customer.get_by_test_id("job-state")).to_have_text("accepted")
    expect(provider.get_by_test_id("job-state")).to_have_text("accepted")
    customer.get_by_role("button", name="Cancel job").click()
    expect(provider.get_by_test_id("job-state")).to_have_text("cancelled")


def test_sign_up_and_choose_a_role(open_page: Any) -> None:
    page = open_page(None)
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_role("button", name="New here? Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Summon-test-2026")
    page.get_by_role("button", name="Create account").click()
    page.get_by_label("Confirmation code").fill("123456")
    page.get_by_role("button", name="Confirm").click()
    shot(page, "choose-role")
    page.get_by_role("button", name="Account").click()  # deletion is there before any role
    expect(page.get_by_role("button", name="Delete my account")).to_be_visible()
    page.get_by_role("button", name="Get started").click()
    page.get_by_role("button", name="I need services").click()
    expect(page.get_by_role("form", name="Ask for a service")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_text("live")


def _png(width: int = 64, height: int = 48) -> bytes:
    row = b"\x00" + bytes([15, 118, 110]) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_photo_upload_shows_its_thumbnail(open_page: Any) -> None:
    page = open_page(CUSTOMER)
    page.get_by_label("Photos").set_input_files(
        files=[{"name": "tap.png", "mimeType": "image/png", "buffer": _png()}]
    )
    thumb = page.get_by_role("img", name="Photo thumbnail")
    expect(thumb).to_be_visible(timeout=30_000)
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0
    shot(page, "customer-photo")


def test_reconnect_catches_up(open_page: Any, stack: Stack) -> None:
    customer = open_page(CUSTOMER)
    provider = open_page(PROVIDER)
    text = f"Fix the door {uuid.uuid4().hex[:6]}"
    ask(customer, text)
    offer(provider, text).get_by_role("button", name="Accept").click()
    expect(customer.get_by_test_id("job-state")).to_have_text("accepted")

    customer.evaluate("window.summonLive.pause()")  # the phone loses its network
    expect(customer.get_by_test_id("connection")).to_have_text("offline")
    provider.get_by_label("Message").fill("Leaving now")
    provider.get_by_role("button", name="Send").click()
    expect(provider.get_by_test_id("receipt")).to_have_text("Sent")
    provider.get_by_role("button", name="On my way").click()
    expect(provider.get_by_test_id("job-state")).to_have_text("en_route")
    expect(customer.get_by_test_id("job-state")).to_have_text("accepted")  # still away

    customer.evaluate("window.summonLive.resume()")
    expect(customer.get_by_test_id("connection")).to_have_text("live")
    expect(customer.locator(".messages")).to_contain_text("Leaving now")
    expect(customer.get_by_test_id("job-state")).to_have_text("en_route")
    expect(customer.get_by_test_id("notice")).to_contain_text("caught up 1 message")
    expect(customer.get_by_test_id("notice")).to_contain_text("event")
    shot(customer, "customer-reconnected")
    customer.get_by_role("button", name="Cancel job").click()
    expect(provider.get_by_test_id("job-state")).to_have_text("cancelled")
