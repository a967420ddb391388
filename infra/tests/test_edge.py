"""CloudFront: origin access control, origin-group failover, signed media, certificates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def _distributions(template: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        r["Properties"]["DistributionConfig"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudFront::Distribution"
    ]


def test_origin_access_control_signs_every_s3_request(full: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": {
                "Name": "summon-prod-s3",
                "OriginAccessControlOriginType": "s3",
                "SigningBehavior": "always",
                "SigningProtocol": "sigv4",
                "Description": Match.any_value(),
            }
        },
    )


def test_distributions_read_both_regions_buckets_through_oac(full: Synth) -> None:
    stack = full.primary
    assert stack.edge is not None
    oac_id = stack.resolve(stack.edge.oac.origin_access_control_id)
    dists = _distributions(full.primary_t.to_json())
    assert len(dists) == 2  # static and media
    for dist in dists:
        assert len(dist["Origins"]) == 2
        for origin in dist["Origins"]:
            assert origin["OriginAccessControlId"] == oac_id
            assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        domains = [str(o["DomainName"]) for o in dist["Origins"]]
        assert any("us-west-2" in d for d in domains), domains  # the standby replica
        group = dist["OriginGroups"]["Items"][0]
        assert group["FailoverCriteria"]["StatusCodes"]["Items"] == [500, 502, 503, 504]
        assert dist["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
        assert dist["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
        assert dist["Logging"]["Bucket"]
        assert dist["WebACLId"]


def test_media_requires_signed_urls_from_the_key_group(full: Synth) -> None:
    stack = full.primary
    assert stack.edge is not None and stack.edge.key_group is not None
    full.primary_t.has_resource_properties(
        "AWS::CloudFront::Distribution",
        {
            "DistributionConfig": Match.object_like(
                {
                    "Aliases": ["media.summon.example.com"],
                    "DefaultCacheBehavior": Match.object_like(
                        {"TrustedKeyGroups": [stack.resolve(stack.edge.key_group.key_group_id)]}
                    ),
                }
            )
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::CloudFront::KeyGroup",
        {"KeyGroupConfig": Match.object_like({"Items": [Match.any_value()]})},
    )
    full.primary_t.has_resource_properties(
        "AWS::CloudFront::PublicKey",
        {
            "PublicKeyConfig": Match.object_like(
                {"EncodedKey": Match.string_like_regexp("BEGIN PUBLIC KEY")}
            )
        },
    )


def test_cloudfront_certificate_and_aliases(full: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {
            "DomainName": "static.summon.example.com",
            "SubjectAlternativeNames": ["media.summon.example.com"],
            "ValidationMethod": "DNS",
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::Route53::RecordSet",
        {"Name": "static.summon.example.com.", "Type": "A", "AliasTarget": Match.any_value()},
    )


def test_standby_buckets_let_the_primary_distributions_read(full: Synth) -> None:
    stack = full.standby
    full.standby_t.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": stack.resolve(stack.storage.media.bucket_name),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                                "Condition": Match.object_like(
                                    {"StringEquals": {"AWS:SourceAccount": "111111111111"}}
                                ),
                            }
                        )
                    ]
                )
            },
        },
    )
    full.standby_t.resource_count_is("AWS::CloudFront::Distribution", 0)


def test_without_a_signing_key_there_is_no_media_distribution(minimal: Synth) -> None:
    minimal.primary_t.resource_count_is("AWS::CloudFront::Distribution", 1)
    minimal.primary_t.resource_count_is("AWS::CloudFront::KeyGroup", 0)
    minimal.primary_t.resource_count_is("AWS::CertificateManager::Certificate", 0)


@pytest.mark.parametrize(
    ("role", "subnets"),
    [
        ("primary", ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
        ("standby", ["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]),
    ],
)
def test_each_regions_front_door_uses_its_own_subnets(
    full: Synth, role: str, subnets: list[str]
) -> None:
    template = full.primary_t if role == "primary" else full.standby_t
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Subnets": subnets}
    )
