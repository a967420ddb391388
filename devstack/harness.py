"""The real local stack (``python -m devstack``) on free ports, for the e2e tests and the
benchmarks: a supervisor in its own session on free ports, a throwaway state directory
(or a given one, to restart on kept data), its ``env`` file read back, readiness =
``/health`` answers and the WebSocket port accepts; stopped with Ctrl-C's order. With
``meter_file`` the app processes meter every handler invocation into it
(``devstack/meter.py``)::

    with running(meter_file=path) as stack:
        token = stack.sign_in("customer@summon.local")
        stack.call("GET", "/me", token)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests

from devstack.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    http: str
    ws: str
    endpoint: str
    env: dict[str, str]
    log: Path
    state: Path
    pid: int

    def kill(self) -> None:
        """SIGKILL the stack as a crash would: the emulator (the process holding the data)
        and the supervisor; the other processes end with it (``devstack/lifeline.py``)."""
        emulator = int((self.state / "state" / "lock").read_text())
        for pid in (emulator, self.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    @property
    def pool_id(self) -> str:
        return self.env["SUMMON_USER_POOL_ID"]

    @property
    def client_id(self) -> str:
        return self.env["SUMMON_USER_POOL_CLIENT_ID"]

    def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> str:
        """A standard Cognito sign-in (USER_PASSWORD_AUTH); the ID token."""
        result = self.client("cognito-idp").initiate_auth(
            ClientId=self.env["SUMMON_USER_POOL_CLIENT_ID"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def new_account(self, *groups: str) -> tuple[str, str]:
        """An account made by an admin in the user pool: (email, ID token)."""
        from devstack.provision import ensure_user

        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        ensure_user(self.endpoint, "us-east-1", self.pool_id, email, DEMO_PASSWORD, list(groups))
        return email, self.sign_in(email)

    def faults(self, **setting: Any) -> dict[str, Any]:
        """Switch fault injection now (``devstack/faults.py``): ``rate``, ``seed``,
        ``kinds``, per-kind rates (``media=1.0``); ``faults()`` turns it off. Returns once
        the gateway and the pump apply it too; the emulator's state (setting, faults
        injected so far by kind)."""
        from devstack import faults

        state = faults.switch(self.endpoint, setting)
        version = state["version"]

        def followed() -> bool:
            following = faults.state(self.endpoint)["following"].values()
            return bool(following) and all(v == version for v in following)

        wait_until(followed, "the stack's processes follow the fault setting", 10)
        return state

    def injected(self) -> dict[str, int]:
        """The faults injected so far, by kind, in every process of the stack."""
        from devstack import faults

        return dict(faults.state(self.endpoint)["injected"])

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers.setdefault("Authorization", token)
        return requests.request(method, self.http + path, headers=headers, timeout=30, **kw)

    def ok(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        """:meth:`call` that must succeed; its JSON body (None for 204)."""
        response = self.call(method, path, token, **kw)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None


def read_env(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = json.loads(value)
    return env


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def wait_until(probe: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy, and return that; ``TimeoutError``
    naming ``what`` after ``timeout_s`` (events reach the stack asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(0.2)


def wait_port(port: int, timeout_s: float) -> None:
    """Until something listens on 127.0.0.1:``port`` (OSError after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise OSError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")
        time.sleep(0.1)


@contextmanager
def running(
    *,
    meter_file: Path | None = None,
    providers: int = 40,
    schedule_period: float = 1.0,
    env: dict[str, str] | None = None,
    state_dir: Path | None = None,
    reset: bool = False,
    faults: str = "",
) -> Iterator[Stack]:
    """Start the stack, yield it once HTTP and WebSocket answer and the event pump reads
    every source, stop it (Ctrl-C order).
    ``env`` adds variables for the app's processes (e.g. short marketplace timers);
    ``state_dir`` keeps the stack's state there (``reset``: start it clean); ``faults``
    switches fault injection on from the start (``"rate=0.05,seed=7"``)."""
    extra_env = dict(env or {})
    with tempfile.TemporaryDirectory(prefix="devstack-") as tmp:
        state = Path(state_dir) if state_dir is not None else Path(tmp)
        state.mkdir(parents=True, exist_ok=True)
        aws, http, ws = free_port(), free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SUMMON_"))}
        env.pop("DEVSTACK_METER_FILE", None)
        env.pop("DEVSTACK_FAULTS", None)
        env.update(extra_env)
        if meter_file is not None:
            env["DEVSTACK_METER_FILE"] = str(Path(meter_file).resolve())
        log_path = state / "stack.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devstack",
                    "--aws-port",
                    str(aws),
                    "--http-port",
                    str(http),
                    "--ws-port",
                    str(ws),
                    "--providers",
                    str(providers),
                    "--schedule-period",
                    str(schedule_period),
                    "--state-dir",
                    str(state),
                    *(["--reset"] if reset else []),
                    "--faults",
                    faults,
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            base = f"http://127.0.0.1:{http}"
            try:
                _wait(proc, state, base, ws, log_path)
                yield Stack(
                    http=base,
                    ws=f"ws://127.0.0.1:{ws}",
                    endpoint=f"http://127.0.0.1:{aws}",
                    env=read_env(state / "env"),
                    log=log_path,
                    state=state,
                    pid=proc.pid,
                )
            finally:
                _stop(proc)


def _wait(proc: subprocess.Popen[bytes], state: Path, base: str, ws: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError("devstack exited:\n" + log.read_text()[-4000:])
        if (state / "env").exists() and _port_open(ws) and _pump_ready(log.read_text()):
            try:
                with urllib.request.urlopen(base + "/health", timeout=2):
                    return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise RuntimeError("devstack did not start:\n" + log.read_text()[-4000:])
        time.sleep(0.2)


def _pump_ready(log: str) -> bool:
    """The event pump has set up every queue-backed source it announced (``event pump on
    <url>: sqs:a, sns:b, ...``, then ``<kind> handler <name> reads <queue>`` per source): an
    SNS message published before its subscription exists is never delivered."""
    started = next((line for line in log.splitlines() if "event pump on " in line), None)
    if started is None:
        return False
    sources = [s.split(":", 1) for s in started.split(": ", 1)[-1].split(", ")]
    return all(
        f"{kind} handler {name} reads" in log
        for kind, name in (s for s in sources if len(s) == 2)
        if kind in ("sqs", "sns", "s3")
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:  # killed (Stack.kill): reap it
        proc.wait()
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
