"""Adapters to AWS services (SNS push, S3 media, WebSocket sender, idempotency): the only
place besides the store that talks to boto3."""

from __future__ import annotations

from typing import Any

import boto3

from chalicelib import runtime


def aws_client(service: str) -> Any:
    """This container's boto3 client of ``service`` in the stage's region (one per runtime)."""
    return runtime.get().memo(
        f"aws:{service}", lambda: boto3.client(service, region_name=runtime.settings().region)
    )
