"""The machine part of a newcomer's first minutes: from ``make dev`` to two browser windows
chatting. Prints figures (never asserts); see BENCHMARKS.md.

1. ``make -s install web`` with everything installed and built (what a second ``make dev``
   costs before the stack starts);
2. ``python -m devstack`` on free ports and an empty state directory (the first start:
   provisioning and the full demo seed) until it prints "Summon is up";
3. the same again on the state it left (a restart that restores the kept data);
4. Chromium (the system's, through Playwright) with two contexts: the demo customer and the
   demo provider sign in through the web app, the customer asks for a plumber, the
   provider accepts the live offer, the customer sends a chat message, and the provider
   sees it.

Cold installs (a new ``.venv``, ``npm ci``) are not re-run here: the Makefile prints how
long they took (``done in N s``).

Run: ``python -m bench.newcomer`` (needs ``web/dist``: ``make web``; and Chromium).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from devstack.harness import ROOT, free_port, read_env
from devstack.seed import DEMO_PASSWORD


def start(state: Path, ports: dict[str, int]) -> tuple[subprocess.Popen[str], float]:
    """``python -m devstack`` until it says it is up: (process, seconds)."""
    argv = [sys.executable, "-m", "devstack", "--state-dir", str(state)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SUMMON_"))}
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Summon is up" in line:
            return proc, time.perf_counter() - began
    raise RuntimeError(f"devstack exited with {proc.wait()} before it was up")


def stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def chat(web_url: str) -> float:
    """Seconds from launching Chromium to the provider seeing the customer's message."""
    from playwright.sync_api import expect, sync_playwright

    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if path is None:
        raise RuntimeError("no Chromium: apt-get install chromium, or set CHROMIUM")
    text = f"The tap drips {uuid.uuid4().hex[:6]}"
    began = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        expect.set_options(timeout=30_000)
        pages = {}
        for email in ("customer@summon.local", "provider@summon.local"):
            page = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
            page.goto(web_url)
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_test_id("connection")).to_have_text("live")
            pages[email] = page
        customer, provider = pages["customer@summon.local"], pages["provider@summon.local"]
        customer.get_by_label("Description").fill(text)
        customer.get_by_role("button", name="Ask").click()
        card = provider.get_by_test_id("offer").filter(has_text=text)
        card.get_by_role("button", name="Accept").click()
        expect(customer.get_by_test_id("job-state")).to_have_text("accepted")
        customer.get_by_label("Message").fill("Hi! Can you come this afternoon?")
        customer.get_by_role("button", name="Send").click()
        expect(provider.locator(".messages")).to_contain_text("Can you come this afternoon?")
        elapsed = time.perf_counter() - began
        browser.close()
    return elapsed


def main() -> int:
    began = time.perf_counter()
    subprocess.run(["make", "-s", "install", "web"], cwd=ROOT, check=True)
    make_s = time.perf_counter() - began
    print(f"newcomer: make install+web, all cached: {make_s:.1f} s")
    ports = {"aws": free_port(), "http": free_port(), "ws": free_port(), "web": free_port()}
    with tempfile.TemporaryDirectory(prefix="newcomer-") as tmp:
        state = Path(tmp)
        proc, first_s = start(state, ports)
        stop(proc)
        print(f"newcomer: first start to 'up' (empty state, 300-provider seed): {first_s:.1f} s")
        proc, again_s = start(state, ports)
        print(f"newcomer: restart to 'up' (the kept state restored): {again_s:.1f} s")
        try:
            web_url = read_env(state / "env")["SUMMON_WEB_URL"]
            chat_s = chat(web_url)
        finally:
            stop(proc)
    print(f"newcomer: two browsers sign in, ask, accept, chat message seen: {chat_s:.1f} s")
    total = make_s + first_s + chat_s
    print(f"newcomer: make dev (cached installs) to two windows chatting: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
