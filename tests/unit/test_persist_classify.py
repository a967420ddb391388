"""Which emulator calls the journal keeps (devstack/persist.py): those that change kept
state (DynamoDB, Cognito, S3, SNS), not reads, publishes, SQS or moto's own API."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.persist import classify

pytestmark = pytest.mark.unit

SIGNED = (
    "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/{}/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def _call(method: str = "POST", target: str = "", service: str = "", path: str = "/", **extra: Any):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": ""}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    if service:
        environ["HTTP_AUTHORIZATION"] = SIGNED.format(service)
    environ.update(extra)
    return environ


@pytest.mark.parametrize(
    ("environ", "body", "kept"),
    [
        (_call(target="DynamoDB_20120810.PutItem"), b"", ("dynamodb", "PutItem")),
        (
            _call(target="DynamoDB_20120810.TransactWriteItems"),
            b"",
            ("dynamodb", "TransactWriteItems"),
        ),
        (_call(target="DynamoDB_20120810.Query"), b"", None),
        (_call(target="DynamoDB_20120810.BatchGetItem"), b"", None),
        (_call(target="AWSCognitoIdentityProviderService.SignUp"), b"", ("cognito-idp", "SignUp")),
        (
            _call(target="AWSCognitoIdentityProviderService.InitiateAuth"),
            b"",
            ("cognito-idp", "InitiateAuth"),
        ),
        (_call(target="AWSCognitoIdentityProviderService.AdminGetUser"), b"", None),
        (_call(target="AWSCognitoIdentityProviderService.AdminListGroupsForUser"), b"", None),
        (_call(target="AmazonSQS.SendMessage"), b"", None),
        (
            _call(service="sns"),
            b"Action=CreatePlatformEndpoint&Token=t",
            ("sns", "CreatePlatformEndpoint"),
        ),
        (_call(service="sns"), b"Action=Publish&Message=hi", None),
        (_call(service="sns"), b"Action=ListTopics", None),
        (_call("PUT", service="s3", path="/bucket/key"), b"data", ("s3", "PUT")),
        (_call("DELETE", service="s3", path="/bucket/key"), b"", ("s3", "DELETE")),
        (
            _call("PUT", path="/bucket/key", QUERY_STRING="AWSAccessKeyId=testing"),
            b"x",
            ("s3", "PUT"),
        ),
        (
            _call(path="/bucket", CONTENT_TYPE="multipart/form-data; boundary=x"),
            b"",
            ("s3", "POST"),
        ),
        (_call(path="/moto-api/reset"), b"", None),
    ],
)
def test_what_the_journal_keeps(environ: dict[str, Any], body: bytes, kept: Any) -> None:
    assert classify(environ, body) == kept
