"""The web app (``web/dist``, built by ``make web``) on the static bucket behind the static
CloudFront distribution (primary stack): ``/`` for customers and providers, ``/console/`` for
operators, ``/docs/`` for the API reference, as ``devstack/web.py`` serves it locally.

* The build is copied to the bucket (``BucketDeployment``) with a ``/config.json`` that tells
  the app where the API and the WebSocket are (from this stack's resources; the Cognito ids
  come from the API's ``GET /auth/config``, as locally). Hashed ``assets/`` are cached for a
  year; pages and ``config.json`` are revalidated (``no-cache``), and a deployment
  invalidates the distribution. Nothing is pruned: a page still open keeps finding the
  assets of the build it loaded.
* A CloudFront Function (``infra/functions/web_routes``) maps each page's client-side routes
  to its ``index.html``; a missing file stays a 404.
* A response headers policy with a strict Content-Security-Policy: scripts, styles, fonts
  and frames from the site itself only (no inline script or style), connections to the site,
  the API, the WebSocket, Cognito and the media bucket (presigned uploads), images from the
  site, ``data:``/``blob:`` (previews), the media distribution and the media bucket; HSTS,
  ``nosniff``, no framing, ``strict-origin-when-cross-origin``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.compliance import (
    CUSTOM_RESOURCE_LAMBDA,
    acknowledge_nag,
    ignore_cfn_lint,
    skip_checkov,
)

ROUTES_FUNCTION = Path(__file__).resolve().parents[1] / "functions" / "web_routes" / "index.js"
PAGES = ("index.html", "console/index.html", "docs/index.html")
ASSETS_CACHE = "public, max-age=31536000, immutable"
PAGES_CACHE = "no-cache"


def content_security_policy(*, connect: Sequence[str], images: Sequence[str]) -> str:
    """The policy of every response of the site (``devstack/web.py`` sends the same
    directives locally, with the local stack's origins)."""
    return "; ".join(
        [
            "default-src 'self'",
            "connect-src " + " ".join(["'self'", *connect]),
            "img-src " + " ".join(["'self'", "data:", "blob:", *images]),
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def missing_build(dist: Path) -> list[str]:
    return [page for page in PAGES if not (dist / page).is_file()]


class Website(Construct):
    """Deploys ``dist`` with ``config`` (``/config.json``) to ``bucket`` behind
    ``distribution``; :attr:`headers` is the response headers policy the distribution's
    default behaviour uses, :attr:`routes` its viewer-request function."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        dist: Path,
        bucket: s3.IBucket,
        distribution: cloudfront.IDistribution,
        config: Mapping[str, object],
    ) -> None:
        super().__init__(scope, id_)
        missing = missing_build(dist)
        if missing:
            raise SystemExit(
                f"the web app is not built ({dist}: no {', '.join(missing)}): run `make web` "
                "(make synth does), or set summon:webDist to a build"
            )
        assets = s3deploy.BucketDeployment(
            self,
            "Assets",
            sources=[s3deploy.Source.asset(str(dist / "assets"))],
            destination_bucket=bucket,
            destination_key_prefix="assets/",
            cache_control=[s3deploy.CacheControl.from_string(ASSETS_CACHE)],
            prune=False,
            memory_limit=512,
        )
        pages = s3deploy.BucketDeployment(
            self,
            "Pages",
            sources=[
                s3deploy.Source.asset(str(dist), exclude=["assets", "assets/*", "config.json"]),
                s3deploy.Source.json_data("config.json", dict(config)),
            ],
            destination_bucket=bucket,
            cache_control=[s3deploy.CacheControl.from_string(PAGES_CACHE)],
            prune=False,
            memory_limit=512,
            distribution=distribution,
            distribution_paths=["/*"],
        )
        pages.node.add_dependency(assets)  # a new page only once its assets are there
        self._acknowledge_handler()

    def _acknowledge_handler(self) -> None:
        """The one Lambda function CDK shares between the stack's BucketDeployments."""
        stack = Stack.of(self)
        for child in stack.node.children:
            if "CDKBucketDeployment" not in child.node.id:
                continue
            for node in child.node.find_all():
                if isinstance(node, lambda_.CfnFunction):
                    skip_checkov(node, **CUSTOM_RESOURCE_LAMBDA)
                    ignore_cfn_lint(node, "W3005")  # CDK's own DependsOn on its role
                elif isinstance(node, iam.CfnPolicy):
                    skip_checkov(
                        node,
                        CKV_AWS_111="CDK's BucketDeployment handler: cloudfront:CreateInvalidation "
                        "on * as CDK writes it (it invalidates only the distribution it is "
                        "given); its S3 and KMS writes name the static bucket and its key",
                    )
            acknowledge_nag(
                child,
                IAM4="AWSLambdaBasicExecutionRole of CDK's BucketDeployment handler (its logs)",
                IAM5="CDK's BucketDeployment handler reads its asset objects and writes the "
                "static bucket (object ARNs under the bucket and the asset bucket)",
                L1="CDK's BucketDeployment handler: its runtime is CDK's choice",
            )


def routes_function(scope: Construct) -> cloudfront.Function:
    return cloudfront.Function(
        scope,
        "WebRoutes",
        code=cloudfront.FunctionCode.from_file(file_path=str(ROUTES_FUNCTION)),
        runtime=cloudfront.FunctionRuntime.JS_2_0,
        comment="The web app's pages and their client-side routes",
    )


def headers_policy(scope: Construct, *, name: str, csp: str) -> cloudfront.ResponseHeadersPolicy:
    return cloudfront.ResponseHeadersPolicy(
        scope,
        "WebHeaders",
        response_headers_policy_name=name,
        comment="Summon web app: strict CSP and security headers",
        security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
            content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                content_security_policy=csp, override=True
            ),
            content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
            frame_options=cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            ),
            referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                override=True,
            ),
            strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                access_control_max_age=Duration.days(365),
                include_subdomains=True,
                override=True,
            ),
        ),
    )
