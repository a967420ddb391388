"""SQS media events and announcement pages with their DLQs, the announcements topic, SNS
platform applications."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


@pytest.mark.parametrize(
    ("queue", "visibility", "dlq"),
    [("media-events", 360, "media_dlq"), ("fanout", 180, "fanout_dlq")],
)
def test_queues_have_a_dead_letter_queue_and_kms(
    full: Synth, queue: str, visibility: int, dlq: str
) -> None:
    stack = full.primary
    for name in (f"summon-prod-{queue}", f"summon-prod-{queue}-dlq"):
        full.primary_t.has_resource_properties(
            "AWS::SQS::Queue",
            {"QueueName": name, "KmsMasterKeyId": stack.resolve(stack.keys.ops.key_arn)},
        )
    full.primary_t.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": f"summon-prod-{queue}",
            "VisibilityTimeout": visibility,
            "RedrivePolicy": {
                "deadLetterTargetArn": stack.resolve(getattr(stack.messaging, dlq).queue_arn),
                "maxReceiveCount": 5,
            },
        },
    )


def test_the_bucket_may_send_to_the_media_queue(full: Synth) -> None:
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


def test_exports_queue_has_a_dead_letter_queue_and_kms(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "summon-prod-exports",
            "KmsMasterKeyId": stack.resolve(stack.keys.ops.key_arn),
            "VisibilityTimeout": 1800,  # six times the builder's 5-minute timeout
            "RedrivePolicy": {
                "deadLetterTargetArn": stack.resolve(stack.messaging.exports_dlq.queue_arn),
                "maxReceiveCount": 3,
            },
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
    assert sorted(q.rsplit(":", 1)[-1] for q in queues) == [
        "summon-prod-exports",
        "summon-prod-fanout",
        "summon-prod-media-events",
    ]
    assert [t.rsplit(":", 1)[-1] for t in topics] == ["summon-prod-announcements"]
    full.primary_t.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "summon-prod-announcements", "KmsMasterKeyId": Match.any_value()},
    )


@pytest.mark.parametrize(
    ("platform", "name", "secret"),
    [
        ("APNS", "summon-prod-apns", "summon/prod/push/apns"),
        ("APNS_SANDBOX", "summon-prod-apns-sandbox", "summon/prod/push/apns-sandbox"),
        ("GCM", "summon-prod-fcm", "summon/prod/push/fcm"),
    ],
)
def test_platform_applications_name_their_secret_for_the_provider_to_read(
    full: Synth, platform: str, name: str, secret: str
) -> None:
    template = full.primary_t.to_json()
    apps = {
        r["Properties"]["Platform"]: r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "Custom::SnsPlatformApplication"
    }
    assert len(apps) == 3
    props = apps[platform]
    assert props["Name"] == name
    assert props["SecretId"] == secret
    assert "PlatformCredential" in props["AttributeKeys"]
    # The provider may read exactly the configured secrets.
    full.primary_t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "secretsmanager:GetSecretValue",
                                "Resource": Match.array_with(
                                    [
                                        Match.object_like(
                                            {
                                                "Fn::Join": [
                                                    "",
                                                    Match.array_with(
                                                        [Match.string_like_regexp(f"{secret}-")]
                                                    ),
                                                ]
                                            }
                                        )
                                    ]
                                ),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_custom_resource_property_holds_a_dynamic_reference(full: Synth) -> None:
    """CloudFormation resolves ``{{resolve:...}}`` in resource properties of its own types
    only: a custom resource (``Custom::*`` / ``AWS::CloudFormation::CustomResource``) would
    receive the literal text."""
    for template in (full.primary_t.to_json(), full.standby_t.to_json()):
        for logical_id, r in template["Resources"].items():
            if r["Type"].startswith("Custom::") or r["Type"].endswith("::CustomResource"):
                assert "{{resolve:" not in json.dumps(r.get("Properties", {})), logical_id


def test_push_is_off_unless_configured(minimal: Synth) -> None:
    minimal.primary_t.resource_count_is("Custom::SnsPlatformApplication", 0)


def _role_statements(full: Synth, logical_id: str) -> list[dict[str, object]]:
    stack = full.primary
    (fn,) = [f for f in stack.api.functions if f.logical_id == logical_id]
    role_id = stack.resolve(fn.role.role_arn)["Fn::GetAtt"][0]
    role = full.primary_t.to_json()["Resources"][role_id]
    return [st for p in role["Properties"]["Policies"] for st in p["PolicyDocument"]["Statement"]]


def _grants(statements: list[dict[str, object]]) -> dict[str, str]:
    """action -> the resources it is granted on (as JSON text)."""
    out: dict[str, str] = {}
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in actions:
            out[str(action)] = out.get(str(action), "") + json.dumps(st["Resource"])
    return out


def test_each_function_may_do_only_its_part_of_an_announcement(full: Synth) -> None:
    """The topic's handler only queues pages; the pages' consumer reads its queue, queues a
    shard's next page, reads the table, sends frames and pushes, and touches no media; the
    media consumer cannot send to the fan-out queue."""
    topic = _grants(_role_statements(full, "AnnouncementsTopic"))
    assert "summon-prod-fanout" in topic["sqs:SendMessage"]
    assert not {a for a in topic if a.split(":")[0] in ("dynamodb", "s3", "execute-api", "sns")}

    pages = _grants(_role_statements(full, "AnnouncementPages"))
    assert "summon-prod-fanout" in pages["sqs:ReceiveMessage"]
    assert "summon-prod-fanout" in pages["sqs:SendMessage"]
    assert "media-events" not in pages["sqs:ReceiveMessage"] + pages["sqs:SendMessage"]
    assert {"dynamodb:Query", "dynamodb:BatchGetItem", "execute-api:ManageConnections"} <= set(
        pages
    )
    assert "sns:Publish" in pages
    assert not {a for a in pages if a.startswith("s3:")}

    media = _grants(_role_statements(full, "MediaEvents"))
    assert "s3:GetObject" in media
    assert "sqs:SendMessage" not in media
