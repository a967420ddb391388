"""/docs/: the API reference renders both documents, offline (bundled)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.conftest import shot

pytestmark = [pytest.mark.web, pytest.mark.timeout(120)]  # the first test waits for the stack


def test_docs_render_openapi_and_asyncapi(open_page: Any) -> None:
    page = open_page(None, "/docs/")
    http = page.get_by_role("region", name="HTTP API")
    ws = page.get_by_role("region", name="WebSocket API")
    expect(http.get_by_test_id("operation").first).to_be_visible()
    expect(ws.get_by_test_id("frame").filter(has_text="chat.send")).to_be_visible()
    shot(page, "docs", full_page=False)  # the top: the whole reference is a very long page
    accept = http.get_by_test_id("operation").filter(has_text="/quotes/{quote_id}/accept")
    accept.locator("summary").first.click()
    expect(accept).to_contain_text("JobOut")
