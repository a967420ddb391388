"""The HTTP API on 127.0.0.1 through Chalice's local server, with real Cognito checks.

``chalice local`` only *decodes* ID tokens (and a malformed ``Authorization`` header
crashes the request). Here the gateway verifies them the way API Gateway's Cognito
authorizer does (signature against the emulator's JWKS, expiry, issuer, audience,
``token_use``) with the app's own :class:`chalicelib.auth.TokenVerifier`, then puts the
claims where API Gateway puts them (``requestContext.authorizer.claims``), so the app code
path is the cloud's. Every failure is a 401 problem-details response, never a dropped
connection. Requests run concurrently, each in a thread of its own, and each view reads
its own request, as each Lambda invocation does (``devstack.patches.per_thread_requests``).
Unknown routes are a 404 problem; a method a path lacks (any method, ``TRACE`` included)
is a 405 problem with ``Allow`` (docs/api.md says what the cloud answers).

Browsers on the web app's origins (``SUMMON_WEB_ORIGINS``, comma-separated; the web app on
port 8002 by default) get CORS answers: preflights (``OPTIONS``) and
``Access-Control-Allow-Origin`` on every response for those origins only.

Run: ``python -m devstack.http_api --port 8000`` (devstack's supervisor does).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import uuid
from typing import Any

from chalice.app import CognitoUserPoolAuthorizer
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LambdaContext,
    LocalDevServer,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
)

from chalicelib import auth, config
from chalicelib.errors import Unauthenticated
from devstack import lifeline, logs, meter, patches
from devstack.appload import load_app

log = logging.getLogger("devstack.http")

DEFAULT_WEB_ORIGINS = "http://127.0.0.1:8002,http://localhost:8002"
CORS_HEADERS = {
    "Access-Control-Allow-Methods": ",".join(config.CORS_ALLOW_METHODS),
    "Access-Control-Allow-Headers": ",".join(config.CORS_ALLOW_HEADERS),
    "Access-Control-Expose-Headers": ",".join(config.CORS_EXPOSE_HEADERS),
    "Access-Control-Max-Age": str(config.CORS_MAX_AGE_S),
}


@functools.cache
def web_origins() -> frozenset[str]:
    raw = os.environ.get("SUMMON_WEB_ORIGINS", DEFAULT_WEB_ORIGINS)
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _problem_bytes(status: int, title: str, detail: str, instance: str = "") -> bytes:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    return json.dumps(body).encode()


class Problem(LocalGatewayException):
    def __init__(self, status: int, title: str, detail: str, instance: str = "") -> None:
        super().__init__(
            {"Content-Type": "application/problem+json"},
            _problem_bytes(status, title, detail, instance),
        )
        self.CODE = status


class VerifyingAuthorizer(LocalGatewayAuthorizer):
    """Cognito authorizer that verifies, like API Gateway's."""

    def authorize(
        self, raw_path: str, lambda_event: dict[str, Any], lambda_context: LambdaContext
    ) -> tuple[dict[str, Any], LambdaContext]:
        route = self._route_for_event(lambda_event)
        if route is None or not isinstance(route.authorizer, CognitoUserPoolAuthorizer):
            return super().authorize(raw_path, lambda_event, lambda_context)
        header = (lambda_event.get("headers") or {}).get("authorization")
        try:
            claims = auth.verifier().verify(auth.bearer_token(header))
        except Unauthenticated as exc:
            raise Problem(401, "Unauthorized", exc.detail, raw_path) from exc
        result = {"context": {"claims": claims}, "principalId": claims.get("sub", "")}
        return self._update_lambda_event(lambda_event, result), lambda_context


class VerifyingGateway(LocalGateway):
    def __init__(self, app_object: Any, config: Config) -> None:
        super().__init__(app_object, config)
        self._authorizer = VerifyingAuthorizer(app_object)

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError as exc:
            where = path.split("?", maxsplit=1)[0]
            raise Problem(404, "Not Found", f"No route {method} {where}.") from exc
        event["requestContext"]["requestId"] = str(uuid.uuid4())  # as API Gateway sends
        return event


class Handler(ChaliceRequestHandler):
    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Config
    ) -> None:
        self._app_object = app_object
        self._config = config
        super().__init__(request, client_address, server, app_object, config)

    def setup(self) -> None:
        super().setup()
        self.local_gateway = VerifyingGateway(self._app_object, self._config)

    def _cors(self) -> dict[str, str]:
        origin = self.headers.get("Origin", "")
        if origin and origin in web_origins():
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin", **CORS_HEADERS}
        return {}

    def _send_http_response(self, code: int, headers: Any, body: Any) -> None:
        super()._send_http_response(code, {**headers, **self._cors()}, body)

    def _generic_handle(self) -> None:
        cors = self._cors()
        if self.command == "OPTIONS" and cors and self.headers.get("Access-Control-Request-Method"):
            self.send_response(204)
            self._send_headers({"Content-Length": "0", **cors})
            return
        try:
            super()._generic_handle()
        except Exception:
            log.exception("local gateway failure on %s %s", self.command, self.path)
            self._send_http_response(
                500,
                {"Content-Type": "application/problem+json"},
                _problem_bytes(500, "Internal Server Error", "Local gateway failure."),
            )

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def __getattr__(self, name: str) -> Any:
        """``do_TRACE``, ``do_CONNECT``, any other method: a 405 problem with ``Allow``
        (or a 404 for an unknown path), not http.server's 501 HTML page."""
        if name.startswith("do_"):
            return self._unsupported_method
        raise AttributeError(name)

    def _unsupported_method(self) -> None:
        path = self.path.split("?", maxsplit=1)[0]
        allowed = allowed_methods(self._app_object, path)
        if allowed is None:
            status, title, detail, headers = 404, "Not Found", f"No route {path}.", {}
        else:
            status, title = 405, "Method Not Allowed"
            detail = f"{self.command} is not a method of {path}."
            headers = {"Allow": ", ".join(allowed)}
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1024 * 1024:
            self.rfile.read(length)
        else:
            self.close_connection = True
        self._send_http_response(
            status,
            {"Content-Type": "application/problem+json", **headers},
            _problem_bytes(status, title, detail, path),
        )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.info("%s %s", self.address_string(), format % args)


def allowed_methods(app: Any, path: str) -> list[str] | None:
    """The methods the app serves on ``path`` (a real path), None when no route matches."""
    from chalice.local import RouteMatcher

    try:
        matched = RouteMatcher(list(app.routes)).match_route(path)
    except ValueError:
        return None
    return sorted(app.routes[matched.route])


def make_server(app: Any, host: str, port: int) -> LocalDevServer:
    patches.per_thread_requests(meter.unwrap(app))  # a thread per request: each its own
    config = Config.create(chalice_stage="local", app_name="summon", lambda_timeout=30)
    return LocalDevServer(app, config, host, port, handler_cls=Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logs.configure()
    lifeline.exit_with_parent()
    server = make_server(meter.maybe_load(load_app, "http"), args.host, args.port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
