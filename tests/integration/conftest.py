"""Integration fixtures: moto in-process (``mock_aws``) or a real moto server on a free port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.support import free_port


@pytest.fixture
def aws() -> Iterator[None]:
    """Emulated AWS with the app's tables, seen by a warm container (it has read the word
    list, a read each container repeats every minute)."""
    from chalicelib import config
    from chalicelib.services import moderation
    from devstack import provision

    with mock_aws():
        provision.tables(None, config.DEFAULT_REGION)
        moderation.mask("warm")
        yield


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A real moto server (real sockets), for code that fetches over HTTP or races threads."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
