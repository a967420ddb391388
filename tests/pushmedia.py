"""Shared helpers of the push and media tests (moto in-process)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

REGION = "us-east-1"


def provision(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Media bucket (S3 → SQS notifications), media queue, announcements topic, fan-out
    queue and the three SNS platform applications, as devstack provisions them; the app's
    env set."""
    from chalicelib import config, runtime
    from devstack import provision as prov

    names = config.default_names("test")
    env = prov.queues_topics_buckets(None, REGION, names)  # type: ignore[arg-type]
    for key in (
        config.PUSH_APNS_ARN,
        config.PUSH_APNS_SANDBOX_ARN,
        config.PUSH_FCM_ARN,
        config.FANOUT_QUEUE,
    ):
        monkeypatch.setenv(key, env[key])
    runtime.use(settings=config.load())  # now: chalice's test client sets SUMMON_STAGE=dev per call
    return {**names, **env}


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def endpoints() -> dict[str, Any]:
    """Every SNS platform endpoint moto holds, by ARN (``.messages``, ``.attributes``)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    return dict(sns_backends[DEFAULT_ACCOUNT_ID][REGION].platform_endpoints)


def pushes() -> list[tuple[str, dict[str, Any]]]:
    """(endpoint ARN, decoded platform payload) of every push sent, oldest first."""
    out = []
    for arn, endpoint in endpoints().items():
        for raw in endpoint.messages.values():
            outer = json.loads(raw)
            key = next(k for k in outer if k != "default")
            out.append((arn, json.loads(outer[key])))
    return out


APNS_TOKEN = "a" * 64
APNS_TOKEN_2 = "b" * 64
FCM_TOKEN = "fcm-token-" + "x" * 140
