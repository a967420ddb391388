"""The library internals the local stack relies on (devstack/patches.py) are still what the
patches were written for. Each test fails when an upgrade of botocore, moto or chalice
changes a name, a signature or a behaviour relied on: port ``devstack/patches.py`` (and
``devstack/http_api.py`` for chalice), then update the expectation here.

The moto functions the emulator replaces or wraps are pinned by a hash of their source:
any change to them, even a harmless one, means re-reading them against the patch."""

from __future__ import annotations

import hashlib
import inspect
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import handlers
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from devstack import patches

pytestmark = pytest.mark.integration

REGION = "us-east-1"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


# --- botocore: every new session registers BUILTIN_HANDLERS; the call events ----------------


class Seen:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event_name: str, **kwargs: Any) -> None:
        self.events.append((event_name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    """A handler hooked through :func:`patches.on_every_client_call` for this test only
    (a private copy of the builtin list, and an existing default session)."""
    monkeypatch.setattr(handlers, "BUILTIN_HANDLERS", list(handlers.BUILTIN_HANDLERS))
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", boto3.Session(region_name=REGION))
    handler = Seen()
    patches.on_every_client_call(handler, unique_id=f"test-{uuid.uuid4().hex}")
    return handler


def _clients(endpoint: str) -> dict[str, Any]:
    """A DynamoDB client built each way the app builds them."""
    from pynamodb.connection import Connection

    pynamodb = Connection(region=REGION, host=endpoint)
    pynamodb.session.set_credentials("testing", "testing")
    return {
        "botocore session (PynamoDB's way)": pynamodb.client,
        "boto3.Session()": boto3.Session(region_name=REGION, **KEYS).client(
            "dynamodb", endpoint_url=endpoint
        ),
        "boto3 default session": boto3.client("dynamodb", endpoint_url=endpoint, **KEYS),
        "bare botocore": botocore.session.get_session().create_client(
            "dynamodb", region_name=REGION, endpoint_url=endpoint, **KEYS
        ),
    }


def test_every_new_client_emits_the_call_events_to_the_hooked_handler(
    moto_endpoint: str, seen: Seen
) -> None:
    for how, client in _clients(moto_endpoint).items():
        seen.events.clear()
        client.list_tables(Limit=1)
        assert seen.names() == [
            f"{p}.dynamodb.ListTables" for p in ("before-call", "after-call")
        ], how
        (_, before), (_, after) = seen.events
        assert before["context"] is after["context"], how  # one dict per call
        assert b"Limit" in before["params"]["body"], how  # the serialized request
        assert "TableNames" in after["parsed"], how


def test_an_aws_error_ends_with_after_call_and_no_answer_with_after_call_error(
    moto_endpoint: str, seen: Seen
) -> None:
    client = _clients(moto_endpoint)["boto3.Session()"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_table(TableName="missing")
    assert seen.names()[-1] == "after-call.dynamodb.DescribeTable"
    assert seen.events[-1][1]["parsed"]["Error"]["Code"] == "ResourceNotFoundException"

    dead = boto3.Session(region_name=REGION, **KEYS).client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )
    seen.events.clear()
    with pytest.raises(BotoCoreError):
        dead.list_tables()
    assert seen.names() == [
        "before-call.dynamodb.ListTables",
        "after-call-error.dynamodb.ListTables",
    ]


def test_builtin_handlers_entries_and_register_first() -> None:
    assert isinstance(handlers.BUILTIN_HANDLERS, list)
    assert handlers.REGISTER_FIRST is not handlers.REGISTER_LAST
    entry = ("before-call", lambda **_: None, handlers.REGISTER_FIRST)
    assert all(len(spec) in (2, 3) for spec in [*handlers.BUILTIN_HANDLERS, entry])


def test_thread_pool_submit_takes_the_task_then_its_arguments() -> None:
    submit = ThreadPoolExecutor.submit
    original = getattr(submit, "__wrapped__", submit)  # as patches.copy_context_into_pools
    params = inspect.signature(original).parameters.values()
    assert [(p.name, p.kind) for p in params] == [
        ("self", inspect.Parameter.POSITIONAL_ONLY),
        ("fn", inspect.Parameter.POSITIONAL_ONLY),
        ("args", inspect.Parameter.VAR_POSITIONAL),
        ("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]


# --- moto: what the emulator replaces and wraps ------------------------------------------------


def _source_hash(function: Any) -> str:
    original = getattr(function, "_moto_original", function)
    return hashlib.sha256(inspect.getsource(original).encode()).hexdigest()[:16]


def test_the_moto_functions_the_emulator_replaces_are_unchanged() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    assert {
        "DynamoDBBackend.transact_write_items": _source_hash(DynamoDBBackend.transact_write_items),
        "Table.query": _source_hash(Table.query),
        "Table.all_items": _source_hash(Table.all_items),
    } == {
        "DynamoDBBackend.transact_write_items": "81db2cb7d94e39c9",
        "Table.query": "002b4d00be6df07c",
        "Table.all_items": "c80d2ee3c896acd0",
    }


def test_the_moto_names_the_patches_use_are_there() -> None:
    from moto import backends
    from moto.core import responses, utils
    from moto.dynamodb import comparisons, exceptions
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    for name in ("get_table", "get_item", "get_keys_value", "put_item", "delete_item"):
        assert callable(getattr(DynamoDBBackend, name)), name
    update = inspect.signature(DynamoDBBackend.update_item).parameters
    put = inspect.signature(DynamoDBBackend.put_item).parameters
    for expected in ("update_expression", "condition_expression", "expression_attribute_values"):
        assert expected in update, expected
    assert "expression_attribute_names" in put
    for error in (
        "ConditionalCheckFailed",
        "MockValidationException",
        "MultipleTransactionsException",
        "TooManyTransactionsException",
        "TransactionCanceledException",
        "TransactWriteSingleOpException",
    ):
        assert isinstance(getattr(exceptions, error), type), error
    assert callable(comparisons.get_filter_expression)
    query = list(inspect.signature(patches_query_original()).parameters)
    assert query[:9] == [
        "self",
        "hash_key",
        "range_comparison",
        "range_objs",
        "limit",
        "exclusive_start_key",
        "scan_index_forward",
        "projection_expressions",
        "index_name",
    ]
    modules = getattr(backends.list_of_moto_modules, "_moto_original", None)
    assert list(inspect.signature(modules or backends.list_of_moto_modules).parameters) == []
    assert list(inspect.signature(utils.method_names_from_class).parameters) == ["clazz"]
    assert hasattr(responses, "method_names_from_class")  # looked up there per request
    assert isinstance(
        inspect.getattr_static(UpdateExpressionParser, "make"), classmethod | staticmethod
    )

    backend = DynamoDBBackend(REGION, "123456789012")
    table = backend.create_table(
        "t",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
        throughput=None,
        billing_mode="PAY_PER_REQUEST",
        indexes=None,
        global_indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for name in ("items", "stream_shard", "hash_key_attr", "range_key_attr"):
        assert hasattr(table, name), name
    assert isinstance(table.stream_shard.items, list)
    assert "t" in backend.tables


def patches_query_original() -> Any:
    from moto.dynamodb.models.table import Table

    return getattr(Table.query, "_moto_original", Table.query)


def test_moto_server_dispatch_used_by_the_emulator() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    assert list(inspect.signature(DomainDispatcherApplication.get_application).parameters) == [
        "self",
        "environ",
    ]
    assert callable(create_backend_app)


def test_moto_draws_its_ids_from_one_seedable_random_and_s3_events_through_the_module() -> None:
    import random

    from moto.cognitoidp import models as cognito
    from moto.moto_api._internal import mock_random
    from moto.s3 import models as s3_models
    from moto.s3 import notifications
    from moto.sns import models as sns_models

    assert isinstance(mock_random, random.Random)
    assert cognito.random is mock_random and sns_models.mock_random is mock_random
    with patches.seeded_random(7):
        first = (mock_random.uuid4(), mock_random.get_random_hex(6), mock_random.randint(1, 99))
    with patches.seeded_random(7):
        again = (mock_random.uuid4(), mock_random.get_random_hex(6), mock_random.randint(1, 99))
    assert first == again
    assert mock_random.uuid4() != first[0]  # outside: moto's shared source
    assert s3_models.notifications is notifications
    assert "notifications.send_event(" in inspect.getsource(s3_models)
    original = getattr(notifications.send_event, "_moto_original", notifications.send_event)
    assert list(inspect.signature(original).parameters) == [
        "account_id",
        "event_name",
        "bucket",
        "key",
    ]


# --- chalice: the local server's private methods http_api.py overrides or calls ---------------


@pytest.mark.parametrize(
    ("owner", "name", "params"),
    [
        ("LocalGateway", "_generate_lambda_event", ["self", "method", "path", "headers", "body"]),
        ("LocalGatewayAuthorizer", "_route_for_event", ["self", "lambda_event"]),
        ("LocalGatewayAuthorizer", "_update_lambda_event", ["self", "lambda_event", "auth_result"]),
        ("ChaliceRequestHandler", "_generic_handle", ["self"]),
        ("ChaliceRequestHandler", "_send_http_response", ["self", "code", "headers", "body"]),
    ],
)
def test_chalice_local_private_methods(owner: str, name: str, params: list[str]) -> None:
    from chalice import local

    method = getattr(getattr(local, owner), name)
    assert list(inspect.signature(method).parameters) == params


def test_chalice_local_gateway_keeps_its_authorizer_in_an_attribute() -> None:
    from chalice import local

    assert "self._authorizer = " in inspect.getsource(local.LocalGateway.__init__)
    assert "self._authorizer.authorize(" in inspect.getsource(local.LocalGateway)
