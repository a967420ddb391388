"""SQS and SNS: the media-events queue (S3 object-created -> SQS -> the app's
``@app.on_sqs_message`` handler) with its dead-letter queue, the announcements topic (the
app's ``@app.on_sns_message`` handler subscribes to it) and the mobile-push platform
applications.

CloudFormation has no resource for SNS platform applications, so each is an
``AwsCustomResource`` calling ``CreatePlatformApplication``. Its credentials come from a
Secrets Manager secret (a CloudFormation dynamic reference: the value never appears in the
template, and the custom resource's logging hides it). The secret of a platform is a JSON
object whose keys are SNS's attribute names:

* ``apns`` / ``apns_sandbox`` (token-based auth): ``PlatformCredential`` (the .p8 signing
  key), ``PlatformPrincipal`` (its key id), ``ApplePlatformTeamID``,
  ``ApplePlatformBundleID``;
* ``fcm`` (HTTP v1): ``PlatformCredential`` (the service-account JSON).
"""

from __future__ import annotations

from aws_cdk import Duration, SecretValue, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct

from chalicelib import config as app_config
from infra.compliance import CUSTOM_RESOURCE_LAMBDA, ignore_cfn_lint, skip_checkov
from infra.names import Names

PLATFORMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # platform key -> (SNS platform, secret JSON keys, the app's env var of its ARN)
    "apns": (
        "APNS",
        ("PlatformCredential", "PlatformPrincipal", "ApplePlatformTeamID", "ApplePlatformBundleID"),
        app_config.PUSH_APNS_ARN,
    ),
    "apns_sandbox": (
        "APNS_SANDBOX",
        ("PlatformCredential", "PlatformPrincipal", "ApplePlatformTeamID", "ApplePlatformBundleID"),
        app_config.PUSH_APNS_SANDBOX_ARN,
    ),
    "fcm": ("GCM", ("PlatformCredential",), app_config.PUSH_FCM_ARN),
}

# Visibility must outlast the consumer's timeout (AWS recommends six times it).
MEDIA_QUEUE_VISIBILITY = Duration.minutes(6)
MEDIA_MAX_RECEIVES = 5


class Messaging(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        key: kms.IKey,
        push_secrets: dict[str, str],
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.media_dlq = sqs.Queue(
            self,
            "MediaEventsDlq",
            queue_name=names.media_dlq,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            retention_period=Duration.days(14),
            enforce_ssl=True,
        )
        self.media_queue = sqs.Queue(
            self,
            "MediaEvents",
            queue_name=names.media_queue,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(1),
            visibility_timeout=MEDIA_QUEUE_VISIBILITY,
            retention_period=Duration.days(4),
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.media_dlq, max_receive_count=MEDIA_MAX_RECEIVES
            ),
        )
        media_bucket_arn = names.bucket_arn("media")
        self.media_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="MediaBucketEvents",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.media_queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": media_bucket_arn},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        # The queue policy CDK made for the statements above (the bucket waits for it).
        policy = self.media_queue.node.find_child("Policy").node.default_child
        assert isinstance(policy, sqs.CfnQueuePolicy)
        self.media_queue_policy = policy

        self.announcements = sns.Topic(
            self,
            "Announcements",
            topic_name=names.announcements_topic,
            display_name="Summon announcements",
            master_key=key,
            enforce_ssl=True,
        )

        self.platform_application_arns: dict[str, str] = {}
        for platform, secret_name in sorted(push_secrets.items()):
            if platform not in PLATFORMS:
                raise ValueError(f"unknown push platform {platform!r}; use {sorted(PLATFORMS)}")
            self.platform_application_arns[platform] = self._platform_application(
                names, platform, secret_name
            )

    @property
    def push_env(self) -> dict[str, str]:
        """The app's ``SUMMON_PUSH_*_ARN`` variables (unset platforms are empty)."""
        return {
            env: self.platform_application_arns.get(platform, "")
            for platform, (_, _, env) in PLATFORMS.items()
        }

    def _platform_application(self, names: Names, platform: str, secret_name: str) -> str:
        stack = Stack.of(self)
        sns_platform, secret_keys, _ = PLATFORMS[platform]
        name = names.platform_application(platform)
        attributes = {
            k: SecretValue.secrets_manager(secret_name, json_field=k).unsafe_unwrap()
            for k in secret_keys
        }
        arn = stack.format_arn(
            service="sns", resource="app", resource_name=f"{sns_platform}/{name}"
        )
        cr.AwsCustomResource(
            self,
            f"Push{sns_platform.title().replace('_', '')}",
            resource_type="Custom::SnsPlatformApplication",
            install_latest_aws_sdk=False,
            on_create=cr.AwsSdkCall(
                service="SNS",
                action="createPlatformApplication",
                parameters={"Name": name, "Platform": sns_platform, "Attributes": attributes},
                physical_resource_id=cr.PhysicalResourceId.from_response("PlatformApplicationArn"),
                logging=cr.Logging.with_data_hidden(),
            ),
            on_update=cr.AwsSdkCall(
                service="SNS",
                action="setPlatformApplicationAttributes",
                parameters={
                    "PlatformApplicationArn": cr.PhysicalResourceIdReference(),
                    "Attributes": attributes,
                },
                logging=cr.Logging.with_data_hidden(),
            ),
            on_delete=cr.AwsSdkCall(
                service="SNS",
                action="deletePlatformApplication",
                parameters={"PlatformApplicationArn": cr.PhysicalResourceIdReference()},
                logging=cr.Logging.with_data_hidden(),
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        # These SNS actions have no resource-level permissions.
                        actions=[
                            "sns:CreatePlatformApplication",
                            "sns:SetPlatformApplicationAttributes",
                            "sns:DeletePlatformApplication",
                        ],
                        resources=["*"],
                    )
                ]
            ),
            timeout=Duration.minutes(2),
        )
        _annotate_provider(self)
        # The ARN of a platform application is its platform and name; the app gets it
        # built (the custom resource's response only carries it on create).
        return arn


def _annotate_provider(scope: Construct) -> None:
    """Suppress the Lambda-only checks on the stack's single AwsCustomResource handler."""
    stack = Stack.of(scope)
    provider = stack.node.try_find_child("AWS679f53fac002430cb0da5b7982bd2287")
    if provider is not None:
        skip_checkov(provider, **CUSTOM_RESOURCE_LAMBDA)
        ignore_cfn_lint(provider, "W3005")  # CDK's own DependsOn on the role it references
