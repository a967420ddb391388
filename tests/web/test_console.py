"""The operator console: an operator works the reports queue."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.harness import Stack
from tests.web.conftest import shot

pytestmark = [pytest.mark.web, pytest.mark.timeout(120)]


def test_operator_resolves_a_report(open_page: Any, stack: Stack) -> None:
    customer = stack.sign_in("customer@summon.local")
    provider = stack.sign_in("provider@summon.local")
    text = f"Spam request {uuid.uuid4().hex[:6]}"
    request = stack.ok(
        "POST",
        "/requests",
        customer,
        json={
            "category": "plumbing",
            "description": text,
            "mode": "quote",
            "location": {"lat": 38.7223, "lng": -9.1393},
        },
    )
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

    console.get_by_role("button", name="Audit").click()
    expect(console.get_by_test_id("audit").first).to_be_visible()
    console.get_by_role("button", name="Users").click()
    console.get_by_label("Email starts with").fill("provider2@")
    console.get_by_role("button", name="Find").click()
    expect(console.get_by_test_id("user")).to_contain_text("provider2@summon.local")
    shot(console, "console-users")


def test_console_refuses_non_operators(open_page: Any) -> None:
    page = open_page("customer@summon.local", "/console/")
    expect(page.get_by_role("alert")).to_contain_text("for operators")
