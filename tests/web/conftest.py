"""The web app in a real browser: one local stack (free ports, no demo crowd), the built
app (``web/dist``) served as ``make dev`` serves it, Chromium from the system's packages
driven by Playwright for Python. Screenshots of the main screens go to
``build/screenshots/`` (``make screenshots`` writes the README's copies in
``docs/screenshots/``), or to ``$SUMMON_SCREENSHOTS``."""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.harness import ROOT, Stack, free_port, running
from devstack.seed import DEMO_PASSWORD

DIST = ROOT / "web" / "dist"
SHOTS = Path(os.environ.get("SUMMON_SCREENSHOTS") or ROOT / "build" / "screenshots")


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


@pytest.fixture(scope="session")
def web_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def stack(web_port: int) -> Iterator[Stack]:
    if not (DIST / "index.html").exists():
        pytest.skip("web/dist is not built: run `make web` (make test does)")
    origin = f"http://127.0.0.1:{web_port}"
    with running(providers=0, schedule_period=1.0, env={"SUMMON_WEB_ORIGINS": origin}) as s:
        yield s


@pytest.fixture(scope="session")
def web_url(stack: Stack, web_port: int) -> Iterator[str]:
    from devstack.web import make_server

    server = make_server("127.0.0.1", web_port, stack.http, stack.ws, stack.endpoint, DIST)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{web_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium: `apt-get install chromium` (make test does), or set CHROMIUM")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def open_page(browser: Any, web_url: str) -> Iterator[Callable[..., Any]]:
    """``open_page(email, path="/")``: a new browser context (its own user), signed in."""
    contexts: list[Any] = []

    def open_(email: str | None, path: str = "/", password: str = DEMO_PASSWORD) -> Any:
        context = browser.new_context(viewport={"width": 412, "height": 915})  # a phone
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(web_url + path)
        if email is not None:
            sign_in(page, email, password)
        return page

    yield open_
    for c in contexts:
        c.close()


def sign_in(page: Any, email: str, password: str = DEMO_PASSWORD) -> None:
    from playwright.sync_api import expect

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("connection")).to_have_text("live")


def ask(
    stack: Stack, customer: str, description: str, at: tuple[float, float] = (38.7223, -9.1393)
) -> Any:
    """A quote request of ``customer``'s (a token) in Lisbon, with a unique description
    starting with ``description``: open for a day, so nothing closes it during a test."""
    lat, lng = at
    body = {
        "category": "plumbing",
        "description": f"{description} {uuid.uuid4().hex[:6]}",
        "mode": "quote",
        "location": {"lat": lat, "lng": lng},
    }
    return stack.ok("POST", "/requests", customer, json=body)


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
