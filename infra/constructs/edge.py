"""CloudFront in front of the static and media buckets (primary stack only: CloudFront is
global).

Each distribution reads its bucket through an origin access control (SigV4, the buckets
stay private) and fails over to the standby region's replica bucket (an origin group), so
static content and media keep being served when the primary region's S3 is down. The media
distribution only serves signed URLs (a key group of the configured public key; the app
signs with the private key kept in Secrets Manager). With a domain configured, each gets an
alias (``static.<domain>``, ``media.<domain>``) with an ACM certificate from us-east-1.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance import acknowledge_nag, skip_checkov
from infra.constructs.website import content_security_policy, headers_policy, routes_function
from infra.names import Names
from infra.settings import DomainSettings, SigningKeySettings

FAILOVER_STATUS_CODES = [500, 502, 503, 504]


class Edge(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        standby_region: str,
        static_bucket: s3.IBucket,
        media_bucket: s3.IBucket,
        log_bucket: s3.IBucket,
        domain: DomainSettings | None,
        zone: route53.IHostedZone | None,
        signing_key: SigningKeySettings | None,
        web_acl_arn: str | None,
        api_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, id_)
        self._names = names
        self._standby_region = standby_region
        self._log_bucket = log_bucket
        self._web_acl_arn = web_acl_arn
        self.oac = cloudfront.S3OriginAccessControl(
            self,
            "OriginAccessControl",
            origin_access_control_name=f"{names.prefix}-s3",
            description="Summon buckets, read by CloudFront only",
            signing=cloudfront.Signing.SIGV4_ALWAYS,
        )
        self.certificate: acm.ICertificate | None = None
        if domain is not None and zone is not None:
            if domain.cloudfront_certificate_arn:
                self.certificate = acm.Certificate.from_certificate_arn(
                    self, "Certificate", domain.cloudfront_certificate_arn
                )
            else:
                self.certificate = acm.Certificate(
                    self,
                    "Certificate",
                    domain_name=domain.host("static"),
                    subject_alternative_names=[domain.host("media")],
                    validation=acm.CertificateValidation.from_dns(zone),
                )
        self.key_group: cloudfront.KeyGroup | None = None
        self.public_key: cloudfront.PublicKey | None = None
        self.media: cloudfront.Distribution | None = None
        if signing_key is not None:
            self.public_key = cloudfront.PublicKey(
                self,
                "MediaSigningKey",
                encoded_key=signing_key.public_key_pem,
                comment="Verifies Summon's signed media URLs",
            )
            self.key_group = cloudfront.KeyGroup(
                self, "MediaKeyGroup", items=[self.public_key], comment="Summon media signers"
            )
            self.media = self._distribution(
                "Media", media_bucket, "media", domain, key_group=self.key_group
            )
        media_domain = (
            (domain.host("media") if domain else self.media.distribution_domain_name)
            if self.media
            else ""
        )
        # The web app (infra/constructs/website.py): its routes and its security headers.
        region = Stack.of(self).region
        media_name = names.bucket("media")  # by name: the bucket's CORS names this site
        media_s3 = [
            f"https://{media_name}.s3.amazonaws.com",
            f"https://{media_name}.s3.{region}.amazonaws.com",
        ]
        self.web_csp = content_security_policy(
            connect=[*api_origins, f"https://cognito-idp.{region}.amazonaws.com", *media_s3],
            images=[*([f"https://{media_domain}"] if media_domain else []), *media_s3],
        )
        self.static = self._distribution(
            "Static",
            static_bucket,
            "static",
            domain,
            default_root_object="index.html",
            headers=headers_policy(self, name=f"{names.prefix}-web", csp=self.web_csp),
            viewer_request=routes_function(self),
        )
        if domain is not None and zone is not None:
            for label, dist in (("static", self.static), ("media", self.media)):
                if dist is None:
                    continue
                target = route53.RecordTarget.from_alias(targets.CloudFrontTarget(dist))
                route53.ARecord(
                    self, f"{label}A", zone=zone, record_name=domain.host(label), target=target
                )
                route53.AaaaRecord(
                    self, f"{label}Aaaa", zone=zone, record_name=domain.host(label), target=target
                )
        self.media_domain = media_domain

    def _distribution(
        self,
        id_: str,
        bucket: s3.IBucket,
        purpose: str,
        domain: DomainSettings | None,
        *,
        default_root_object: str | None = None,
        key_group: cloudfront.IKeyGroup | None = None,
        headers: cloudfront.IResponseHeadersPolicy | None = None,
        viewer_request: cloudfront.IFunction | None = None,
    ) -> cloudfront.Distribution:
        standby = s3.Bucket.from_bucket_attributes(
            self,
            f"{id_}StandbyBucket",
            bucket_name=self._names.bucket(purpose, self._standby_region),
            region=self._standby_region,
        )
        origin = origins.OriginGroup(
            primary_origin=origins.S3BucketOrigin.with_origin_access_control(
                bucket, origin_access_control=self.oac
            ),
            fallback_origin=origins.S3BucketOrigin.with_origin_access_control(
                standby, origin_access_control=self.oac
            ),
            fallback_status_codes=FAILOVER_STATUS_CODES,
        )
        dist = cloudfront.Distribution(
            self,
            id_,
            comment=f"{self._names.prefix} {purpose}",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers
                or cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
                compress=True,
                trusted_key_groups=[key_group] if key_group else None,
                function_associations=[
                    cloudfront.FunctionAssociation(
                        function=viewer_request,
                        event_type=cloudfront.FunctionEventType.VIEWER_REQUEST,
                    )
                ]
                if viewer_request
                else None,
            ),
            default_root_object=default_root_object,
            domain_names=[domain.host(purpose)] if domain and self.certificate else None,
            certificate=self.certificate if domain else None,
            minimum_protocol_version=cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            enable_logging=True,
            log_bucket=self._log_bucket,
            log_file_prefix=f"cloudfront/{purpose}/",
            web_acl_id=self._web_acl_arn,
            error_responses=[
                cloudfront.ErrorResponse(http_status=404, ttl=Duration.seconds(10)),
            ],
        )
        Annotations.of(dist).acknowledge_warning(
            "@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac",
            "the standby stack grants its own buckets to this account's distributions",
        )
        reasons: dict[str, str] = {}
        if self._web_acl_arn is None:
            reasons["CKV_AWS_68"] = (
                "CLOUDFRONT-scope WAF must be created in us-east-1; this primary region is "
                "not (attach one with web_acl_id)"
            )
        if domain is None:
            reasons["CKV_AWS_174"] = "no custom domain: the default *.cloudfront.net certificate"
        skip_checkov(dist, **reasons)
        acknowledge_nag(
            dist,
            CFR1="a marketplace with no geographic restriction requirement; the WAF ACL and "
            "signed media URLs protect the content",
        )
        return dist
