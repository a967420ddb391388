"""The event pump against a real moto server and a small Chalice app."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.app import Chalice, Rate

from devstack.pump import EventPump
from tests.devstack.support import Recorder

pytestmark = pytest.mark.integration

REGION = "us-east-1"


@dataclass
class Names:
    """Resource names unique to one run (the moto server lives for the whole session)."""

    jobs: str
    flaky: str
    doomed: str
    dlq: str
    topic: str
    bucket: str


@dataclass
class World:
    pump: EventPump
    names: Names
    recorder: Recorder
    sqs: Any
    sns: Any
    s3: Any

    def queue_url(self, name: str) -> str:
        return str(self.sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def queue_depth(self, name: str) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )


def build_app(names: Names, recorder: Recorder) -> Chalice:
    app = Chalice(app_name="pump-test", configure_logs=False)
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    @app.on_sqs_message(queue=names.jobs, batch_size=5)
    def on_job(event: Any) -> None:
        recorder.add("on_job", event.to_dict())

    @app.on_sqs_message(queue=names.flaky)
    def on_flaky(event: Any) -> None:
        recorder.add("on_flaky", event.to_dict())
        for record in event:
            with lock:
                attempts[record.body] = attempts.get(record.body, 0) + 1
                if attempts[record.body] == 1:
                    raise RuntimeError("first delivery fails")

    @app.on_sqs_message(queue=names.doomed)
    def on_doomed(event: Any) -> None:
        recorder.add("on_doomed", event.to_dict())
        raise RuntimeError("always fails")

    @app.on_sns_message(topic=names.topic)
    def on_announcement(event: Any) -> None:
        recorder.add("on_announcement", event.to_dict())
        recorder.add("on_announcement.parsed", {"message": event.message, "subject": event.subject})

    @app.on_s3_event(bucket=names.bucket, prefix="uploads/")
    def on_upload(event: Any) -> None:
        recorder.add("on_upload", {"bucket": event.bucket, "key": event.key, **event.to_dict()})

    @app.schedule(Rate(1, unit=Rate.MINUTES))
    def every_minute(event: Any) -> None:
        recorder.add("every_minute", event.to_dict())

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x")
    def on_stream(event: Any) -> None:  # not delivered locally (yet)
        recorder.add("on_stream", event.to_dict())

    return app


@pytest.fixture(scope="module")
def world(moto_endpoint: str) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:8]
    names = Names(
        jobs=f"jobs-{suffix}",
        flaky=f"flaky-{suffix}",
        doomed=f"doomed-{suffix}",
        dlq=f"doomed-dlq-{suffix}",
        topic=f"announcements-{suffix}",
        bucket=f"media-{suffix}",
    )
    kw: dict[str, Any] = {"endpoint_url": moto_endpoint, "region_name": REGION}
    sqs, sns, s3 = boto3.client("sqs", **kw), boto3.client("sns", **kw), boto3.client("s3", **kw)
    sqs.create_queue(QueueName=names.jobs)
    sqs.create_queue(QueueName=names.flaky, Attributes={"VisibilityTimeout": "1"})
    dlq_url = sqs.create_queue(QueueName=names.dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    sqs.create_queue(
        QueueName=names.doomed,
        Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive},
    )
    sns.create_topic(Name=names.topic)
    s3.create_bucket(Bucket=names.bucket)
    other_url = sqs.create_queue(QueueName=f"app-route-{suffix}")["QueueUrl"]
    other_arn = sqs.get_queue_attributes(QueueUrl=other_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    s3.put_bucket_notification_configuration(  # the app's own S3 -> SQS route stays
        Bucket=names.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"Id": "app-route", "QueueArn": other_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )

    recorder = Recorder()
    pump = EventPump(
        build_app(names, recorder),
        endpoint_url=moto_endpoint,
        region=REGION,
        schedule_period_s=0.2,
        wait_time_s=1,
        retry_delay_s=1,
    )
    pump.start()
    assert pump.wait_ready(10)
    yield World(pump, names, recorder, sqs, sns, s3)
    pump.stop()


def test_handlers_are_discovered_from_the_app(world: World) -> None:
    kinds = {(s.kind, s.name) for s in world.pump.sources}
    assert kinds == {
        ("sqs", "on_job"),
        ("sqs", "on_flaky"),
        ("sqs", "on_doomed"),
        ("sns", "on_announcement"),
        ("s3", "on_upload"),
    }
    assert [s.name for s in world.pump.schedules] == ["every_minute"]


def test_sqs_message_is_delivered_once_and_deleted(world: World) -> None:
    world.sqs.send_message(
        QueueUrl=world.queue_url(world.names.jobs),
        MessageBody='{"job": 1}',
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )
    (event,) = world.recorder.wait_for("on_job")
    (record,) = event["Records"]
    assert record["body"] == '{"job": 1}'
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(f":{world.names.jobs}")
    assert record["awsRegion"] == REGION
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert {"messageId", "receiptHandle", "md5OfBody"} <= record.keys()
    deadline = time.monotonic() + 5
    while world.queue_depth(world.names.jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.queue_depth(world.names.jobs) == 0
    assert len(world.recorder.of("on_job")) == 1


def test_a_raising_sqs_handler_gets_the_message_again(world: World) -> None:
    world.sqs.send_message(QueueUrl=world.queue_url(world.names.flaky), MessageBody="retry-me")
    first, second = world.recorder.wait_for("on_flaky", count=2, timeout=8)
    assert first["Records"][0]["messageId"] == second["Records"][0]["messageId"]
    assert second["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    deadline = time.monotonic() + 5
    while world.queue_depth(world.names.flaky) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.queue_depth(world.names.flaky) == 0


def test_redrive_policy_moves_a_failing_message_to_the_dlq(world: World) -> None:
    world.sqs.send_message(QueueUrl=world.queue_url(world.names.doomed), MessageBody="poison")
    world.recorder.wait_for("on_doomed")
    dlq = world.queue_url(world.names.dlq)
    deadline = time.monotonic() + 8
    moved: list[dict[str, Any]] = []
    while not moved and time.monotonic() < deadline:
        moved = world.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in moved] == ["poison"]


def test_sns_publish_reaches_the_handler_as_an_sns_record(world: World) -> None:
    topic_arn = world.sns.create_topic(Name=world.names.topic)["TopicArn"]
    world.sns.publish(
        TopicArn=topic_arn,
        Message='{"text": "hello"}',
        Subject="Announcement",
        MessageAttributes={"audience": {"DataType": "String", "StringValue": "everyone"}},
    )
    (event,) = world.recorder.wait_for("on_announcement")
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventSubscriptionArn"].startswith(topic_arn)
    sns = record["Sns"]
    assert sns["TopicArn"] == topic_arn
    assert sns["Message"] == '{"text": "hello"}'
    assert sns["Subject"] == "Announcement"
    assert sns["MessageAttributes"] == {"audience": {"Type": "String", "Value": "everyone"}}
    assert sns["MessageId"] and sns["Timestamp"]
    parsed = world.recorder.wait_for("on_announcement.parsed")[0]
    assert parsed == {"message": '{"text": "hello"}', "subject": "Announcement"}


def test_s3_object_created_reaches_the_handler(world: World) -> None:
    world.s3.put_object(Bucket=world.names.bucket, Key="uploads/a b.png", Body=b"\x89PNG")
    world.s3.put_object(Bucket=world.names.bucket, Key="elsewhere/x.png", Body=b"x")
    (event,) = world.recorder.wait_for("on_upload")
    assert event["bucket"] == world.names.bucket
    assert event["key"] == "uploads/a b.png"
    assert event["Records"][0]["eventSource"] == "aws:s3"
    assert event["Records"][0]["eventName"].startswith("ObjectCreated")


def test_bucket_notifications_of_others_are_kept(world: World) -> None:
    config = world.s3.get_bucket_notification_configuration(Bucket=world.names.bucket)
    ids = [q["Id"] for q in config.get("QueueConfigurations", [])]
    assert sorted(ids) == ["app-route", "devstack-pump-s3-on_upload"]
    assert all(e["key"].startswith("uploads/") for e in world.recorder.of("on_upload"))


def test_schedule_handler_fires_with_a_scheduled_event(world: World) -> None:
    first, second = world.recorder.wait_for("every_minute", count=2, timeout=5)[:2]
    assert first["detail-type"] == "Scheduled Event"
    assert first["source"] == "aws.events"
    assert first["resources"][0].startswith(f"arn:aws:events:{REGION}:")
    assert first["id"] != second["id"]


def test_unsupported_sources_are_not_delivered(world: World) -> None:
    assert world.recorder.of("on_stream") == []
