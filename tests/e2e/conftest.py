"""The real local stack (``python -m devstack``) on free ports, once per test session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from devstack.seed import DEMO_PASSWORD
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Stack:
    http: str
    ws: str
    endpoint: str
    env: dict[str, str]

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
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    def new_account(self, *groups: str) -> tuple[str, str]:
        """An account made by an admin in the user pool (no app sign-up): (email, token)."""
        idp = self.client("cognito-idp")
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=email, Password=DEMO_PASSWORD, Permanent=True
        )
        for group in groups:
            idp.admin_add_user_to_group(UserPoolId=self.pool_id, Username=email, GroupName=group)
        return email, self.sign_in(email)

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}) or {})
        if token is not None:
            headers.setdefault("Authorization", token)
        return requests.request(method, self.http + path, headers=headers, timeout=30, **kw)


def _read_env(path: Path) -> dict[str, str]:
    import json

    env = {}
    for line in path.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = json.loads(value)
    return env


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("devstack")
    aws, http, ws = free_port(), free_port(), free_port()
    log = (state / "stack.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SUMMON_"))}
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
            "40",
            "--schedule-period",
            "1",
            "--state-dir",
            str(state),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{http}"
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("devstack exited:\n" + (state / "stack.log").read_text())
            if (state / "env").exists():
                try:
                    with urllib.request.urlopen(base + "/health", timeout=2):
                        break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("devstack did not start:\n" + (state / "stack.log").read_text())
            time.sleep(0.2)
        yield Stack(
            http=base,
            ws=f"ws://127.0.0.1:{ws}",
            endpoint=f"http://127.0.0.1:{aws}",
            env=_read_env(state / "env"),
        )
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
