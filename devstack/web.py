"""The web app (``web/dist``, built by ``make web``) on 127.0.0.1:8002, as the static bucket
behind CloudFront serves it in the cloud: ``/`` (customers and providers), ``/console/``
(operators), ``/docs/`` (API reference), with ``/config.json`` telling the app where the API,
the WebSocket and Cognito (the emulator) are, and a content security policy that allows only
those.

Run: ``python -m devstack.web --port 8002 --api-url … --ws-url … --aws-url …`` (devstack's
supervisor does).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devstack import lifeline, logs

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "web" / "dist"
log = logging.getLogger("devstack.web")


def csp(api_url: str, ws_url: str, aws_url: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {api_url} {ws_url} {aws_url}",
            f"img-src 'self' data: blob: {aws_url}",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ]
    )


class Handler(SimpleHTTPRequestHandler):
    config: bytes = b"{}"
    policy: str = ""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.policy)
        self.send_header("X-Content-Type-Options", "nosniff")
        if "/assets/" in self.path:
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/config.json":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.config)))
            self.end_headers()
            self.wfile.write(self.config)
            return
        target = Path(self.translate_path(path))
        if not target.exists():  # an app route: the page's index.html (as CloudFront's 404)
            for page in ("console", "docs"):
                if path.startswith(f"/{page}/") or path == f"/{page}":
                    self.path = f"/{page}/index.html"
                    break
            else:
                if not path.startswith("/assets/"):
                    self.path = "/index.html"
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


def make_server(
    host: str, port: int, api_url: str, ws_url: str, aws_url: str, dist: Path = DIST
) -> ThreadingHTTPServer:
    config = {"apiUrl": api_url, "wsUrl": ws_url, "cognitoEndpoint": aws_url + "/", "local": True}
    handler = type(
        "WebHandler",
        (Handler,),
        {"config": json.dumps(config).encode(), "policy": csp(api_url, ws_url, aws_url)},
    )
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(dist)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--api-url", default="http://127.0.0.1:8000")
    parser.add_argument("--ws-url", default="ws://127.0.0.1:8001")
    parser.add_argument("--aws-url", default="http://127.0.0.1:5000")
    parser.add_argument("--dist", default=str(DIST))
    args = parser.parse_args(argv)
    logs.configure()
    lifeline.exit_with_parent()
    server = make_server(
        args.host, args.port, args.api_url, args.ws_url, args.aws_url, Path(args.dist)
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
