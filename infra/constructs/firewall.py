"""AWS WAF web ACLs: AWS managed rule groups (common exploits, known bad inputs such as
Log4Shell, IP reputation) plus a per-IP rate limit, with logging to CloudWatch Logs.
``REGIONAL`` ACLs protect the REST API stage and the optional ALB; the ``CLOUDFRONT`` ACL
(which must live in us-east-1) protects the distributions."""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as waf
from constructs import Construct

from infra.names import Names

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
RATE_LIMIT_PER_5_MIN = 2000
# Rules of a managed group switched to COUNT: the common rule set blocks request bodies over
# 8 KB, which legal settings and long non-ASCII chat messages exceed. The app enforces its
# own body limits (request models), and API Gateway's 10 MB cap stays.
RULE_OVERRIDES: dict[str, tuple[str, ...]] = {
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",),
}


class Firewall(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        waf_scope: str,  # "REGIONAL" | "CLOUDFRONT"
        log_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        name = f"{names.prefix}-{waf_scope.lower()}"
        rules = [
            waf.CfnWebACL.RuleProperty(
                name="rate-limit-per-ip",
                priority=0,
                action=waf.CfnWebACL.RuleActionProperty(block={}),
                statement=waf.CfnWebACL.StatementProperty(
                    rate_based_statement=waf.CfnWebACL.RateBasedStatementProperty(
                        limit=RATE_LIMIT_PER_5_MIN, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_visibility(f"{name}-rate-limit"),
            )
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            rules.append(
                waf.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    override_action=waf.CfnWebACL.OverrideActionProperty(none={}),
                    statement=waf.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=waf.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                waf.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule,
                                    action_to_use=waf.CfnWebACL.RuleActionProperty(count={}),
                                )
                                for rule in RULE_OVERRIDES.get(group, ())
                            ]
                            or None,
                        )
                    ),
                    visibility_config=_visibility(f"{name}-{group}"),
                )
            )
        self.web_acl = waf.CfnWebACL(
            self,
            "WebAcl",
            name=name,
            scope=waf_scope,
            default_action=waf.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(name),
            rules=rules,
        )
        # WAF only logs to log groups whose name starts with "aws-waf-logs-".
        log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"aws-waf-logs-{name}",
            encryption_key=log_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        waf.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            # The ARN without the ":*" suffix that the log group's Arn attribute carries.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # Only what a rule blocked or counted: every allowed request would cost
            # CloudWatch Logs ingestion with nothing to act on (API access logs have it).
            logging_filter={
                "DefaultBehavior": "DROP",
                "Filters": [
                    {
                        "Behavior": "KEEP",
                        "Requirement": "MEETS_ANY",
                        "Conditions": [
                            {"ActionCondition": {"Action": "BLOCK"}},
                            {"ActionCondition": {"Action": "COUNT"}},
                        ],
                    }
                ],
            },
        )

    @property
    def arn(self) -> str:
        return self.web_acl.attr_arn

    def associate(self, id_: str, resource_arn: str) -> waf.CfnWebACLAssociation:
        return waf.CfnWebACLAssociation(
            self, id_, resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn
        )


def _visibility(metric: str) -> waf.CfnWebACL.VisibilityConfigProperty:
    return waf.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True,
        metric_name=metric.replace("-", ""),
        sampled_requests_enabled=True,
    )
