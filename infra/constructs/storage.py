"""S3: the media, static and analytics buckets and the access-log bucket of a region.

Every data bucket is versioned, encrypted with the region's ``storage`` KMS key (bucket
keys on), TLS-only, blocks all public access, logs access to the log bucket and has a
lifecycle that moves old data to a cheaper class (served objects only to Glacier Instant
Retrieval, which needs no restore). In the primary region each data bucket replicates
to its twin in the standby region (same purpose, the standby's ``storage`` key by alias).

Media key layout (shared with the app): ``uploads/<user_id>/<media_id>`` holds originals
(written by presigned POST and by identity-pool credentials; object-created events go to
the media queue), ``thumbnails/<user_id>/<media_id>...`` the derived images,
``exports/<user_id>/<export_id>.zip`` the users' data exports (expired after
:data:`EXPORTS_DAYS` days, their old versions a day later).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge_nag, skip_checkov
from infra.names import Names
from infra.settings import Role

UPLOADS_PREFIX = "uploads/"
THUMBNAILS_PREFIX = "thumbnails/"
EXPORTS_PREFIX = "exports/"
EXPORTS_DAYS = 7
ANALYTICS_DATA_PREFIX = "data/"
ANALYTICS_ERRORS_PREFIX = "errors/"
ATHENA_RESULTS_PREFIX = "athena-results/"
MEDIA_EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
ORIGINALS_TO_GLACIER_DAYS = 90
NONCURRENT_TO_GLACIER_DAYS = 30


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        role: Role,
        standby_region: str,
        key: kms.IKey,
        media_queue: sqs.IQueue,
        media_queue_policy: sqs.CfnQueuePolicy,
        notify_uploads: bool = True,
    ) -> None:
        super().__init__(scope, id_)
        self._names = names
        self._key = key
        # (source bucket, destination bucket, rule id) of each replication rule.
        self.replication_rules: list[tuple[str, str, str]] = []
        self.logs = self._log_bucket()
        self.media = self._bucket(
            "Media",
            "media",
            lifecycle=[
                # The app hands out direct URLs to originals at any age: only a class that
                # serves without a restore (Flexible Retrieval would answer 403).
                s3.LifecycleRule(
                    id="originals-to-glacier-ir",
                    prefix=UPLOADS_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(ORIGINALS_TO_GLACIER_DAYS),
                        )
                    ],
                ),
                # Personal data archives: gone a week after they are made, every version.
                s3.LifecycleRule(
                    id="exports-expire",
                    prefix=EXPORTS_PREFIX,
                    expiration=Duration.days(EXPORTS_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
            ],
        )
        self.static = self._bucket("Static", "static", lifecycle=[])
        # Athena reads Glacier Instant Retrieval, not Flexible Retrieval: old analytics
        # data moves there so queries over it keep working.
        self.analytics = self._bucket(
            "Analytics",
            "analytics",
            lifecycle=[
                s3.LifecycleRule(
                    id="data-to-glacier-ir",
                    prefix=ANALYTICS_DATA_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(180),
                        )
                    ],
                ),
                s3.LifecycleRule(
                    id="athena-results-expire",
                    prefix=ATHENA_RESULTS_PREFIX,
                    expiration=Duration.days(30),
                ),
            ],
        )
        if notify_uploads:
            self._notify_uploads(media_queue, media_queue_policy)
        if role is Role.PRIMARY:
            replication_role = self._replication_role(standby_region)
            for bucket, purpose in (
                (self.media, "media"),
                (self.static, "static"),
                (self.analytics, "analytics"),
            ):
                self._replicate(bucket, purpose, standby_region, replication_role)
        else:
            # The primary's CloudFront distributions fail over to these buckets (origin
            # groups): let CloudFront of this account read them through OAC.
            for bucket in (self.media, self.static):
                bucket.add_to_resource_policy(self._cloudfront_read(bucket))
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="CloudFrontFailoverOriginsDecrypt",
                    principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions=self._cloudfront_conditions(),
                )
            )

    # -- buckets ---------------------------------------------------------------------------

    def _bucket(self, id_: str, purpose: str, *, lifecycle: list[s3.LifecycleRule]) -> s3.Bucket:
        return s3.Bucket(
            self,
            id_,
            bucket_name=self._names.bucket(purpose),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self._key,
            bucket_key_enabled=True,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.logs,
            server_access_logs_prefix=f"s3/{purpose}/",
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                *lifecycle,
                s3.LifecycleRule(
                    id="noncurrent-to-glacier",
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(NONCURRENT_TO_GLACIER_DAYS),
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(365),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )

    def _log_bucket(self) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "Logs",
            bucket_name=self._names.bucket("logs"),
            # S3 server access logs, CloudFront standard logs and ALB access logs can only
            # be delivered to SSE-S3 buckets; CloudFront's delivery also needs ACLs.
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="logs-to-glacier",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER,
                            transition_after=Duration.days(90),
                        )
                    ],
                    expiration=Duration.days(730),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        skip_checkov(
            bucket, CKV_AWS_18="this is the access-log bucket; logging it to itself would loop"
        )
        return bucket

    # -- media events ----------------------------------------------------------------------

    def _notify_uploads(self, queue: sqs.IQueue, queue_policy: sqs.CfnQueuePolicy) -> None:
        """Object created/removed under ``uploads/`` -> the media queue -> the app's
        ``@app.on_sqs_message`` handler (Chalice cannot package ``on_s3_event`` for
        CloudFormation). Set on the bucket itself rather than through CDK's notification
        custom resource: the bucket's name is known, so the queue policy can name it
        without a dependency cycle."""
        cfn = self.media.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        uploads = s3.CfnBucket.NotificationFilterProperty(
            s3_key=s3.CfnBucket.S3KeyFilterProperty(
                rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=UPLOADS_PREFIX)]
            )
        )
        cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event=event, queue=queue.queue_arn, filter=uploads
                )
                for event in MEDIA_EVENTS
            ]
        )
        # S3 checks it may send to the queue when the configuration is saved.
        cfn.node.add_dependency(queue_policy)

    # -- replication -----------------------------------------------------------------------

    def _replication_role(self, standby_region: str) -> iam.Role:
        stack = Stack.of(self)
        role = iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description="S3 cross-region replication of the Summon buckets to the standby",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[self._key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                # The standby key is only known by alias here.
                resources=[f"arn:{stack.partition}:kms:{standby_region}:{stack.account}:key/*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{standby_region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": self._names.key_alias("storage")
                    },
                },
            )
        )
        acknowledge_nag(
            role,
            IAM5="object ARNs of the replicated buckets; the standby's key is known by alias "
            "only (key/* limited by kms:ResourceAliases and kms:ViaService)",
        )
        return role

    def _replicate(
        self, bucket: s3.Bucket, purpose: str, standby_region: str, role: iam.Role
    ) -> None:
        destination_arn = self._names.bucket_arn(purpose, standby_region)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                resources=[f"{destination_arn}/*"],
            )
        )
        self.replication_rules.append(
            (
                bucket.bucket_name,
                self._names.bucket(purpose, standby_region),
                f"{purpose}-to-standby",
            )
        )
        cfn = bucket.node.default_child
        assert isinstance(cfn, s3.CfnBucket)
        cfn.replication_configuration = s3.CfnBucket.ReplicationConfigurationProperty(
            role=role.role_arn,
            rules=[
                s3.CfnBucket.ReplicationRuleProperty(
                    id=f"{purpose}-to-standby",
                    status="Enabled",
                    priority=1,
                    filter=s3.CfnBucket.ReplicationRuleFilterProperty(prefix=""),
                    delete_marker_replication=s3.CfnBucket.DeleteMarkerReplicationProperty(
                        status="Enabled"
                    ),
                    source_selection_criteria=s3.CfnBucket.SourceSelectionCriteriaProperty(
                        sse_kms_encrypted_objects=s3.CfnBucket.SseKmsEncryptedObjectsProperty(
                            status="Enabled"
                        )
                    ),
                    destination=s3.CfnBucket.ReplicationDestinationProperty(
                        bucket=destination_arn,
                        storage_class="STANDARD_IA" if purpose == "analytics" else "STANDARD",
                        encryption_configuration=s3.CfnBucket.EncryptionConfigurationProperty(
                            replica_kms_key_id=self._names.key_alias_arn("storage", standby_region)
                        ),
                        # Replication metrics (OperationsFailedReplication, alarmed).
                        metrics=s3.CfnBucket.MetricsProperty(status="Enabled"),
                    ),
                )
            ],
        )

    # -- CloudFront failover origins (standby) ---------------------------------------------

    def _cloudfront_conditions(self) -> dict[str, dict[str, str]]:
        stack = Stack.of(self)
        return {
            "StringEquals": {"AWS:SourceAccount": stack.account},
            "ArnLike": {
                "AWS:SourceArn": f"arn:{stack.partition}:cloudfront::{stack.account}:distribution/*"
            },
        }

    def _cloudfront_read(self, bucket: s3.Bucket) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid="CloudFrontFailoverOriginRead",
            principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
            actions=["s3:GetObject"],
            resources=[bucket.arn_for_objects("*")],
            conditions=self._cloudfront_conditions(),
        )
