"""S3: versioning, SSE-KMS, TLS-only, public access blocked, CRR, Glacier lifecycle."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk

BLOCK_ALL = {
    "BlockPublicAcls": True,
    "BlockPublicPolicy": True,
    "IgnorePublicAcls": True,
    "RestrictPublicBuckets": True,
}


def _name(purpose: str, region: str) -> str:
    """Bucket names are fixed (the other region names them): purpose, account, region."""
    return f"summon-prod-{purpose}-111111111111-{region}"


@pytest.mark.parametrize("purpose", ["media", "static", "analytics"])
def test_data_buckets_are_private_versioned_and_kms_encrypted(full: Synth, purpose: str) -> None:
    for stack, template in ((full.primary, full.primary_t), (full.standby, full.standby_t)):
        bucket = getattr(stack.storage, purpose)
        key_arn = stack.resolve(stack.keys.storage.key_arn)
        template.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketName": _name(purpose, stack.region),
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": BLOCK_ALL,
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": key_arn,
                            },
                        }
                    ]
                },
                "LoggingConfiguration": Match.object_like(
                    {"DestinationBucketName": stack.resolve(stack.storage.logs.bucket_name)}
                ),
            },
        )
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": stack.resolve(bucket.bucket_name),
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_media_originals_stay_instantly_readable(full: Synth) -> None:
    """``GET /media/{id}`` hands out direct URLs for originals at any age: they may only move
    to a class S3 serves without a restore (Glacier Instant Retrieval)."""
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": _name("media", stack.region),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Prefix": "uploads/",
                                "Status": "Enabled",
                                "Transitions": [
                                    {"StorageClass": "GLACIER_IR", "TransitionInDays": 90}
                                ],
                            }
                        ),
                        Match.object_like(
                            {
                                "NoncurrentVersionTransitions": [
                                    {"StorageClass": "GLACIER", "TransitionInDays": 30}
                                ],
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                            }
                        ),
                    ]
                )
            },
        },
    )


def test_data_exports_expire_after_a_week_every_version(full: Synth) -> None:
    for synth, stack in ((full.primary_t, full.primary), (full.standby_t, full.standby)):
        synth.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketName": _name("media", stack.region),
                "LifecycleConfiguration": {
                    "Rules": Match.array_with(
                        [
                            {
                                "Id": "exports-expire",
                                "Prefix": "exports/",
                                "Status": "Enabled",
                                "ExpirationInDays": 7,
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            }
                        ]
                    )
                },
            },
        )


def test_no_served_object_needs_a_restore(full: Synth) -> None:
    """Current versions of the media and static buckets never reach a class that needs a
    restore (GLACIER, DEEP_ARCHIVE); noncurrent versions may."""
    for stack, template in ((full.primary, full.primary_t), (full.standby, full.standby_t)):
        for purpose in ("media", "static"):
            (bucket,) = [
                b
                for b in template.find_resources("AWS::S3::Bucket").values()
                if b["Properties"]["BucketName"] == _name(purpose, stack.region)
            ]
            for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]:
                for t in rule.get("Transitions", []):
                    assert t["StorageClass"] not in ("GLACIER", "DEEP_ARCHIVE"), (purpose, rule)


def test_analytics_data_moves_to_glacier_instant_retrieval(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": _name("analytics", stack.region),
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Prefix": "data/",
                                "Transitions": [
                                    {"StorageClass": "GLACIER_IR", "TransitionInDays": 180}
                                ],
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("purpose", ["media", "static", "analytics"])
def test_primary_buckets_replicate_to_the_standby_region(full: Synth, purpose: str) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": _name(purpose, stack.region),
            "ReplicationConfiguration": {
                "Role": Match.any_value(),
                "Rules": [
                    Match.object_like(
                        {
                            "Status": "Enabled",
                            "DeleteMarkerReplication": {"Status": "Enabled"},
                            "SourceSelectionCriteria": {
                                "SseKmsEncryptedObjects": {"Status": "Enabled"}
                            },
                            "Destination": Match.object_like(
                                {
                                    "Bucket": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                f":s3:::{_name(purpose, 'us-west-2')}",
                                            ],
                                        ]
                                    },
                                    "EncryptionConfiguration": {
                                        "ReplicaKmsKeyID": Match.object_like(
                                            {
                                                "Fn::Join": [
                                                    "",
                                                    Match.array_with(
                                                        [
                                                            Match.string_like_regexp(
                                                                ":kms:us-west-2:111111111111:"
                                                                "alias/summon-prod-storage"
                                                            )
                                                        ]
                                                    ),
                                                ]
                                            }
                                        )
                                    },
                                }
                            ),
                        }
                    )
                ],
            },
        },
    )


def test_standby_buckets_do_not_replicate(full: Synth) -> None:
    template = full.standby_t.to_json()
    buckets = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket"]
    assert buckets
    assert all("ReplicationConfiguration" not in b["Properties"] for b in buckets)


def test_media_uploads_notify_the_media_queue(full: Synth) -> None:
    for stack, template in ((full.primary, full.primary_t),):  # standby: test_dr (parked)
        template.has_resource_properties(
            "AWS::S3::Bucket",
            {
                "BucketName": _name("media", stack.region),
                "NotificationConfiguration": {
                    "QueueConfigurations": [
                        {
                            "Event": event,
                            "Queue": stack.resolve(stack.messaging.media_queue.queue_arn),
                            "Filter": {
                                "S3Key": {"Rules": [{"Name": "prefix", "Value": "uploads/"}]}
                            },
                        }
                        for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
                    ]
                },
            },
        )
