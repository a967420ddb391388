"""SQS media events with a DLQ, the announcements topic, SNS platform applications."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def test_media_queue_has_a_dead_letter_queue_and_kms(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "summon-prod-media-events",
            "KmsMasterKeyId": stack.resolve(stack.keys.ops.key_arn),
            "VisibilityTimeout": 360,
            "RedrivePolicy": {
                "deadLetterTargetArn": stack.resolve(stack.messaging.media_dlq.queue_arn),
                "maxReceiveCount": 5,
            },
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "MediaBucketEvents",
                                "Principal": {"Service": "s3.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                            }
                        )
                    ]
                )
            }
        },
    )


def test_the_app_consumes_the_queue_and_topic_it_is_named(full: Synth) -> None:
    template = full.primary_t.to_json()
    events = [
        e
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in r["Properties"].get("Events", {}).values()
    ]
    queues = [e["Properties"]["Queue"]["Fn::Sub"] for e in events if e["Type"] == "SQS"]
    topics = [e["Properties"]["Topic"]["Fn::Sub"] for e in events if e["Type"] == "SNS"]
    assert [q.rsplit(":", 1)[-1] for q in queues] == ["summon-prod-media-events"]
    assert [t.rsplit(":", 1)[-1] for t in topics] == ["summon-prod-announcements"]
    full.primary_t.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "summon-prod-announcements", "KmsMasterKeyId": Match.any_value()},
    )


@pytest.mark.parametrize(
    ("platform", "name"),
    [
        ("APNS", "summon-prod-apns"),
        ("APNS_SANDBOX", "summon-prod-apns-sandbox"),
        ("GCM", "summon-prod-fcm"),
    ],
)
def test_platform_applications_read_credentials_from_secrets_manager(
    full: Synth, platform: str, name: str
) -> None:
    template = full.primary_t.to_json()
    creates = [
        r["Properties"]["Create"]
        for r in template["Resources"].values()
        if r["Type"] == "Custom::SnsPlatformApplication"
    ]
    assert len(creates) == 3
    create = next(c for c in creates if f'"Platform":"{platform}"' in str(c).replace(" ", ""))
    text = str(create)
    assert f'"Name":"{name}"' in text.replace(" ", "")
    assert "{{resolve:secretsmanager:summon/prod/push/" in text
    assert "PlatformCredential" in text


def test_push_is_off_unless_configured(minimal: Synth) -> None:
    minimal.primary_t.resource_count_is("Custom::SnsPlatformApplication", 0)
