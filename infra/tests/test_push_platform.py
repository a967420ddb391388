"""The push platform applications' custom-resource handler (reads the secret itself)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.functions.push_platform import index

pytestmark = pytest.mark.cdk

APNS_KEYS = ["PlatformCredential", "PlatformPrincipal"]


class FakeSecrets:
    def __init__(self, value: dict[str, str]) -> None:
        self.value = value
        self.read: list[str] = []

    def get_secret_value(self, SecretId: str) -> dict[str, str]:
        self.read.append(SecretId)
        return {"SecretString": json.dumps(self.value)}


class FakeSns:
    class exceptions:
        class NotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_platform_application(self, **kw: Any) -> dict[str, str]:
        self.calls.append(("create", kw))
        arn = f"arn:aws:sns:us-east-1:1:app/{kw['Platform']}/{kw['Name']}"
        return {"PlatformApplicationArn": arn}

    def set_platform_application_attributes(self, **kw: Any) -> None:
        self.calls.append(("set", kw))

    def delete_platform_application(self, **kw: Any) -> None:
        self.calls.append(("delete", kw))


def _event(request: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceProperties": {
            "Name": "summon-prod-apns",
            "Platform": "APNS",
            "SecretId": "summon/prod/push/apns",
            "AttributeKeys": APNS_KEYS,
        },
        **extra,
    }


def test_create_passes_the_secrets_values_not_a_reference() -> None:
    sns, secrets = FakeSns(), FakeSecrets({"PlatformCredential": "KEY", "PlatformPrincipal": "ID"})
    arn = index.apply(_event("Create"), sns, secrets)
    assert arn.endswith("app/APNS/summon-prod-apns")
    assert secrets.read == ["summon/prod/push/apns"]
    ((call, kw),) = sns.calls
    assert call == "create"
    assert kw["Attributes"] == {"PlatformCredential": "KEY", "PlatformPrincipal": "ID"}


def test_update_sets_attributes_and_delete_removes() -> None:
    sns, secrets = FakeSns(), FakeSecrets({"PlatformCredential": "K2", "PlatformPrincipal": "ID"})
    old = _event("Create")["ResourceProperties"]
    arn = index.apply(
        _event("Update", PhysicalResourceId="arn:x", OldResourceProperties=old), sns, secrets
    )
    assert arn == "arn:x" and sns.calls[0][0] == "set"
    index.apply(_event("Delete", PhysicalResourceId="arn:x"), sns, secrets)
    assert sns.calls[-1] == ("delete", {"PlatformApplicationArn": "arn:x"})


def test_a_secret_missing_a_key_fails() -> None:
    with pytest.raises(ValueError, match="PlatformPrincipal"):
        index.apply(_event("Create"), FakeSns(), FakeSecrets({"PlatformCredential": "K"}))
