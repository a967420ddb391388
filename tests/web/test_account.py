"""The account screen: a user downloads a copy of their data, deletes their account, or is
told why they cannot yet (App Store 5.1.1(v), GDPR articles 17 and 20). Each test has its
own fresh account: a deleted one is gone for the rest of the session."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from devstack.harness import Stack, wait_until
from devstack.seed import DEMO_PASSWORD
from tests.web.conftest import ask, shot, sign_in

pytestmark = [pytest.mark.web, pytest.mark.timeout(180)]

PROVIDER = "both@summon.local"  # no other browser test uses this one's offers


def page_shot(page: Any, name: str) -> None:
    """A full-page screenshot from the top (the sticky header is drawn where it scrolled)."""
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, name)


def open_account(page: Any) -> None:
    page.get_by_role("button", name="Account").click()
    expect(page.get_by_test_id("account-email")).to_be_visible()


def test_export_my_data_downloads_an_archive_with_my_profile(
    open_page: Any, stack: Stack, tmp_path: Path
) -> None:
    email, token = stack.new_account("customers")
    name = f"Exporting Eva {uuid.uuid4().hex[:6]}"
    stack.ok("PATCH", "/me", token, json={"name": name})
    page = open_page(email)
    open_account(page)
    expect(page.get_by_test_id("account-email")).to_have_text(email)

    page.get_by_role("button", name="Download my data").click()
    expect(page.get_by_test_id("export-status")).to_contain_text("Preparing your archive")
    link = page.get_by_test_id("export-link")
    expect(link).to_be_visible(timeout=60_000)  # built by the exports queue's handler
    expect(link).to_contain_text("zip")
    page_shot(page, "account-export")

    with page.expect_download() as info:
        link.click()
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(path) as archive:
        assert "README.txt" in archive.namelist()
        profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == email
    assert profile["name"] == name
    assert "customers" in profile["roles"]


def test_delete_my_account_signs_me_out_for_good(open_page: Any, stack: Stack) -> None:
    email, _ = stack.new_account("customers")
    page = open_page(email)
    expect(page.get_by_role("form", name="Ask for a service")).to_be_visible()
    open_account(page)
    page.get_by_role("button", name="Delete my account").click()
    confirm = page.get_by_test_id("delete-confirm")
    expect(confirm).to_contain_text("This cannot be undone")
    expect(confirm).to_contain_text("keeps the job")
    page_shot(page, "account-delete-confirm")
    confirm.get_by_role("button", name="Delete my account for good").click()

    expect(page.get_by_test_id("signed-out-note")).to_contain_text("Your account is deleted")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_count(0)
    page_shot(page, "account-deleted")

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_test_id("connection")).to_have_count(0)
    with pytest.raises(Exception):  # noqa: B017 - Cognito's own refusal, whichever kind
        stack.sign_in(email)


def _job_under_way(stack: Stack, customer: str) -> tuple[str, str]:
    """A quote request of ``customer``'s, quoted by the demo provider and accepted: the
    request's and the job's ids."""
    provider = stack.sign_in(PROVIDER)
    request = ask(stack, customer, "Fix the boiler")

    def invited() -> bool:
        offers = stack.ok("GET", "/offers", provider)["items"]
        return any(o["request_id"] == request["id"] for o in offers)

    wait_until(invited, "the provider is invited to quote", 30)
    quote = stack.ok(
        "POST",
        f"/requests/{request['id']}/quotes",
        provider,
        json={"price": {"amount": "80", "currency": "EUR"}, "eta_minutes": 30},
    )
    job = stack.ok("POST", f"/quotes/{quote['id']}/accept", customer)
    assert job["state"] == "accepted"
    return request["id"], job["id"]


def test_a_job_under_way_keeps_the_account_and_says_why(open_page: Any, stack: Stack) -> None:
    email, token = stack.new_account("customers")
    _, job_id = _job_under_way(stack, token)
    try:
        page = open_page(email)
        expect(page.get_by_test_id("job-state")).to_have_text("accepted")
        open_account(page)
        page.get_by_role("button", name="Delete my account").click()
        page.get_by_role("button", name="Delete my account for good").click()
        error = page.get_by_test_id("delete-error")
        expect(error).to_contain_text("Your account was not deleted")
        expect(error).to_contain_text(f"Job {job_id} is accepted: finish or cancel it")
        page_shot(page, "account-delete-refused")

        # Still signed in, still live, and the account still answers.
        expect(page.get_by_test_id("connection")).to_have_text("live")
        page.get_by_role("button", name="Keep my account").click()
        page.get_by_role("button", name="I need").click()
        expect(page.get_by_test_id("job-state")).to_have_text("accepted")
        assert stack.ok("GET", "/me", stack.sign_in(email))["email"] == email
    finally:  # the demo provider is free again for the other tests
        stack.ok(
            "POST", f"/jobs/{job_id}/transitions", stack.sign_in(email), json={"to": "cancelled"}
        )


def test_a_plain_sign_out_leaves_no_note(open_page: Any, stack: Stack) -> None:
    """A plain sign-out shows no deletion note."""
    email, _ = stack.new_account("customers")
    page = open_page(email)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("signed-out-note")).to_have_count(0)
    sign_in(page, email)
