"""SQS and SNS: the media-events queue (S3 object-created -> SQS -> the app's
``@app.on_sqs_message`` handler) with its dead-letter queue, the exports queue (``POST
/me/exports`` -> SQS -> the handler that builds the archive) with its own, the
announcements topic (the app's ``@app.on_sns_message`` handler subscribes to it), the
announcements' fan-out queue (one message per page of a shard; the topic's handler and the
consumer itself send to it, the consumer reads it) with its dead-letter queue, and the
mobile-push platform applications.

CloudFormation has no resource for SNS platform applications, so each is a custom resource
(``Custom::SnsPlatformApplication``) served by a small Lambda
(``infra/functions/push_platform``). CloudFormation does not resolve dynamic references in
custom resource properties, so the template names the Secrets Manager secret and the
handler reads its value (the value never appears in the template or the logs). Bump
``summon:pushSecretVersion`` after rotating a secret to push it to SNS. The secret of a
platform is a JSON object whose keys are SNS's attribute names:

* ``apns`` / ``apns_sandbox`` (token-based auth): ``PlatformCredential`` (the .p8 signing
  key), ``PlatformPrincipal`` (its key id), ``ApplePlatformTeamID``,
  ``ApplePlatformBundleID``;
* ``fcm`` (HTTP v1): ``PlatformCredential`` (the service-account JSON).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib import config as app_config
from infra.compliance import CUSTOM_RESOURCE_LAMBDA, acknowledge_nag, ignore_cfn_lint, skip_checkov
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
EXPORT_TIMEOUT = Duration.minutes(5)
"""The export builder's Lambda timeout (infra/constructs/api.py sets it)."""
EXPORTS_QUEUE_VISIBILITY = Duration.minutes(30)
EXPORTS_MAX_RECEIVES = 3
# A fan-out page runs within the app's 30 s timeout; a failed one comes back after this
# (longer than the page's claim lease, services/announcements.LEASE_S) up to 5 times.
FANOUT_QUEUE_VISIBILITY = Duration.minutes(3)
FANOUT_MAX_RECEIVES = 5
PROVIDER_DIR = Path(__file__).resolve().parent.parent / "functions" / "push_platform"


