"""The web app on the static distribution: the build and its /config.json in the static
bucket, routes of its pages, a strict Content-Security-Policy, CORS for its origin."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3

from infra.constructs.website import ROUTES_FUNCTION, Website
from infra.tests.conftest import FIXTURE_WEB, Synth

pytestmark = pytest.mark.cdk

WEB_ORIGIN = "https://static.summon.example.com"


def _of_type(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == type_}


def _deployments(synth: Synth) -> tuple[dict[str, Any], dict[str, Any]]:
    deployments = _of_type(synth.primary_t.to_json(), "Custom::CDKBucketDeployment")
    assets = next(d["Properties"] for k, d in deployments.items() if "Assets" in k)
    pages = next(d["Properties"] for k, d in deployments.items() if "Pages" in k)
    return assets, pages


def test_the_build_goes_to_the_static_bucket_behind_the_distribution(full: Synth) -> None:
    stack = full.primary
    assets, pages = _deployments(full)
    bucket = stack.resolve(stack.storage.static.bucket_name)
    assert assets["DestinationBucketName"] == pages["DestinationBucketName"] == bucket
    assert assets["DestinationBucketKeyPrefix"] == "assets/"
    assert assets["SystemMetadata"]["cache-control"] == "public, max-age=31536000, immutable"
    assert pages["SystemMetadata"]["cache-control"] == "no-cache"
    assert stack.edge is not None
    assert pages["DistributionId"] == stack.resolve(stack.edge.static.distribution_id)
    assert pages["DistributionPaths"] == ["/*"]
    # only the primary has CloudFront, so only it deploys the site
    assert not _of_type(full.standby_t.to_json(), "Custom::CDKBucketDeployment")


def _config_json(synth: Synth, tmp: Path) -> Any:
    """The /config.json the pages deployment ships (its asset, with the deploy-time markers
    of the template substituted by what they resolve to)."""
    _, pages = _deployments(synth)
    assembly = Path(synth.primary.node.root.outdir)  # type: ignore[attr-defined]
    text = None
    for key, markers in zip(pages["SourceObjectKeys"], pages["SourceMarkers"], strict=True):
        archive = assembly / f"asset.{key.removesuffix('.zip')}"
        found = list(archive.rglob("config.json")) if archive.is_dir() else []
        if not found and (assembly / f"asset.{key}").is_file():
            shutil.unpack_archive(assembly / f"asset.{key}", tmp / key, "zip")
            found = list((tmp / key).rglob("config.json"))
        if found:
            text = found[0].read_text()
            for marker, value in markers.items():
                text = text.replace(marker, json.dumps(value))
    assert text is not None, "no config.json in the pages deployment"
    return json.loads(text)


def test_config_json_names_the_api_and_the_websocket(
    full: Synth, minimal: Synth, tmp_path: Path
) -> None:
    assert _config_json(full, tmp_path / "full") == {
        "apiUrl": "https://api.summon.example.com",
        "wsUrl": "wss://ws.summon.example.com",
    }
    config = _config_json(minimal, tmp_path / "minimal")  # no domain: the stages' own URLs
    assert {"Ref": "RestAPI"} in config["apiUrl"]["Fn::Join"][1]
    assert {"Ref": "WebsocketAPI"} in config["wsUrl"]["Fn::Join"][1]


def test_config_json_names_the_http_api_when_it_is_the_front_door(
    http_front_door: Synth, tmp_path: Path
) -> None:
    stack = http_front_door.primary
    assert stack.api.http_api is not None
    assert _config_json(http_front_door, tmp_path)["apiUrl"] == "https://api.summon.example.com"
    url = json.dumps(stack.resolve(stack.api.http_api.url))
    assert stack.resolve(stack.api.http_api.api.ref)["Ref"] in url


def _csp(synth: Synth) -> dict[str, list[str]]:
    stack = synth.primary
    assert stack.edge is not None
    policy = stack.resolve(stack.edge.web_csp)
    text = (
        policy
        if isinstance(policy, str)
        else "".join(p if isinstance(p, str) else json.dumps(p) for p in policy["Fn::Join"][1])
    )
    return {d.split()[0]: d.split()[1:] for d in text.split("; ")}


def test_the_site_sends_a_strict_content_security_policy(full: Synth) -> None:
    csp = _csp(full)
    assert csp["script-src"] == ["'self'"]  # no inline script, no other origin
    assert csp["style-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    connect = csp["connect-src"]
    assert "https://api.summon.example.com" in connect and "wss://ws.summon.example.com" in connect
    assert "https://cognito-idp.us-east-1.amazonaws.com" in connect
    assert any("summon-prod-media" in c for c in connect)  # presigned uploads
    assert "https://media.summon.example.com" in csp["img-src"]
    assert not [s for d in csp.values() for s in d if "unsafe" in s or s == "*"]
    (policy,) = _of_type(
        full.primary_t.to_json(), "AWS::CloudFront::ResponseHeadersPolicy"
    ).values()
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["ContentSecurityPolicy"]["Override"] is True
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    (static,) = [
        d["Properties"]["DistributionConfig"]
        for d in _of_type(full.primary_t.to_json(), "AWS::CloudFront::Distribution").values()
        if d["Properties"]["DistributionConfig"]["Comment"].endswith("static")
    ]
    behavior = static["DefaultCacheBehavior"]
    assert behavior["ResponseHeadersPolicyId"] == {
        "Ref": next(
            iter(_of_type(full.primary_t.to_json(), "AWS::CloudFront::ResponseHeadersPolicy"))
        )
    }
    (association,) = behavior["FunctionAssociations"]
    assert association["EventType"] == "viewer-request"


def test_without_a_domain_the_policy_allows_the_regions_api_endpoints(minimal: Synth) -> None:
    connect = _csp(minimal)["connect-src"]
    assert "https://*.execute-api.us-east-1.amazonaws.com" in connect
    assert "wss://*.execute-api.us-east-1.amazonaws.com" in connect


def test_the_web_origin_may_upload_to_the_media_bucket(full: Synth) -> None:
    for template in (full.primary_t.to_json(), full.standby_t.to_json()):
        media = next(
            b["Properties"]
            for b in _of_type(template, "AWS::S3::Bucket").values()
            if "summon-prod-media" in json.dumps(b["Properties"].get("BucketName"))
        )
        (rule,) = media["CorsConfiguration"]["CorsRules"]
        assert rule["AllowedOrigins"] == [WEB_ORIGIN]
        assert "POST" in rule["AllowedMethods"]


@pytest.mark.parametrize(
    ("uri", "served"),
    [
        ("/", "/index.html"),
        ("/requests/r1", "/index.html"),
        ("/config.json", "/config.json"),
        ("/assets/app-1a2b.js", "/assets/app-1a2b.js"),
        ("/missing.png", "/missing.png"),  # a file: S3's answer (404), not a page
        ("/console", "/console/index.html"),
        ("/console/", "/console/index.html"),
        ("/console/reports/r9", "/console/index.html"),
        ("/docs/", "/docs/index.html"),
        ("/docs/operations/get-me", "/docs/index.html"),
        ("/consoles", "/index.html"),
    ],
)
def test_each_page_serves_its_client_side_routes(uri: str, served: str) -> None:
    script = (
        ROUTES_FUNCTION.read_text()
        + f"\nprocess.stdout.write(handler({{request: {{uri: {json.dumps(uri)}}}}}).uri);"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    assert out.stdout == served


def test_synth_refuses_a_missing_build(tmp_path: Path) -> None:
    stack = cdk.Stack(cdk.App(), "S")
    bucket = s3.Bucket(stack, "B")
    distribution = cloudfront.Distribution(
        stack,
        "D",
        default_behavior=cloudfront.BehaviorOptions(
            origin=origins.S3BucketOrigin.with_origin_access_control(bucket)
        ),
    )
    with pytest.raises(SystemExit, match="make web"):
        Website(stack, "W", dist=tmp_path, bucket=bucket, distribution=distribution, config={})
    assert (FIXTURE_WEB / "index.html").is_file()
