"""Fault injection in the local stack: AWS failing the way AWS fails, at a set rate.

One switch, four kinds of fault, each drawn at ``rate`` from a seeded generator per kind
and process (``random.Random(f"{seed}:{kind}:{process}")``):

=============== ================ ==========================================================
kind            where            what the caller sees
=============== ================ ==========================================================
``dynamodb``    the emulator     a DynamoDB call refused before it runs, in DynamoDB's JSON
                                 error shape: ``ProvisionedThroughputExceededException`` or
                                 ``ThrottlingException`` (400) or ``InternalServerError``
                                 (500); botocore's retry handler retries all three, as in
                                 the cloud
``sns``         the emulator     an SNS ``Publish`` refused in SNS's XML shape:
                                 ``InternalError`` (500) or ``Throttled`` (400)
``connections`` the WebSocket    a ``POST @connections`` answered ``500``
                gateway          ``InternalServerErrorException``, or the socket dropped
                                 (closed 1001, as a lost network does) and ``410``
                                 ``GoneException``
``media``       the event pump   the media handler dies after writing the thumbnail and
                                 before marking the media ready (its next DynamoDB call
                                 raises :class:`SimulatedCrash`): the message is not deleted
                                 and SQS redelivers it after the queue's visibility timeout
=============== ================ ==========================================================

Set at start with ``python -m devstack --faults 'rate=0.05,seed=7'`` or the environment
variable ``DEVSTACK_FAULTS`` (same syntax: ``rate``, ``seed``, ``kinds=dynamodb+sns+…``
(default: all), and per-kind rates ``dynamodb=0.1``), and at run time through the
emulator's control endpoint, which holds the one current setting::

    curl -X PUT http://127.0.0.1:5000/_devstack/faults -d '{"rate": 0.05, "seed": 7}'
    curl http://127.0.0.1:5000/_devstack/faults   # the setting and the faults injected so far

The gateway and the pump read the setting from there every :data:`POLL_S` seconds (and
report what they injected). ``devstack/harness.py``: ``Stack.faults(...)``.
"""

from __future__ import annotations

import io
import json
import logging
import random
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("devstack.faults")

ENV = "DEVSTACK_FAULTS"
KINDS = ("dynamodb", "sns", "connections", "media")
CONTROL_PATH = "/_devstack/faults"
POLL_S = 0.5


class SimulatedCrash(Exception):
    """The media handler's invocation dying mid-way (an injected ``media`` fault)."""


@dataclass(frozen=True)
class Setting:
    """The switch: the fault rate of each kind (0 = off) and the seed."""

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    version: int = 0

    def rate(self, kind: str) -> float:
        return self.rates.get(kind, 0.0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def parse(spec: str) -> Setting:
    """``"rate=0.05,seed=7,kinds=dynamodb+sns,media=0.5"`` → :class:`Setting`
    (``ValueError`` naming what is wrong)."""
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"faults: {part!r} is not name=value")
        values[name.strip()] = value.strip()
    doc: dict[str, Any] = {}
    if "kinds" in values:
        doc["kinds"] = values.pop("kinds").split("+")
    for name, value in values.items():
        doc[name] = int(value) if name == "seed" else float(value)
    return from_json(doc)


def from_json(doc: Mapping[str, Any], version: int = 0) -> Setting:
    """The control endpoint's body: ``{"rate", "seed", "kinds", "<kind>": rate}``."""
    unknown = set(doc) - {"rate", "seed", "kinds", *KINDS}
    if unknown:
        raise ValueError(f"faults: unknown {', '.join(sorted(unknown))}")
    kinds = doc.get("kinds", KINDS)
    if not isinstance(kinds, list | tuple) or not set(kinds) <= set(KINDS):
        raise ValueError(f"faults: kinds are among {', '.join(KINDS)}")
    base = float(doc.get("rate", 0.0))
    rates = {k: float(doc.get(k, base if k in kinds else 0.0)) for k in KINDS}
    if any(not 0.0 <= r <= 1.0 for r in rates.values()):
        raise ValueError("faults: a rate is between 0 and 1")
    return Setting({k: r for k, r in rates.items() if r > 0}, int(doc.get("seed", 0)), version)


