"""CloudWatch: alarms to the alarm topic, and the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def _alarm(template: Any, stack: Any, namespace: str, metric: str, **dims: Any) -> None:
    topic = stack.resolve(stack.monitoring.topic.topic_arn)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": namespace,
            "MetricName": metric,
            "AlarmActions": [topic],
            "OKActions": [topic],
            **(
                {"Dimensions": Match.array_with([{"Name": k, "Value": v} for k, v in dims.items()])}
                if dims
                else {}
            ),
        },
    )


@pytest.mark.parametrize("role", ["primary", "standby"])
def test_lambda_errors_and_throttles_alarm_for_every_function(full: Synth, role: str) -> None:
    stack = full.primary if role == "primary" else full.standby
    template = full.primary_t if role == "primary" else full.standby_t
    assert stack.api.functions
    for fn in stack.api.functions:
        for metric in ("Errors", "Throttles"):
            _alarm(
                template, stack, "AWS/Lambda", metric, FunctionName=stack.resolve(fn.function_name)
            )


def test_api_websocket_table_and_queue_alarms(full: Synth) -> None:
    stack, template = full.primary, full.primary_t
    _alarm(template, stack, "AWS/ApiGateway", "5XXError", ApiName="summon-prod-api", Stage="api")
    _alarm(template, stack, "AWS/ApiGateway", "Latency", ApiName="summon-prod-api")
    ws = stack.resolve(stack.api.websocket_api_id)
    _alarm(template, stack, "AWS/ApiGateway", "IntegrationError", ApiId=ws)
    _alarm(template, stack, "AWS/ApiGateway", "ExecutionError", ApiId=ws)
    _alarm(template, stack, "AWS/DynamoDB", "ReplicationLatency", ReceivingRegion="us-west-2")
    _alarm(template, stack, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    _alarm(template, stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    topic = stack.resolve(stack.monitoring.topic.topic_arn)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Metrics": Match.array_with([Match.object_like({"Expression": "r + w"})]),
            "AlarmActions": [topic],
        },
    )


def test_alarm_topic_is_encrypted_and_subscribed(full: Synth) -> None:
    stack = full.primary
    full.primary_t.has_resource_properties(
        "AWS::SNS::Topic",
        {
            "TopicName": "summon-prod-alarms",
            "KmsMasterKeyId": stack.resolve(stack.keys.ops.key_arn),
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )


def test_dashboard_shows_business_metrics(full: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {
            "DashboardName": "summon-prod-us-east-1",
            "DashboardBody": Match.object_like(
                {"Fn::Join": ["", Match.array_with([Match.string_like_regexp("RequestsCreated")])]}
            ),
        },
    )


@pytest.mark.parametrize("role", ["primary", "standby"])
def test_cloudwatch_may_publish_to_the_alarm_topic(full: Synth, role: str) -> None:
    """The TLS-only topic policy replaces SNS's default policy: without an Allow for
    cloudwatch.amazonaws.com no alarm would ever be delivered."""
    stack = full.primary if role == "primary" else full.standby
    template = (full.primary_t if role == "primary" else full.standby_t).to_json()
    topic = stack.resolve(stack.monitoring.topic.topic_arn)
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SNS::TopicPolicy" and topic in r["Properties"]["Topics"]
    ]
    assert len(policies) == 1
    allows = [
        s
        for s in policies[0]
        if s["Effect"] == "Allow"
        and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and "sns:Publish" in str(s["Action"])
    ]
    assert len(allows) == 1
    cond = allows[0]["Condition"]
    assert cond["StringEquals"]["aws:SourceAccount"] == "111111111111"
    assert ":cloudwatch:" in str(cond["ArnLike"]["aws:SourceArn"])
    assert ":alarm:*" in str(cond["ArnLike"]["aws:SourceArn"])


def _alarm_metrics(template: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for a in template.find_resources("AWS::CloudWatch::Alarm").values():
        p = a["Properties"]
        out.setdefault(p.get("MetricName", ""), []).append(p)
    return out


def test_disaster_recovery_and_push_failures_alarm(full: Synth) -> None:
    """Replication, backup and copy jobs, push deliveries, the primary's Route 53 status
    and the region-state alarm all notify the alarm topic (not only Lambda errors)."""
    primary, standby = _alarm_metrics(full.primary_t), _alarm_metrics(full.standby_t)
    rules = {
        d["Value"]
        for p in primary["OperationsFailedReplication"]
        for d in p["Dimensions"]
        if d["Name"] == "RuleId"
    }
    assert rules == {
        "media-to-standby",
        "static-to-standby",
        "analytics-to-standby",
    }
    for metrics in (primary, standby):
        assert metrics["NumberOfBackupJobsFailed"] and metrics["NumberOfCopyJobsFailed"]
        platforms = {
            d["Value"]
            for p in metrics["NumberOfNotificationsFailed"]
            for d in p["Dimensions"]
            if d["Name"] == "Platform"
        }
        assert platforms == {"APNS", "APNS_SANDBOX", "GCM"}
    (status,) = primary["HealthCheckStatus"]
    assert status["Namespace"] == "AWS/Route53" and status["AlarmActions"]
    (state,) = standby["PrimaryNotActive"]
    topic = full.standby.resolve(full.standby.monitoring.topic.topic_arn)
    assert state["AlarmActions"] == [topic] and state["OKActions"] == [topic]
    template = full.primary_t.to_json()
    media = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::S3::Bucket" and "ReplicationConfiguration" in r["Properties"]
    ]
    assert media and all(
        rule["Destination"]["Metrics"] == {"Status": "Enabled"}
        for r in media
        for rule in r["Properties"]["ReplicationConfiguration"]["Rules"]
    )
