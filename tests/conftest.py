"""Test-wide setup: a fake AWS account and the test stage, set before the app is imported."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

for _var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_var, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "SUMMON_STAGE": "test",
    }
)


def _reset_clients() -> None:
    """Forget every cached AWS client and settings object (they captured the environment)."""
    from pynamodb.models import Model

    from chalicelib import config, web
    from chalicelib.adapters import s3, sns

    def every(cls: type) -> list[type]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in every(child))]

    for model in every(Model):
        model._connection = None  # type: ignore[attr-defined]
    for cached in (config.settings, web._idempotency, s3._client, sns._client):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_environment() -> Iterator[None]:
    """Each test starts from the suite's environment: a test (or a library it drives, like
    chalice's test client, which restores a snapshot of os.environ) that leaves variables
    behind must not point later tests at another emulator or stage."""
    saved = dict(os.environ)
    yield
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)
        _reset_clients()


@pytest.fixture(scope="session", autouse=True)
def _app_composed() -> None:
    """Import the app (its composition root registers the event sinks) before any test
    swaps ``events._sinks`` for its own list: a first import inside such a patch would put
    the app's sinks into the temporary list, and later tests would run without them."""
    import app  # noqa: F401