class Dice:
    """Seeded draws per kind, and the count of faults injected (thread-safe)."""

    def __init__(self, process: str, setting: Setting | None = None) -> None:
        self.process = process
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()
        self._rngs: dict[str, random.Random] = {}
        self.setting = Setting()
        self.use(setting or Setting())

    def use(self, setting: Setting) -> None:
        with self._lock:
            if setting.seed != self.setting.seed or not self._rngs:
                self._rngs = {k: random.Random(f"{setting.seed}:{k}:{self.process}") for k in KINDS}
            self.setting = setting

    def roll(self, kind: str) -> bool:
        """Whether this call of ``kind`` fails (counted when it does)."""
        with self._lock:
            rate = self.setting.rate(kind)
            if rate <= 0 or self._rngs[kind].random() >= rate:
                return False
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return True

    def pick(self, kind: str, choices: list[Any]) -> Any:
        with self._lock:
            return self._rngs[kind].choice(choices)


# --- the emulator: DynamoDB and SNS faults, the control endpoint ---------------------------

DYNAMODB_ERRORS = [
    (400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
     "The level of configured provisioned throughput for the table was exceeded. "
     "Consider increasing your provisioning level with the UpdateTable API."),
    (400, "com.amazon.coral.availability#ThrottlingException",
     "Rate of requests exceeds the allowed throughput."),
    (500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error"),
]  # fmt: skip
SNS_ERRORS = [
    (500, "Receiver", "InternalError", "Internal Error"),
    (400, "Sender", "Throttled", "Rate exceeded"),
]


def _reply(start_response: Any, status: int, content_type: str, body: bytes) -> list[bytes]:
    phrase = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
    start_response(
        f"{status} {phrase.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


def _service(environ: Mapping[str, Any]) -> str:
    """The signing service in the SigV4 ``Authorization`` header (``.../sns/aws4_request``)."""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = auth.partition("Credential=")[2].split(",", 1)[0].split("/")
    return scope[3] if len(scope) > 3 else ""


class FaultInjector:
    """WSGI middleware in front of the emulator (see the module doc)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], setting: Setting) -> None:
        self.app = app
        self.dice = Dice("aws", setting)
        self.reported: dict[str, dict[str, int]] = {}
        self.following: dict[str, int] = {}
        """The setting version each following process applies (``Follower``)."""
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PATH):
            return self._control(environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("DynamoDB_") and self.dice.roll("dynamodb"):
            status, kind, message = self.dice.pick("dynamodb", DYNAMODB_ERRORS)
            body = json.dumps({"__type": kind, "message": message}).encode()
            return _reply(start_response, status, "application/x-amz-json-1.0", body)
        if self.dice.setting.rate("sns") and _service(environ) == "sns":
            raw = self._body(environ)
            if b"Action=Publish" in raw and self.dice.roll("sns"):
                status, side, code, message = self.dice.pick("sns", SNS_ERRORS)
                xml = (
                    f"<ErrorResponse><Error><Type>{side}</Type><Code>{code}</Code>"
                    f"<Message>{message}</Message></Error>"
                    f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
                )
                return _reply(start_response, status, "text/xml", xml.encode())
        return self.app(environ, start_response)

    @staticmethod
    def _body(environ: dict[str, Any]) -> bytes:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        return bytes(raw)

    def state(self) -> dict[str, Any]:
        injected = dict(self.dice.injected)
        with self._lock:
            for counts in self.reported.values():
                for kind, n in counts.items():
                    injected[kind] = injected.get(kind, 0) + n
            following = dict(self.following)
        return {**self.dice.setting.to_json(), "injected": injected, "following": following}

    def _control(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        try:
            if method == "PUT" and path == CONTROL_PATH:
                doc = json.loads(self._body(environ) or b"{}")
                version = self.dice.setting.version + 1
                self.dice.use(from_json(doc, version))
                log.info("faults now %s", self.dice.setting)
            elif method == "POST" and path == CONTROL_PATH + "/report":
                doc = json.loads(self._body(environ))
                with self._lock:
                    self.reported[str(doc["process"])] = {
                        str(k): int(v) for k, v in dict(doc["injected"]).items()
                    }
                    self.following[str(doc["process"])] = int(doc["version"])
            elif method != "GET" or path != CONTROL_PATH:
                return _reply(start_response, 404, "application/json", b'{"message":"no"}')
        except (ValueError, KeyError, TypeError) as exc:
            body = json.dumps({"message": str(exc)}).encode()
            return _reply(start_response, 400, "application/json", body)
        return _reply(start_response, 200, "application/json", json.dumps(self.state()).encode())


# --- the app's processes: follow the emulator's setting -------------------------------------


class Follower:
    """The setting as the emulator holds it, for another process of the stack: polled
    every :data:`POLL_S` s in a daemon thread, which also reports this process's counts."""

    def __init__(self, process: str, endpoint: str, setting: Setting | None = None) -> None:
        self.dice = Dice(process, setting)
        self.url = endpoint.rstrip("/") + CONTROL_PATH + "/report"
        self._thread = threading.Thread(target=self._poll, name="faults", daemon=True)
        self._thread.start()

    def roll(self, kind: str) -> bool:
        return self.dice.roll(kind)

    def _poll(self) -> None:
        stop = threading.Event()
        while not stop.wait(POLL_S):
            report = {"process": self.dice.process, "version": self.dice.setting.version}
            body = json.dumps({**report, "injected": self.dice.injected})
            request = urllib.request.Request(self.url, body.encode(), method="POST")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    doc = json.loads(response.read())
            except (OSError, ValueError):
                continue  # the emulator is starting or stopping
            if doc.get("version") != self.dice.setting.version:
                self.dice.use(Setting(dict(doc["rates"]), int(doc["seed"]), int(doc["version"])))


def switch(endpoint: str, setting: Setting | Mapping[str, Any]) -> dict[str, Any]:
    """Set the faults of the emulator at ``endpoint`` now; its state (setting, injected)."""
    doc = {**setting.rates, "seed": setting.seed} if isinstance(setting, Setting) else setting
    request = urllib.request.Request(
        endpoint.rstrip("/") + CONTROL_PATH, json.dumps(doc).encode(), method="PUT"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return dict(json.loads(response.read()))


def state(endpoint: str) -> dict[str, Any]:
    """The emulator's fault setting and the faults injected so far, by kind (all processes)."""
    with urllib.request.urlopen(endpoint.rstrip("/") + CONTROL_PATH, timeout=5) as response:
        return dict(json.loads(response.read()))


def follow(process: str) -> Follower | None:
    """A :class:`Follower` of the emulator at ``AWS_ENDPOINT_URL`` (None without one),
    starting from ``DEVSTACK_FAULTS`` until the first poll."""
    import os

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        return None
    return Follower(process, endpoint, parse(os.environ.get(ENV, "")))


_crash = threading.local()


def crash_media_handler(follower: Follower) -> None:
    """In the pump: with the ``media`` rate, the DynamoDB call that follows a thumbnail's
    ``PutObject`` in the same thread raises :class:`SimulatedCrash` (the handler dies
    after the thumbnail, before the media is marked ready)."""
    from devstack import patches

    def on_call(event_name: str, **kwargs: Any) -> None:
        if not event_name.startswith("before-call."):
            return
        if event_name == "before-call.s3.PutObject":
            if "/thumbnails/" in str((kwargs.get("params") or {}).get("url_path", "")):
                _crash.after_thumbnail = True
        elif event_name.startswith("before-call.dynamodb.") and getattr(
            _crash, "after_thumbnail", False
        ):
            _crash.after_thumbnail = False
            if follower.roll("media"):
                log.warning("injected fault: the media handler crashes before marking ready")
                raise SimulatedCrash("injected: media handler crashed after the thumbnail")

    patches.on_every_client_call(on_call, unique_id="devstack.faults.media")
