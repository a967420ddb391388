"""The DynamoDB actions the app's functions are allowed, in one place: the CDK construct
(``infra/constructs/api.py``) and the plain-Chalice policy generator
(``infra/scripts/chalice_policy.py``, which stays free of CDK imports) both use these.
No Scan: no request path scans."""

from __future__ import annotations

DATA_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
IDEMPOTENCY_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
)
