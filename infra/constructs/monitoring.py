"""CloudWatch: the alarm topic, alarms and the dashboard of a region.

Alarms (all to the KMS-encrypted alarm topic; e-mail subscribers optional): per Lambda
function errors and throttles; REST API 5xx and p99 latency; WebSocket integration and
execution errors; DynamoDB throttled requests (and, in the primary, replication latency to
the standby); the media queue's age and its dead-letter queue; the async-failure DLQ.

The dashboard adds the business metrics the app emits in embedded metric format
(namespace ``Summon``, dimension ``service=summon``, see :data:`BUSINESS_METRICS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.api import API_STAGE, AppFunction
from infra.names import Names

METRICS_NAMESPACE = "Summon"
SERVICE_NAME = "summon"
BUSINESS_METRICS = (
    "RequestsCreated",
    "OffersSent",
    "Matches",
    "TimeToAccept",
    "MessagesSent",
    "PushesSent",
)
"""Metric names the app emits with Powertools Metrics (EMF); TimeToAccept in milliseconds."""

_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    """The alarm topic (:attr:`topic`), the alarms (:attr:`alarms`, each notifying the topic
    on ALARM and OK) and the region's dashboard (:attr:`dashboard`). Optional parts follow
    the inputs: no REST alarms without ``rest_api_name``, no WebSocket alarms without
    ``websocket_api_id``, no replication alarm without ``replica_region``. Cost: CloudWatch's
    per-alarm and per-dashboard prices."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        key: kms.IKey,
        alarm_emails: Sequence[str],
        functions: Sequence[AppFunction],
        rest_api_name: str | None,
        websocket_api_id: str | None,
        http_api_id: str | None = None,
        table_name: str,
        replica_region: str | None,
        media_queue: sqs.IQueue,
        dead_letter_queues: Sequence[sqs.IQueue],
        replication_rules: Sequence[tuple[str, str, str]] = (),
        backup_vault_name: str | None = None,
        push_applications: Mapping[str, str] | None = None,
        health_check_id: str | None = None,
        notify: Sequence[cw.Alarm] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=names.alarm_topic,
            display_name="Summon alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # enforce_ssl writes a topic policy, which replaces SNS's default one: CloudWatch (and
        # AWS Budgets) may only publish when the policy says so, for this account's alarms.
        stack = Stack.of(self)
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": (
                            f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
                        )
                    },
                },
            )
        )
        for email in alarm_emails:
            self.topic.add_subscription(subs.EmailSubscription(email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []
        widgets = [
            *self._lambda(functions=functions),
            *(self._rest_api(name=rest_api_name) if rest_api_name is not None else []),
            *(self._http_api(api_id=http_api_id) if http_api_id is not None else []),
            *(self._websocket_api(api_id=websocket_api_id) if websocket_api_id is not None else []),
            *self._table(name=table_name, replica_region=replica_region),
            *self._queues(media_queue=media_queue, dead_letter_queues=dead_letter_queues),
            *self._dr(
                replication_rules=replication_rules,
                backup_vault_name=backup_vault_name,
                health_check_id=health_check_id,
            ),
            *self._push(push_applications or {}),
            _marketplace(),
        ]
        for alarm in notify:  # alarms made elsewhere (the region-state alarm)
            alarm.add_alarm_action(self._action)
            alarm.add_ok_action(self._action)
        self.dashboard = self._dashboard(names=names, widgets=widgets)

    def _lambda(self, *, functions: Sequence[AppFunction]) -> list[cw.IWidget]:
        """Errors and throttles alarms per function; their graphs and p95 durations."""
        fn_errors, fn_throttles, fn_duration = [], [], []
        for fn in functions:
            errors = _lambda_metric("Errors", fn.function_name, "Sum")
            throttles = _lambda_metric("Throttles", fn.function_name, "Sum")
            self._alarm(f"{fn.logical_id}Errors", errors, 1, f"{fn.logical_id} errors")
            self._alarm(f"{fn.logical_id}Throttles", throttles, 1, f"{fn.logical_id} throttles")
            fn_errors.append(errors.with_(label=fn.logical_id))
            fn_throttles.append(throttles.with_(label=fn.logical_id))
            fn_duration.append(
                _lambda_metric("Duration", fn.function_name, "p95").with_(label=fn.logical_id)
            )
        if not functions:
            return []
        return [
            cw.GraphWidget(title="Lambda errors", left=fn_errors, width=8),
            cw.GraphWidget(title="Lambda throttles", left=fn_throttles, width=8),
            cw.GraphWidget(title="Lambda duration p95 (ms)", left=fn_duration, width=8),
        ]

    def _rest_api(self, *, name: str) -> list[cw.IWidget]:
        """REST API 5xx and p99 latency alarms; requests, errors and latency graphs."""
        dims = {"ApiName": name, "Stage": API_STAGE}
        return self._api("REST API", dims, five_xx="5XXError", four_xx="4XXError")

    def _http_api(self, *, api_id: str) -> list[cw.IWidget]:
        """The same alarms and graphs for the HTTP API front door (its metric names)."""
        dims = {"ApiId": api_id, "Stage": API_STAGE}
        return self._api("HTTP API", dims, five_xx="5xx", four_xx="4xx")

    def _api(
        self, label: str, dims: dict[str, str], *, five_xx: str, four_xx: str
    ) -> list[cw.IWidget]:
        errors = _metric("AWS/ApiGateway", five_xx, dims, "Sum")
        latency = _metric("AWS/ApiGateway", "Latency", dims, "p99")
        count = _metric("AWS/ApiGateway", "Count", dims, "Sum")
        self._alarm("Api5xx", errors, 5, f"{label} 5xx responses")
        self._alarm("ApiLatencyP99", latency, 3000, f"{label} p99 latency above 3 s", periods=3)
        return [
            cw.GraphWidget(title="API requests", left=[count], width=8),
            cw.GraphWidget(
                title="API 5xx / 4xx",
                left=[errors, _metric("AWS/ApiGateway", four_xx, dims, "Sum")],
                width=8,
            ),
            cw.GraphWidget(title="API latency p99 (ms)", left=[latency], width=8),
        ]

    def _websocket_api(self, *, api_id: str) -> list[cw.IWidget]:
        """WebSocket integration and execution error alarms; connections and messages."""
        dims = {"ApiId": api_id, "Stage": API_STAGE}
        integration = _metric("AWS/ApiGateway", "IntegrationError", dims, "Sum")
        execution = _metric("AWS/ApiGateway", "ExecutionError", dims, "Sum")
        self._alarm("WebSocketIntegrationErrors", integration, 5, "WebSocket integration errors")
        self._alarm("WebSocketExecutionErrors", execution, 5, "WebSocket execution errors")
        return [
            cw.GraphWidget(
                title="WebSocket",
                left=[
                    _metric("AWS/ApiGateway", "ConnectCount", dims, "Sum"),
                    _metric("AWS/ApiGateway", "MessageCount", dims, "Sum"),
                ],
                right=[integration, execution],
                width=12,
            )
        ]

    def _table(self, *, name: str, replica_region: str | None) -> list[cw.IWidget]:
        """The throttled-requests alarm and, with a replica, the replication latency alarm."""
        tdims = {"TableName": name}
        throttled = cw.MathExpression(
            expression="r + w",
            using_metrics={
                "r": _metric("AWS/DynamoDB", "ReadThrottleEvents", tdims, "Sum"),
                "w": _metric("AWS/DynamoDB", "WriteThrottleEvents", tdims, "Sum"),
            },
            label="throttled requests",
            period=_PERIOD,
        )
        self._alarm("TableThrottles", throttled, 1, "DynamoDB throttled requests")
        left: list[cw.IMetric] = [
            _metric("AWS/DynamoDB", "ConsumedReadCapacityUnits", tdims, "Sum"),
            _metric("AWS/DynamoDB", "ConsumedWriteCapacityUnits", tdims, "Sum"),
        ]
        right: list[cw.IMetric] = [throttled]
        if replica_region is not None:
            lag = _metric(
                "AWS/DynamoDB",
                "ReplicationLatency",
                {**tdims, "ReceivingRegion": replica_region},
                "Average",
            )
            self._alarm(
                "ReplicationLatency", lag, 60_000, "global table replication over 60 s", periods=3
            )
            right.append(lag)
        return [cw.GraphWidget(title="DynamoDB", left=left, right=right, width=12)]

    def _queues(
        self, *, media_queue: sqs.IQueue, dead_letter_queues: Sequence[sqs.IQueue]
    ) -> list[cw.IWidget]:
        """The media queue's age alarm and one alarm per dead-letter queue with messages."""
        age = media_queue.metric_approximate_age_of_oldest_message(period=_PERIOD)
        self._alarm("MediaQueueAge", age, 900, "media events waiting over 15 min")
        dlq_metrics = []
        for i, dlq in enumerate(dead_letter_queues):
            depth = dlq.metric_approximate_number_of_messages_visible(period=_PERIOD)
            self._alarm(f"DeadLetters{i}", depth, 1, f"messages in {dlq.node.id}")
            dlq_metrics.append(depth.with_(label=dlq.node.id))
        return [cw.GraphWidget(title="Queues", left=[age], right=dlq_metrics, width=12)]

    def _dr(
        self,
        *,
        replication_rules: Sequence[tuple[str, str, str]],
        backup_vault_name: str | None,
        health_check_id: str | None,
    ) -> list[cw.IWidget]:
        """What disaster recovery relies on: S3 replication failures, failed backup and copy
        jobs, and (in us-east-1, where Route 53 publishes it) the primary's health check."""
        metrics: list[cw.IMetric] = []
        for source, destination, rule in replication_rules:
            failed = _metric(
                "AWS/S3",
                "OperationsFailedReplication",
                {"SourceBucket": source, "DestinationBucket": destination, "RuleId": rule},
                "Sum",
            )
            self._alarm(
                f"ReplicationFailed{rule.split('-')[0].title()}",
                failed,
                1,
                f"S3 replication failures ({rule})",
            )
            metrics.append(failed.with_(label=rule))
        if backup_vault_name is not None:
            for metric in ("NumberOfBackupJobsFailed", "NumberOfCopyJobsFailed"):
                m = _metric("AWS/Backup", metric, {"BackupVaultName": backup_vault_name}, "Sum")
                self._alarm(metric.removeprefix("NumberOf"), m, 1, f"AWS Backup: {metric}")
                metrics.append(m)
        if health_check_id is not None and Stack.of(self).region == "us-east-1":
            status = cw.Metric(
                namespace="AWS/Route53",
                metric_name="HealthCheckStatus",
                dimensions_map={"HealthCheckId": health_check_id},
                statistic="Minimum",
                period=Duration.minutes(1),
            )
            alarm = cw.Alarm(
                self,
                "PrimaryNotServing",
                metric=status,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.BREACHING,
                alarm_description="Route 53 no longer answers with the primary region",
            )
            alarm.add_alarm_action(self._action)
            alarm.add_ok_action(self._action)
            self.alarms.append(alarm)
            metrics.append(status)
        return (
            [cw.GraphWidget(title="Disaster recovery", left=metrics, width=12)] if metrics else []
        )

    def _push(self, applications: Mapping[str, str]) -> list[cw.IWidget]:
        """Failed push deliveries per platform application."""
        metrics = []
        for platform, name in sorted(applications.items()):
            failed = _metric(
                "AWS/SNS",
                "NumberOfNotificationsFailed",
                {"Application": name, "Platform": platform},
                "Sum",
            )
            self._alarm(
                f"PushFailed{platform.title().replace('_', '')}",
                failed,
                10,
                f"push notifications failing ({name})",
            )
            metrics.append(failed.with_(label=platform))
        return [cw.GraphWidget(title="Push failures", left=metrics, width=12)] if metrics else []

    def _dashboard(self, *, names: Names, widgets: Sequence[cw.IWidget]) -> cw.Dashboard:
        """The widgets in rows of 24 columns."""
        dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{names.prefix}-{Stack.of(self).region}",
            default_interval=Duration.hours(6),
        )
        row: list[cw.IWidget] = []
        for w in widgets:
            row.append(w)
            if sum(x.width for x in row) >= 24:
                dashboard.add_widgets(*row)
                row = []
        if row:
            dashboard.add_widgets(*row)
        return dashboard

    def _alarm(
        self, id_: str, metric: cw.IMetric, threshold: float, description: str, *, periods: int = 1
    ) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id_,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm


def _marketplace() -> cw.IWidget:
    """The business metrics the app emits (EMF): counts left, TimeToAccept p50/p90 right."""
    return cw.GraphWidget(
        title="Marketplace",
        left=[
            _metric(METRICS_NAMESPACE, m, {"service": SERVICE_NAME}, "Sum")
            for m in BUSINESS_METRICS
            if m != "TimeToAccept"
        ],
        right=[
            _metric(METRICS_NAMESPACE, "TimeToAccept", {"service": SERVICE_NAME}, "p50"),
            _metric(METRICS_NAMESPACE, "TimeToAccept", {"service": SERVICE_NAME}, "p90"),
        ],
        width=24,
    )


def _metric(namespace: str, name: str, dims: dict[str, str], statistic: str) -> cw.Metric:
    return cw.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map=dims,
        statistic=statistic,
        period=_PERIOD,
    )


def _lambda_metric(name: str, function_name: str, statistic: str) -> cw.Metric:
    return _metric("AWS/Lambda", name, {"FunctionName": function_name}, statistic)
