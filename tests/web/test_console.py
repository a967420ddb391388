"""The operator console: an operator works the reports queue and watches the live
figures and map."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.harness import Stack
from tests.web.conftest import ask, shot

pytestmark = [pytest.mark.web, pytest.mark.timeout(120)]


def test_operator_resolves_a_report(open_page: Any, stack: Stack) -> None:
    customer = stack.sign_in("customer@summon.local")
    provider = stack.sign_in("provider@summon.local")
    request = ask(stack, customer, "Spam request")
    stack.ok(
        "POST",
        "/reports",
        provider,
        json={"subject_type": "request", "subject_id": request["id"], "reason": "spam"},
    )

    console = open_page("operator@summon.local", "/console/")
    report = console.get_by_test_id("report").filter(has_text=request["id"])
    expect(report).to_be_visible()
    shot(console, "console-reports")
    report.get_by_role("button", name="Dismiss").click()
    expect(console.get_by_test_id("notice")).to_contain_text("Report resolved: dismiss")
    expect(report).to_have_count(0)

    # Upheld: a second report's request is removed for everyone (it is no longer open).
    other = ask(stack, customer, "Abusive words")
    stack.ok(
        "POST",
        "/reports",
        provider,
        json={"subject_type": "request", "subject_id": other["id"], "reason": "abuse"},
    )
    console.reload()
    upheld = console.get_by_test_id("report").filter(has_text=other["id"])
    upheld.get_by_role("button", name="Remove content").click()
    expect(console.get_by_test_id("notice")).to_contain_text("Report resolved: remove_content")
    expect(upheld).to_have_count(0)
    seen = stack.ok("GET", f"/requests/{other['id']}", customer)
    assert (seen["description"], seen["status"]) == ("[removed by a moderator]", "cancelled")

    console.get_by_role("button", name="Audit").click()
    expect(console.get_by_test_id("audit").filter(has_text="report.")).not_to_have_count(0)
    console.get_by_role("button", name="Users").click()
    console.get_by_label("Email starts with").fill("provider2@")
    console.get_by_role("button", name="Find").click()
    expect(console.get_by_test_id("user")).to_contain_text("provider2@summon.local")
    shot(console, "console-users")


def test_operator_sees_live_figures_and_map_change(open_page: Any, stack: Stack) -> None:
    provider = stack.sign_in("provider2@summon.local")
    provider_id = stack.ok("GET", "/me", provider)["id"]
    stack.ok("PUT", "/me/provider/availability", provider, json={"online": False})

    console = open_page("operator@summon.local", "/console/")
    console.get_by_role("button", name="Live").click()
    online = console.get_by_test_id("metric-providers_online").get_by_test_id("value")
    open_requests = console.get_by_test_id("metric-open_requests").get_by_test_id("value")
    expect(online).to_have_text(re.compile(r"^\d+$"))
    expect(open_requests).to_have_text(re.compile(r"^\d+$"))
    marker = console.locator(f'[data-marker="provider"][data-id="p-{provider_id}"]')
    expect(marker).to_have_count(0)
    before = int(online.inner_text())

    stack.ok("PUT", "/me/provider/availability", provider, json={"online": True})
    expect(online).to_have_text(str(before + 1))
    expect(marker).to_have_count(1)

    requests_before = int(open_requests.inner_text())
    customer = stack.sign_in("customer@summon.local")
    request = ask(stack, customer, "A shelf to put up", at=(38.7139, -9.1334))
    expect(open_requests).to_have_text(str(requests_before + 1))
    pin = console.locator(f'[data-marker="request"][data-id="r-{request["id"]}"]')
    expect(pin).to_have_count(1)
    expect(pin).to_have_attribute("data-lat", "38.7139")
    expect(console.get_by_test_id("metric-jobs_today")).to_be_visible()
    expect(console.get_by_test_id("metric-median_accept_s")).to_be_visible()
    shot(console, "console-live")


def test_console_refuses_non_operators(open_page: Any) -> None:
    page = open_page("customer@summon.local", "/console/")
    expect(page.get_by_role("alert")).to_contain_text("for operators")
