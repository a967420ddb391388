"""Checking an AWS Signature Version 4 as API Gateway's ``@connections`` API does: the
local WebSocket gateway refuses a call whose signature is not the one the known
credentials give (403, the AWS error codes), like the cloud.

The signature is recomputed with botocore's own signer over exactly the headers the caller
signed, at the caller's ``X-Amz-Date``; a date more than 15 minutes off is refused.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW = timedelta(minutes=15)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?"
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)


def known_credentials() -> dict[str, str]:
    """The credentials of this environment (what the local stack's processes sign with)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    return {key: secret} if key and secret else {}


def problem(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: datetime | None = None,
) -> tuple[str, str] | None:
    """None when the request's SigV4 signature is valid for ``credentials`` (access key →
    secret); else the AWS error code and message to answer with."""
    lowered = {k.lower(): v for k, v in headers.items()}
    found = _AUTH.match(lowered.get("authorization", ""))
    if found is None:
        return "IncompleteSignatureException", "Authorization header is not a SigV4 signature"
    secret = credentials.get(found["key"])
    if secret is None:
        return "UnrecognizedClientException", "The security token included is invalid"
    stamp = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "IncompleteSignatureException", "X-Amz-Date is missing or malformed"
    if abs((now or datetime.now(UTC)) - signed_at) > MAX_SKEW:
        return "InvalidSignatureException", "Signature expired"
    names = found["signed"].split(";")
    request = AWSRequest(
        method=method, url=url, data=body, headers={n: lowered.get(n, "") for n in names}
    )
    request.context["timestamp"] = stamp
    token = lowered.get("x-amz-security-token")
    auth = SigV4Auth(Credentials(found["key"], secret, token), found["service"], found["region"])
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, found["sig"]):
        return "InvalidSignatureException", "The request signature we calculated does not match"
    return None