class Messaging(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        key: kms.IKey,
        push_secrets: dict[str, str],
        push_secret_version: str = "1",
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self._push_secrets = push_secrets
        self._push_secret_version = push_secret_version
        self._log_retention = log_retention
        self._push_provider: lambda_.Function | None = None
        self.media_dlq, self.media_queue = self._queue_with_dlq(
            "MediaEvents",
            name=names.media_queue,
            key=key,
            visibility=MEDIA_QUEUE_VISIBILITY,
            max_receives=MEDIA_MAX_RECEIVES,
            retention=Duration.days(4),
        )
        self.exports_dlq, self.exports_queue = self._queue_with_dlq(
            "Exports",
            name=names.exports_queue,
            key=key,
            visibility=EXPORTS_QUEUE_VISIBILITY,
            max_receives=EXPORTS_MAX_RECEIVES,
            retention=Duration.days(4),
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

        self.fanout_dlq, self.fanout_queue = self._queue_with_dlq(
            "Fanout",
            name=names.fanout_queue,
            key=key,
            visibility=FANOUT_QUEUE_VISIBILITY,
            max_receives=FANOUT_MAX_RECEIVES,
            retention=Duration.days(1),  # an announcement a day late is not worth sending
        )

        self.announcements = sns.Topic(
            self,
            "Announcements",
            topic_name=names.announcements_topic,
            display_name="Summon announcements",
            master_key=key,
            enforce_ssl=True,
        )

        self.platform_application_arns: dict[str, str] = {}
        # SNS platform (APNS, APNS_SANDBOX, GCM) -> application name, for the alarms.
        self.platform_applications: dict[str, str] = {
            PLATFORMS[p][0]: names.platform_application(p) for p in push_secrets if p in PLATFORMS
        }
        for platform, secret_name in sorted(push_secrets.items()):
            if platform not in PLATFORMS:
                raise ValueError(f"unknown push platform {platform!r}; use {sorted(PLATFORMS)}")
            self.platform_application_arns[platform] = self._platform_application(
                names, key, platform, secret_name
            )

    def _queue_with_dlq(
        self,
        id_: str,
        *,
        name: str,
        key: kms.IKey,
        visibility: Duration,
        max_receives: int,
        retention: Duration,
    ) -> tuple[sqs.Queue, sqs.Queue]:
        """A KMS-encrypted, TLS-only queue and its dead-letter queue ``<name>-dlq`` (kept 14
        days)."""
        dlq = sqs.Queue(
            self,
            f"{id_}Dlq",
            queue_name=f"{name}-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            retention_period=Duration.days(14),
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            id_,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(1),
            visibility_timeout=visibility,
            retention_period=retention,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receives),
        )
        return dlq, queue

    @property
    def push_env(self) -> dict[str, str]:
        """The app's ``SUMMON_PUSH_*_ARN`` variables (unset platforms are empty)."""
        return {
            env: self.platform_application_arns.get(platform, "")
            for platform, (_, _, env) in PLATFORMS.items()
        }

    def _provider(self, names: Names, key: kms.IKey) -> lambda_.Function:
        """The custom-resource handler of the platform applications (one per stack): it reads
        each push secret itself, as CloudFormation does not resolve dynamic references in
        custom resource properties."""
        if self._push_provider is not None:
            return self._push_provider
        stack = Stack.of(self)
        log_group = logs.LogGroup(
            self,
            "PushPlatformLogs",
            log_group_name=f"{names.log_group_prefix}/lambda/PushPlatformProvider",
            encryption_key=key,
            retention=self._log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        fn = lambda_.Function(
            self,
            "PushPlatformProvider",
            description="Custom::SnsPlatformApplication (reads the push secret itself)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(PROVIDER_DIR), exclude=["__pycache__", "*.pyc"]),
            memory_size=128,
            timeout=Duration.minutes(1),
            log_group=log_group,
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                # These SNS actions have no resource-level permissions.
                actions=[
                    "sns:CreatePlatformApplication",
                    "sns:SetPlatformApplicationAttributes",
                    "sns:DeletePlatformApplication",
                ],
                resources=["*"],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    stack.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{name}-??????",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for name in sorted(set(self._push_secrets.values()))
                ],
            )
        )
        skip_checkov(fn, **CUSTOM_RESOURCE_LAMBDA)
        ignore_cfn_lint(fn, "W3005")  # CDK's own DependsOn on the role it also references
        acknowledge_nag(
            fn,
            IAM4="AWSLambdaBasicExecutionRole (CloudWatch Logs only)",
            IAM5="SNS platform-application actions have no resource-level permissions; the "
            "secret ARNs end in Secrets Manager's random suffix (-??????)",
        )
        self._push_provider = fn
        return fn

    def _platform_application(
        self, names: Names, key: kms.IKey, platform: str, secret_name: str
    ) -> str:
        stack = Stack.of(self)
        sns_platform, secret_keys, _ = PLATFORMS[platform]
        name = names.platform_application(platform)
        arn = stack.format_arn(
            service="sns", resource="app", resource_name=f"{sns_platform}/{name}"
        )
        CustomResource(
            self,
            f"Push{sns_platform.title().replace('_', '')}",
            resource_type="Custom::SnsPlatformApplication",
            service_token=self._provider(names, key).function_arn,
            properties={
                "Name": name,
                "Platform": sns_platform,
                # The secret's name, never its value: the handler reads it.
                "SecretId": secret_name,
                "AttributeKeys": list(secret_keys),
                "SecretVersion": self._push_secret_version,
            },
        )
        # The ARN of a platform application is its platform and name; the app gets it
        # built (a token of the custom resource would tie every function to it).
        return arn
