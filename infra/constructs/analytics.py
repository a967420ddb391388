"""The analytics area: the main table's changes, exported to S3 partitioned by entity and
date, catalogued in Glue, queried with Athena and (optionally) QuickSight.

Export (primary region, where the table's stream is consumed): DynamoDB stream -> a small
Lambda (``infra/functions/analytics_export``) that flattens each change into a JSON line ->
Kinesis Data Firehose with dynamic partitioning ->
``s3://<analytics>/data/entity=<kind>/dt=<yyyy-MM-dd>/`` (gzip, SSE-KMS).

Catalog (both regions; the standby reads its replica of the bucket): one Glue table per
entity kind of the app's models (a column per model attribute, see :mod:`infra.schema`),
plus ``changes`` over every entity, all with partition projection (no crawler, no
``MSCK REPAIR``). An Athena workgroup enforces encrypted results in the bucket.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_quicksight as quicksight
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import schema
from infra.compliance import acknowledge_nag, ignore_cfn_lint, skip_checkov
from infra.constructs.storage import (
    ANALYTICS_DATA_PREFIX,
    ANALYTICS_ERRORS_PREFIX,
    ATHENA_RESULTS_PREFIX,
)
from infra.names import Names

FUNCTION_DIR = Path(__file__).resolve().parent.parent / "functions" / "analytics_export"
PROJECTION_START = "2024-01-01"
META_COLUMNS = (
    schema.Column("change_type", "string"),
    schema.Column("change_time", "string"),
)
# The role QuickSight uses for AWS data sources unless the account chose another one.
QUICKSIGHT_SERVICE_ROLE = "service-role/aws-quicksight-service-role-v0"
QUICKSIGHT_ACTIONS = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
)


class Analytics(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        bucket: s3.IBucket,
        storage_key: kms.IKey,
        ops_key: kms.IKey,
        log_retention: logs.RetentionDays,
        table_stream_arn: str | None,
        quicksight_principal_arn: str | None,
        quicksight_role_name: str = QUICKSIGHT_SERVICE_ROLE,
        reserved_concurrency: int | None,
    ) -> None:
        super().__init__(scope, id_)
        self._names = names
        self._bucket = bucket
        self.entities = schema.entity_columns()

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=names.glue_database,
                description="Summon: the main table's changes, by entity",
            ),
        )
        self.tables = {
            kind: self._table(kind, (*cols, *META_COLUMNS)) for kind, cols in self.entities.items()
        }
        self.tables["changes"] = self._changes_table()

        self.workgroup = athena.CfnWorkGroup(
            self,
            "Workgroup",
            name=names.athena_workgroup,
            description="Summon analytics (results encrypted in the analytics bucket)",
            recursive_delete_option=False,
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=10 * 1024**3,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=bucket.s3_url_for_object(ATHENA_RESULTS_PREFIX),
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=storage_key.key_arn
                    ),
                ),
            ),
        )

        self.delivery_stream: firehose.CfnDeliveryStream | None = None
        self.exporter: lambda_.Function | None = None
        if table_stream_arn is not None:
            self.delivery_stream = self._delivery_stream(storage_key, ops_key, log_retention)
            self.exporter = self._exporter(
                table_stream_arn, ops_key, log_retention, reserved_concurrency
            )

        acknowledge_nag(
            self,
            IAM5="object prefixes of the analytics bucket (data/*, errors/*, athena-results/*), "
            "the stage's Glue tables, the stream's ARN; dynamodb:ListStreams has no "
            "resource-level permissions",
            IAM4="AWSLambdaBasicExecutionRole (CloudWatch Logs only) of the exporter",
            SQS3="ExportFailures is the stream mapping's on-failure destination (a DLQ)",
        )
        self.quicksight: quicksight.CfnDataSource | None = None
        if quicksight_principal_arn:
            self.quicksight = self._quicksight(
                quicksight_principal_arn, quicksight_role_name, storage_key
            )

    def _quicksight(
        self, principal_arn: str, role_name: str, storage_key: kms.IKey
    ) -> quicksight.CfnDataSource:
        """The Athena data source, shared with ``principal_arn`` (an existing QuickSight user
        or group: the account needs a QuickSight subscription first), and what QuickSight's
        service role needs to run its queries: the workgroup, the catalog, the analytics
        bucket's data and results prefixes, and the storage key through S3."""
        stack = Stack.of(self)
        service_role = iam.Role.from_role_name(self, "QuickSightServiceRole", role_name)
        iam.ManagedPolicy(
            self,
            "QuickSightAccess",
            description="QuickSight's service role: Summon's Athena workgroup and its data",
            roles=[service_role],
            statements=[
                iam.PolicyStatement(
                    sid="Workgroup",
                    actions=[
                        "athena:StartQueryExecution",
                        "athena:GetQueryExecution",
                        "athena:GetQueryResults",
                        "athena:StopQueryExecution",
                        "athena:GetWorkGroup",
                    ],
                    resources=[
                        stack.format_arn(
                            service="athena",
                            resource="workgroup",
                            resource_name=self._names.athena_workgroup,
                        )
                    ],
                ),
                iam.PolicyStatement(
                    sid="Catalog",
                    actions=[
                        "glue:GetDatabase",
                        "glue:GetTable",
                        "glue:GetTables",
                        "glue:GetPartitions",
                    ],
                    resources=[
                        stack.format_arn(service="glue", resource="catalog"),
                        stack.format_arn(
                            service="glue",
                            resource="database",
                            resource_name=self._names.glue_database,
                        ),
                        stack.format_arn(
                            service="glue",
                            resource="table",
                            resource_name=f"{self._names.glue_database}/*",
                        ),
                    ],
                ),
                iam.PolicyStatement(
                    sid="AnalyticsBucket",
                    actions=["s3:GetBucketLocation", "s3:ListBucket"],
                    resources=[self._bucket.bucket_arn],
                ),
                iam.PolicyStatement(
                    sid="AnalyticsData",
                    actions=["s3:GetObject"],
                    resources=[self._bucket.arn_for_objects(f"{ANALYTICS_DATA_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="AthenaResults",
                    actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self._bucket.arn_for_objects(f"{ATHENA_RESULTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="StorageKeyThroughS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[storage_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}
                    },
                ),
            ],
        )
        source = quicksight.CfnDataSource(
            self,
            "QuickSight",
            aws_account_id=Aws.ACCOUNT_ID,
            data_source_id=f"{self._names.prefix}-athena",
            name=f"{self._names.prefix} analytics (Athena)",
            type="ATHENA",
            data_source_parameters=quicksight.CfnDataSource.DataSourceParametersProperty(
                athena_parameters=quicksight.CfnDataSource.AthenaParametersProperty(
                    work_group=self.workgroup.name
                )
            ),
            ssl_properties=quicksight.CfnDataSource.SslPropertiesProperty(disable_ssl=False),
            permissions=[
                quicksight.CfnDataSource.ResourcePermissionProperty(
                    principal=principal_arn, actions=list(QUICKSIGHT_ACTIONS)
                )
            ],
        )
        source.node.add_dependency(self.workgroup)
        return source

    # -- catalog ---------------------------------------------------------------------------

    def _location(self, suffix: str) -> str:
        return f"s3://{self._bucket.bucket_name}/{ANALYTICS_DATA_PREFIX}{suffix}"

    def _table(self, kind: str, columns: tuple[schema.Column, ...]) -> glue.CfnTable:
        return self._glue_table(
            f"Table{kind.title().replace('_', '')}",
            name=kind,
            description=f"Changes of {kind} items (one JSON line per change)",
            columns=columns,
            partition_keys=(schema.Column("dt", "string"),),
            location=self._location(f"entity={kind}/"),
            projection={
                "storage.location.template": self._location(f"entity={kind}/dt=${{dt}}/"),
            },
        )

    def _changes_table(self) -> glue.CfnTable:
        cols = (
            tuple(schema.Column(n, "string") for n in ("pk", "sk", schema.DISCRIMINATOR))
            + META_COLUMNS
        )
        return self._glue_table(
            "TableChanges",
            name="changes",
            description="Every change of every entity (query with entity = '<kind>')",
            columns=cols,
            partition_keys=(schema.Column("entity", "string"), schema.Column("dt", "string")),
            location=self._location(""),
            projection={
                "projection.entity.type": "injected",
                "storage.location.template": self._location("entity=${entity}/dt=${dt}/"),
            },
        )

    def _glue_table(
        self,
        id_: str,
        *,
        name: str,
        description: str,
        columns: tuple[schema.Column, ...],
        partition_keys: tuple[schema.Column, ...],
        location: str,
        projection: dict[str, str],
    ) -> glue.CfnTable:
        table = glue.CfnTable(
            self,
            id_,
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self._names.glue_database,
            table_input=glue.CfnTable.TableInputProperty(
                name=name,
                description=description,
                table_type="EXTERNAL_TABLE",
                parameters={
                    "classification": "json",
                    "compressionType": "gzip",
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": f"{PROJECTION_START},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    **projection,
                },
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=c.name, type=c.type) for c in partition_keys
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    input_format="org.apache.hadoop.mapred.TextInputFormat",
                    output_format="org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library="org.openx.data.jsonserde.JsonSerDe",
                        parameters={"ignore.malformed.json": "true"},
                    ),
                    columns=[
                        glue.CfnTable.ColumnProperty(name=c.name, type=c.type)
                        for c in columns
                        if c.name not in {p.name for p in partition_keys}
                    ],
                ),
            ),
        )
        table.node.add_dependency(self.database)
        return table

    # -- export ----------------------------------------------------------------------------

    def _delivery_stream(
        self, storage_key: kms.IKey, ops_key: kms.IKey, log_retention: logs.RetentionDays
    ) -> firehose.CfnDeliveryStream:
        stack = Stack.of(self)
        log_group = logs.LogGroup(
            self,
            "FirehoseLogs",
            log_group_name=f"{self._names.log_group_prefix}/firehose/analytics",
            encryption_key=ops_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        log_stream = log_group.add_stream("S3Delivery", log_stream_name="S3Delivery")
        role = iam.Role(
            self,
            "FirehoseRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            inline_policies={
                "delivery": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            actions=[
                                "s3:AbortMultipartUpload",
                                "s3:GetBucketLocation",
                                "s3:ListBucket",
                                "s3:ListBucketMultipartUploads",
                            ],
                            resources=[self._bucket.bucket_arn],
                        ),
                        iam.PolicyStatement(
                            actions=["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
                            resources=[
                                self._bucket.arn_for_objects(f"{ANALYTICS_DATA_PREFIX}*"),
                                self._bucket.arn_for_objects(f"{ANALYTICS_ERRORS_PREFIX}*"),
                            ],
                        ),
                        iam.PolicyStatement(
                            actions=["kms:GenerateDataKey", "kms:Decrypt"],
                            resources=[storage_key.key_arn],
                            conditions={
                                "StringEquals": {
                                    "kms:ViaService": f"s3.{stack.region}.amazonaws.com"
                                }
                            },
                        ),
                        iam.PolicyStatement(
                            actions=["logs:PutLogEvents"],
                            resources=[
                                stack.format_arn(
                                    service="logs",
                                    resource="log-group",
                                    resource_name=(
                                        f"{log_group.log_group_name}:log-stream:"
                                        f"{log_stream.log_stream_name}"
                                    ),
                                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                )
                            ],
                        ),
                    ]
                )
            },
        )
        stream = firehose.CfnDeliveryStream(
            self,
            "DeliveryStream",
            delivery_stream_name=f"{self._names.prefix}-analytics",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=(
                firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                    key_type="CUSTOMER_MANAGED_CMK", key_arn=storage_key.key_arn
                )
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self._bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=(
                    f"{ANALYTICS_DATA_PREFIX}entity=!{{partitionKeyFromQuery:entity}}/"
                    "dt=!{timestamp:yyyy-MM-dd}/"
                ),
                error_output_prefix=(
                    f"{ANALYTICS_ERRORS_PREFIX}!{{firehose:error-output-type}}/"
                    "dt=!{timestamp:yyyy-MM-dd}/"
                ),
                file_extension=".json.gz",
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=300, size_in_m_bs=64
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=storage_key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(
                        duration_in_seconds=300
                    ),
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery",
                                    parameter_value=f"{{entity:.{schema.DISCRIMINATOR}}}",
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine",
                                    parameter_value="JQ-1.6",
                                ),
                            ],
                        )
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name,
                ),
            ),
        )
        return stream

    def _exporter(
        self,
        table_stream_arn: str,
        ops_key: kms.IKey,
        log_retention: logs.RetentionDays,
        reserved_concurrency: int | None,
    ) -> lambda_.Function:
        assert self.delivery_stream is not None
        failures = sqs.Queue(
            self,
            "ExportFailures",
            queue_name=f"{self._names.prefix}-analytics-export-failures",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=ops_key,
            retention_period=Duration.days(14),
            enforce_ssl=True,
        )
        self.export_failures = failures
        log_group = logs.LogGroup(
            self,
            "ExporterLogs",
            log_group_name=f"{self._names.log_group_prefix}/lambda/AnalyticsExporter",
            encryption_key=ops_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        fn = lambda_.Function(
            self,
            "Exporter",
            description="DynamoDB stream -> Firehose (analytics export)",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(FUNCTION_DIR), exclude=["__pycache__", "*.pyc"]),
            memory_size=256,
            timeout=Duration.minutes(1),
            environment={
                "DELIVERY_STREAM": self.delivery_stream.ref,
                "DISCRIMINATOR": schema.DISCRIMINATOR,
            },
            environment_encryption=ops_key,
            reserved_concurrent_executions=reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecordBatch"],
                resources=[self.delivery_stream.attr_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                ],
                resources=[table_stream_arn],
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"])
        )
        failures.grant_send_messages(fn)
        mapping = lambda_.EventSourceMapping(
            self,
            "Stream",
            target=fn,
            event_source_arn=table_stream_arn,
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=500,
            max_batching_window=Duration.seconds(10),
            bisect_batch_on_error=True,
            retry_attempts=10,
            max_record_age=Duration.days(1),
            report_batch_item_failures=True,
            on_failure=sources.SqsDlq(failures),
        )
        # The policy must exist before the mapping validates its access to the stream.
        assert fn.role is not None
        mapping.node.add_dependency(fn.role)
        ignore_cfn_lint(fn, "W3005")  # CDK's own DependsOn on the role it also references
        skip_checkov(
            fn,
            CKV_AWS_116="invoked by a stream event source mapping, whose on-failure "
            "destination is the export-failures queue (a function DLQ is never used)",
            CKV_AWS_117="reaches only the DynamoDB stream and Firehose APIs",
        )
        if reserved_concurrency is None:
            skip_checkov(
                fn,
                CKV_AWS_115="no reservation by default (a low account quota refuses any); "
                "a stream mapping runs one batch per shard at a time anyway",
            )
        return fn
