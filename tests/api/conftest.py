"""Routes through ``chalice.test.Client`` over moto's in-process ``mock_aws``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from tests.support import assert_documented, unverified_token


@dataclass
class Api:
    """A signed-in caller of the app through chalice's test client."""

    client: Client
    token: str
    user_id: str

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        h = {"Authorization": self.token, "Content-Type": "application/json", **(headers or {})}
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = self.client.http.request(method, path, headers=h, body=data)
        if response.status_code != 500:  # a 500 fails the test that caused it, clearer there
            assert_documented(method, path, response.status_code)
        return response


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh emulated account with the app's tables and the demo categories."""
    from chalicelib import config, runtime
    from chalicelib.store import profiles
    from devstack import provision, seed

    with mock_aws():
        runtime.settings()  # read now: chalice's test client sets SUMMON_STAGE=dev per call
        provision.tables(None, config.DEFAULT_REGION)
        profiles.put_categories(seed.CATEGORIES)
        yield


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    """The app as a warm container: it has read the suspended accounts and the word list
    (reads each container repeats every 30 and 60 s; the route budgets leave them out)."""
    from app import app
    from chalicelib.services import accounts, moderation

    accounts.suspended_users()
    moderation.mask("warm")
    with Client(app) as c:
        yield c


@pytest.fixture
def as_user(client: Client) -> Any:
    """``as_user(groups=("providers",))`` → an :class:`Api` for a new account."""
    import uuid

    def make(groups: tuple[str, ...] = ("customers",), user_id: str | None = None) -> Api:
        uid = user_id or str(uuid.uuid4())
        return Api(client, unverified_token(uid, groups), uid)

    return make
