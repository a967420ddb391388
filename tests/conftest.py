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


def pytest_configure(config: pytest.Config) -> None:
    """Before any AWS client exists: every client's DynamoDB calls can be counted
    (``tests.support.count_dynamodb_calls``)."""
    from tests.support import hook_call_counting

    hook_call_counting()


@pytest.fixture(autouse=True)
def _isolated_environment() -> Iterator[None]:
    """Each test starts from the suite's environment and a fresh runtime (settings, clients,
    caches and test overrides are all the runtime's: ``runtime.reset()`` forgets them), and
    leaves neither behind: a test (or a library it drives, like chalice's test client,
    which restores a snapshot of os.environ) that leaves variables behind must not point
    later tests at another emulator or stage."""
    from chalicelib import runtime

    saved = dict(os.environ)
    runtime.reset()
    yield
    runtime.reset()
    if dict(os.environ) != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session", autouse=True)
def _app_composed() -> None:
    """Import the app: its composition root wires the event sinks into the runtime, which
    tests that drive services without the test client rely on too."""
    import app  # noqa: F401
