"""Which failures tell the client "busy, retry" (503) rather than "our bug" (500):
``chalicelib.errors.transient`` reads botocore's error shape through PynamoDB's and
Powertools' wrapping."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.errors import Conflict, transient

pytestmark = pytest.mark.unit


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
        ("Throttled", 400),
        ("InternalError", 500),
        ("SomethingNew", 503),
    ],
)
def test_throttling_and_5xx_are_transient_however_wrapped(code: str, status: int) -> None:
    error = _client_error(code, status)
    assert transient(error)
    assert transient(PutError("Failed to put item", error))  # PynamoDB keeps it as .cause
    try:
        try:
            raise error
        except ClientError as inner:
            raise RuntimeError("persistence layer failed") from inner  # Powertools' way
    except RuntimeError as outer:
        assert transient(outer)


def test_an_unreachable_dependency_is_transient() -> None:
    assert transient(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ConditionalCheckFailedException", 400),
        _client_error("ValidationException", 400),
        TransactWriteError("cancelled", _client_error("TransactionCanceledException", 400)),
        Conflict("taken"),
        KeyError("bug"),
    ],
)
def test_a_refused_call_or_a_bug_is_not(error: Exception) -> None:
    assert not transient(error)
