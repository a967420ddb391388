"""Fault injection (devstack/faults.py): the emulator fails DynamoDB and SNS calls in AWS's
own error shapes, so botocore parses and retries them as it does in the cloud, and its
switch is set at start or at run time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devstack import emulator, faults

pytestmark = pytest.mark.integration

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def server() -> Iterator[emulator.Emulator]:
    started = emulator.Emulator().start()
    try:
        yield started
    finally:
        started.stop()


def _client(server: emulator.Emulator, service: str, config: Config | None = None) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


@pytest.fixture
def table(server: emulator.Emulator) -> Iterator[str]:
    faults.switch(server.endpoint, {})
    name = f"faults-{uuid.uuid4().hex[:8]}"
    _client(server, "dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    faults.switch(server.endpoint, {})


def test_dynamodb_faults_have_dynamodbs_error_shapes_and_change_nothing(
    server: emulator.Emulator, table: str
) -> None:
    state = faults.switch(server.endpoint, {"dynamodb": 1.0, "seed": 3})
    assert state["rates"] == {"dynamodb": 1.0}
    ddb = _client(server, "dynamodb", NO_RETRY)
    seen: dict[str, int] = {}
    for n in range(30):
        with pytest.raises(ClientError) as failed:
            ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})
        error = failed.value.response
        seen[error["Error"]["Code"]] = error["ResponseMetadata"]["HTTPStatusCode"]
    assert seen == {
        "ProvisionedThroughputExceededException": 400,
        "ThrottlingException": 400,
        "InternalServerError": 500,
    }
    assert faults.state(server.endpoint)["injected"]["dynamodb"] == 30
    faults.switch(server.endpoint, {})
    assert ddb.scan(TableName=table)["Count"] == 0  # refused before it ran


def test_botocore_retries_an_injected_dynamodb_fault_as_in_the_cloud(
    server: emulator.Emulator, table: str
) -> None:
    faults.switch(server.endpoint, {"dynamodb": 0.5, "seed": 11})
    ddb = _client(
        server, "dynamodb", Config(retries={"total_max_attempts": 10, "mode": "standard"})
    )
    retried = 0
    for n in range(20):
        response = ddb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})
        retried += response["ResponseMetadata"]["RetryAttempts"]
    assert retried > 0  # faults were met, and retried away
    faults.switch(server.endpoint, {})
    assert ddb.scan(TableName=table)["Count"] == 20


def test_sns_publish_faults_have_sns_error_shapes(server: emulator.Emulator) -> None:
    sns = _client(server, "sns", NO_RETRY)
    topic = sns.create_topic(Name=f"faults-{uuid.uuid4().hex[:8]}")["TopicArn"]
    faults.switch(server.endpoint, {"sns": 1.0})
    codes = set()
    for _ in range(12):
        with pytest.raises(ClientError) as failed:
            sns.publish(TopicArn=topic, Message="hello")
        codes.add(failed.value.response["Error"]["Code"])
    sns.list_topics()  # only Publish fails
    assert codes == {"InternalError", "Throttled"}
    faults.switch(server.endpoint, {})
    assert sns.publish(TopicArn=topic, Message="hello")["MessageId"]


def test_the_switch_is_seeded_and_refuses_what_it_does_not_know(
    server: emulator.Emulator,
) -> None:
    def draws(seed: int) -> list[bool]:
        dice = faults.Dice("aws", faults.parse(f"rate=0.3,seed={seed}"))
        return [dice.roll("dynamodb") for _ in range(200)]

    assert draws(5) == draws(5)
    assert draws(5) != draws(6)
    assert 30 < sum(draws(5)) < 90
    assert faults.parse("rate=0.05,kinds=sns+media,media=0.5").rates == {
        "sns": 0.05,
        "media": 0.5,
    }
    for bad in ("rate=2", "kinds=disk", "rate", "speed=1"):
        with pytest.raises(ValueError):
            faults.parse(bad)
    with pytest.raises(Exception) as refused:
        faults.switch(server.endpoint, {"rate": "lots"})
    assert "400" in str(refused.value)
