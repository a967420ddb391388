"""The emulator's journal (devstack/persist.py): what a client wrote before the emulator
stopped is there after it starts again on the same directory, with the same generated ids
(Cognito subs, refresh tokens, SNS endpoint ARNs), counters not applied twice, a torn last
line (a kill in mid-write) dropped, and reads and failed calls not journaled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from devstack.emulator import Emulator
from devstack.persist import Journal

pytestmark = pytest.mark.integration

KEYS = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "t"}
PASSWORD = "Passw0rd!x"


class Run:
    """One emulator on the state directory; ``restart()`` forgets moto's memory (as a new
    process would) and starts another on the same directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.journal: Journal | None = None
        self.emulator: Emulator | None = None

    def start(self) -> Run:
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()  # a new process: nothing in memory
        self.journal = Journal(self.dir)
        self.emulator = Emulator(journal=self.journal).start()
        return self

    def stop(self) -> None:
        assert self.emulator is not None and self.journal is not None
        self.emulator.stop()
        self.journal.close()

    def restart(self) -> Run:
        self.stop()
        return self.start()

    def client(self, service: str) -> Any:
        assert self.emulator is not None
        return boto3.client(service, endpoint_url=self.emulator.endpoint, **KEYS)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    started = Run(tmp_path / "state").start()
    yield started
    started.stop()


def _table(ddb: Any) -> None:
    ddb.create_table(
        TableName="things",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _counter_at_2(run: Run) -> Any:
    """The table with item ``a`` whose ``n`` was put at 1, then ``ADD``-ed 1."""
    ddb = run.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="things", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(
        TableName="things",
        Key={"pk": {"S": "a"}},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    return ddb


def test_every_kind_of_state_comes_back_with_the_same_ids(run: Run) -> None:
    ddb = _counter_at_2(run)
    ddb.put_item(TableName="things", Item={"pk": {"S": "gone"}})
    ddb.delete_item(TableName="things", Key={"pk": {"S": "gone"}})
    idp = run.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="people")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="customers")
    signed_up = idp.sign_up(ClientId=client, Username="ana@example.com", Password=PASSWORD)
    idp.admin_confirm_sign_up(UserPoolId=pool, Username="ana@example.com")
    idp.admin_add_user_to_group(UserPoolId=pool, Username="ana@example.com", GroupName="customers")
    tokens = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    s3 = run.client("s3")
    s3.create_bucket(Bucket="media-bucket")
    s3.put_object(Bucket="media-bucket", Key="photo.jpg", Body=b"\xff\xd8\x00binary")
    s3.put_object(Bucket="media-bucket", Key="deleted.jpg", Body=b"x")
    s3.delete_object(Bucket="media-bucket", Key="deleted.jpg")
    sns = run.client("sns")
    app_arn = sns.create_platform_application(
        Name="fcm", Platform="GCM", Attributes={"PlatformCredential": "key"}
    )["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token="device-1")

    for _ in range(2):  # the second start replays the compacted snapshot
        run.restart()
        ddb, idp, s3, sns = (run.client(s) for s in ("dynamodb", "cognito-idp", "s3", "sns"))
        item = ddb.get_item(TableName="things", Key={"pk": {"S": "a"}})["Item"]
        assert item["n"] == {"N": "2"}  # the ADD applied once
        assert "Item" not in ddb.get_item(TableName="things", Key={"pk": {"S": "gone"}})
        user = idp.admin_get_user(UserPoolId=pool, Username="ana@example.com")
        sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
        assert sub == signed_up["UserSub"]
        groups = idp.admin_list_groups_for_user(UserPoolId=pool, Username="ana@example.com")
        assert [g["GroupName"] for g in groups["Groups"]] == ["customers"]
        idp.initiate_auth(  # the password
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ana@example.com", "PASSWORD": PASSWORD},
        )
        refreshed = idp.initiate_auth(  # the refresh token issued before
            ClientId=client,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
        assert refreshed["AuthenticationResult"]["IdToken"]
        body = s3.get_object(Bucket="media-bucket", Key="photo.jpg")["Body"].read()
        assert body == b"\xff\xd8\x00binary"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="media-bucket").get("Contents", [])]
        assert keys == ["photo.jpg"]
        found = sns.get_endpoint_attributes(EndpointArn=endpoint["EndpointArn"])
        assert found["Attributes"]["Token"] == "device-1"


def test_reads_and_failed_calls_are_not_journaled(run: Run) -> None:
    ddb = run.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="things", Item={"pk": {"S": "a"}})
    journal = next(run.dir.glob("journal.*.jsonl"))
    size = journal.stat().st_size
    ddb.get_item(TableName="things", Key={"pk": {"S": "a"}})
    ddb.query(
        TableName="things",
        KeyConditionExpression="pk = :a",
        ExpressionAttributeValues={":a": {"S": "a"}},
    )
    with pytest.raises(ClientError):
        ddb.put_item(
            TableName="things",
            Item={"pk": {"S": "a"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    run.client("s3").list_buckets()
    assert journal.stat().st_size == size


def test_a_torn_last_line_is_dropped_and_what_came_before_is_kept(run: Run) -> None:
    ddb = run.client("dynamodb")
    _table(ddb)
    ddb.put_item(TableName="things", Item={"pk": {"S": "kept"}})
    journal = next(run.dir.glob("journal.*.jsonl"))
    with journal.open("ab") as f:
        f.write(b'{"svc":"dynamodb","op":"PutItem","env":{')  # killed in mid-write
    run.restart()
    ddb = run.client("dynamodb")
    assert "Item" in ddb.get_item(TableName="things", Key={"pk": {"S": "kept"}})


def test_a_kill_between_snapshot_and_journal_removal_applies_nothing_twice(run: Run) -> None:
    _counter_at_2(run)
    journal = next(run.dir.glob("journal.*.jsonl"))
    kept = journal.read_bytes()
    run.restart()  # the snapshot now holds that journal's generation
    journal.write_bytes(kept)  # as if the kill came before the journal was removed
    run.restart()
    item = run.client("dynamodb").get_item(TableName="things", Key={"pk": {"S": "a"}})["Item"]
    assert item["n"] == {"N": "2"}


def test_a_second_emulator_on_the_same_directory_is_refused(run: Run) -> None:
    with pytest.raises(RuntimeError, match="in use"):
        Journal(run.dir, lock_timeout_s=0.5)


def test_a_chunked_upload_comes_back_whole(run: Run) -> None:
    s3 = run.client("s3")
    s3.create_bucket(Bucket="media-bucket")
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": "media-bucket", "Key": "chunked.bin"}, ExpiresIn=60
    )
    sent = requests.put(url, data=iter([b"first-", b"second"]), timeout=10)  # chunked
    assert sent.status_code == 200
    run.restart()
    body = run.client("s3").get_object(Bucket="media-bucket", Key="chunked.bin")["Body"].read()
    assert body == b"first-second"
