"""The local S3's browser uploads (presigned POST) checked as S3 checks them: moto accepts
any form, so this WSGI middleware refuses, with S3's 403 ``AccessDenied`` XML, a POST whose
policy is not signed by known credentials (SigV4), has expired, or does not hold for the
form: every field needs a condition (``eq`` / ``starts-with``), and the file's size must be
in the ``content-length-range``. A valid upload passes to the emulator unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from werkzeug.formparser import parse_form_data

from devstack import sigv4
from devstack.provision import LOCAL_KEY_ID, LOCAL_SECRET

_UNCHECKED = {"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"}


def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def refusal(
    form: Mapping[str, str], size: int, bucket: str, credentials: Mapping[str, str]
) -> str | None:
    """Why S3 would refuse this POST upload of ``size`` bytes to ``bucket``; None if it
    would take it."""
    fields = {k.lower(): v for k, v in form.items()}
    try:
        policy_b64 = fields["policy"]
        policy = json.loads(base64.b64decode(policy_b64))
    except (KeyError, ValueError):
        return "Invalid according to Policy: missing or malformed policy"
    if "x-amz-credential" in fields:  # SigV4: HMAC-SHA256 with the derived key, hex
        try:
            key_id, day, region, service, _ = fields["x-amz-credential"].split("/")
        except ValueError:
            return "Invalid according to Policy: malformed x-amz-credential"
        secret = credentials.get(key_id)
        signing_key = _signing_key(secret, day, region, service) if secret else b""
        expected = hmac.new(signing_key, policy_b64.encode(), hashlib.sha256).hexdigest()
        given = fields.get("x-amz-signature", "")
    else:  # SigV2: HMAC-SHA1 with the secret, base64
        key_id = fields.get("awsaccesskeyid", "")
        secret = credentials.get(key_id)
        digest = hmac.new((secret or "").encode(), policy_b64.encode(), hashlib.sha1).digest()
        expected, given = base64.b64encode(digest).decode(), fields.get("signature", "")
    if secret is None:
        return "The AWS Access Key Id you provided does not exist in our records."
    if not hmac.compare_digest(expected, given):
        return "The request signature we calculated does not match the signature you provided."
    expires = datetime.fromisoformat(str(policy.get("expiration", "")).replace("Z", "+00:00"))
    if expires <= datetime.now(UTC):
        return "Invalid according to Policy: Policy expired."
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            ((name, want),) = condition.items()
            op, name = "eq", name.lower()
        elif condition[0] == "content-length-range":
            if not int(condition[1]) <= size <= int(condition[2]):
                return "Your proposed upload exceeds or is below the content-length-range."
            continue
        else:
            op, name, want = condition[0], str(condition[1]).lstrip("$").lower(), condition[2]
        covered.add(name)
        got = values.get(name, "")
        if (op == "eq" and got != want) or (op == "starts-with" and not got.startswith(want)):
            return f"Invalid according to Policy: Policy Condition failed: {condition}"
    extra = set(fields) - _UNCHECKED - covered - {"bucket"}
    extra = {f for f in extra if not f.startswith("x-ignore-")}
    if extra:
        return f"Invalid according to Policy: Extra input fields: {', '.join(sorted(extra))}"
    return None


class S3PostPolicy:
    """WSGI middleware in front of the emulator (see the module doc)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        content_type = environ.get("CONTENT_TYPE", "")
        path = environ.get("PATH_INFO", "")
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or not content_type.startswith("multipart/form-data")
            or path.count("/") != 1
        ):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        probe = {**environ, "wsgi.input": io.BytesIO(body)}
        _, form, files = parse_form_data(probe)
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        known = {LOCAL_KEY_ID: LOCAL_SECRET, **sigv4.known_credentials()}
        why = refusal(dict(form), size, path.strip("/"), known)
        if why is not None:
            xml = (
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                f"<Message>{why}</Message></Error>"
            ).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(xml)))],
            )
            return [xml]
        environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)
