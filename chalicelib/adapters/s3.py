"""S3 media: presigned POSTs for uploads, reads for processing, and read URLs.

Read URLs have **one switch**, :func:`read_url`: when the stage configures a CloudFront
domain, key-pair id and private key (``SUMMON_MEDIA_CDN_DOMAIN``,
``SUMMON_CLOUDFRONT_KEY_ID``, ``SUMMON_CLOUDFRONT_KEY_SECRET_NAME``), media is read through
CloudFront with signed URLs (canned policy); otherwise (locally) with presigned S3 GETs.
``SUMMON_CLOUDFRONT_KEY_SECRET_NAME`` is the name of the Secrets Manager secret that holds
the PEM private key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from chalicelib import runtime
from chalicelib.adapters import aws_client

READ_URL_TTL_S = 15 * 60


@dataclass(frozen=True)
class Head:
    size: int
    etag: str
    content_type: str


def client() -> Any:
    return aws_client("s3")


def bucket() -> str:
    return runtime.settings().media_bucket


def presigned_post(
    key: str, content_type: str, max_bytes: int, expires_s: int
) -> tuple[str, dict[str, str]]:
    """URL and form fields of a POST whose policy fixes the key, the Content-Type and
    the size range 1..``max_bytes``."""
    post = client().generate_presigned_post(
        Bucket=bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, max_bytes],
        ],
        ExpiresIn=expires_s,
    )
    return str(post["url"]), {k: str(v) for k, v in post["fields"].items()}


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def head(key: str) -> Head | None:
    """The object's size, ETag and type, or None when it is gone."""
    try:
        meta = client().head_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return Head(
        size=int(meta.get("ContentLength", 0)),
        etag=str(meta.get("ETag", "")).strip('"'),
        content_type=str(meta.get("ContentType", "")),
    )


def read(key: str, limit: int) -> tuple[bytes, str] | None:
    """At most ``limit`` bytes of the object and the ETag of what was read (None: gone)."""
    try:
        obj = client().get_object(Bucket=bucket(), Key=key, Range=f"bytes=0-{limit - 1}")
    except ClientError as exc:
        if _missing(exc):
            return None
        raise
    return obj["Body"].read(), str(obj.get("ETag", "")).strip('"')


def put(key: str, body: bytes, content_type: str) -> None:
    client().put_object(Bucket=bucket(), Key=key, Body=body, ContentType=content_type)


def delete(key: str) -> None:
    client().delete_object(Bucket=bucket(), Key=key)


def put_file(key: str, path: str, content_type: str) -> None:
    """Upload a local file (multipart when large)."""
    client().upload_file(path, bucket(), key, ExtraArgs={"ContentType": content_type})


def download_url(key: str, ttl_s: int, filename: str) -> str:
    """A presigned S3 GET of ``key`` that downloads as ``filename`` (whatever the stage's
    media CDN: private archives are not served through it)."""
    params = {
        "Bucket": bucket(),
        "Key": key,
        "ResponseContentDisposition": f'attachment; filename="{filename}"',
    }
    return str(client().generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s))


def keys_under(prefix: str) -> list[str]:
    """Every object key starting with ``prefix``. 1 ListObjectsV2 per 1,000 keys."""
    pages = client().get_paginator("list_objects_v2").paginate(Bucket=bucket(), Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


# --- read URLs: the one switch ----------------------------------------------------------


def read_url(key: str, ttl_s: int = READ_URL_TTL_S, content_type: str = "") -> str:
    """A time-limited URL to read ``key``: CloudFront signed when configured, else a
    presigned S3 GET, which then answers with ``content_type`` whatever the object was
    stored with (processing refuses objects stored with another type in either case)."""
    s = runtime.settings()
    if s.media_cdn_domain and s.cloudfront_key_id and s.cloudfront_key_secret_name:
        return cloudfront_url(s.media_cdn_domain, s.cloudfront_key_id, key, ttl_s)
    params = {"Bucket": bucket(), "Key": key}
    if content_type:
        params["ResponseContentType"] = content_type
    return str(client().generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s))


def cloudfront_url(domain: str, key_id: str, key: str, ttl_s: int) -> str:
    private_key = runtime.get().memo("cloudfront_key", _cloudfront_key)

    def rsa_signer(message: bytes) -> bytes:
        signature: bytes = private_key.sign(message, padding.PKCS1v15(), hashes.SHA1())
        return signature

    expires = datetime.now(UTC) + timedelta(seconds=ttl_s)
    url = f"https://{domain}/{quote(key)}"
    return str(
        CloudFrontSigner(key_id, rsa_signer).generate_presigned_url(url, date_less_than=expires)
    )


def _cloudfront_key() -> Any:
    """The PEM private key in the Secrets Manager secret ``SUMMON_CLOUDFRONT_KEY_SECRET_NAME``
    names (1 GetSecretValue, once per runtime)."""
    name = runtime.settings().cloudfront_key_secret_name
    pem = str(aws_client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    return load_pem_private_key(pem.encode(), password=None)
