"""The local HTTP API's own answers (before the app): methods a path lacks."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import meter
from devstack.http_api import make_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from app import app

    srv = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server.server_close()


def request(server: Any, method: str, path: str, body: bytes = b"") -> http.client.HTTPResponse:
    host, port = server.server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=5)
    conn.request(method, path, body=body or None)
    return conn.getresponse()


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_a_method_no_route_has_is_a_405_problem_with_allow(server, method):
    response = request(server, method, "/me")
    assert response.status == 405
    assert response.getheader("Content-Type") == "application/problem+json"
    assert response.getheader("Allow") == "DELETE, GET, PATCH"
    body = json.loads(response.read())
    assert body["status"] == 405 and method in body["detail"]


def test_an_unknown_path_with_any_method_is_a_404_problem(server):
    response = request(server, "TRACE", "/nowhere")
    assert response.status == 404
    assert response.getheader("Content-Type") == "application/problem+json"


@pytest.mark.parametrize("metered", [False, True], ids=["plain", "metered"])
def test_concurrent_requests_each_read_their_own_request(metered, tmp_path):
    """The local server runs each request in a thread of its own; a view reads its request
    through the app object (``Blueprint.current_request``, as chalicelib/web.py does), which
    Chalice sets per call. Two requests set up before either view reads: each still answers
    with its own request, never the other's (its caller, body, headers); also when the
    benchmarks meter the app (``devstack/meter.py`` wraps it)."""
    from chalice import Blueprint, Chalice

    echo = Chalice(app_name="echo")
    bp = Blueprint(__name__)
    both_in = threading.Barrier(2, timeout=10)

    @echo.middleware("http")
    def hold(event: Any, get_response: Any) -> Any:
        both_in.wait()  # both requests were set on the app before either view runs
        return get_response(event)

    @bp.route("/echo/{name}")
    def view(name: str) -> dict[str, str]:
        return {"name": name, "read": bp.current_request.uri_params["name"]}

    echo.register_blueprint(bp)
    served = meter.install(echo, "http", str(tmp_path / "meter.jsonl")) if metered else echo
    srv = make_server(served, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    answers: dict[str, Any] = {}

    def get(name: str) -> None:
        response = request(srv, "GET", f"/echo/{name}")
        answers[name] = (response.status, json.loads(response.read()))

    try:
        callers = [threading.Thread(target=get, args=(n,)) for n in ("ada", "bob")]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(15)
    finally:
        srv.shutdown()
        srv.server.server_close()
    assert answers == {
        "ada": (200, {"name": "ada", "read": "ada"}),
        "bob": (200, {"name": "bob", "read": "bob"}),
    }
