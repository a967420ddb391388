"""The IAM policy of the plain Chalice deployment path (``chalice deploy`` / ``chalice
package`` with ``autogen_policy: false``), for ``.chalice/policy-<stage>.json``:

    python infra/scripts/chalice_policy.py --stage prod > .chalice/policy-prod.json

Chalice gives every function one role and cannot see the stack's resources, so this
policy names them by the stage's name patterns (the CDK deployment has a role per function
and exact ARNs, see :mod:`infra.constructs.api`). It uses the same action lists as the CDK
roles (and, like them, no ``dynamodb:Scan``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib import config as app_config  # noqa: E402
from infra.permissions import DATA_ACTIONS, IDEMPOTENCY_ACTIONS  # noqa: E402


def policy(stage: str) -> dict[str, Any]:
    p = app_config.prefix(stage)
    names = app_config.default_names(stage)
    table = f"arn:aws:dynamodb:*:*:table/{names[app_config.TABLE]}"
    media = f"arn:aws:s3:::{p}-media-*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            # Chalice names the API handler "<app>-<stage>" and the others
            # "<app>-<stage>-<handler>".
            "Resource": [
                f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}:*",
                f"arn:aws:logs:*:*:log-group:/aws/lambda/{p}-*",
            ],
        },
        {
            "Sid": "Tracing",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            "Sid": "Data",
            "Effect": "Allow",
            "Action": list(DATA_ACTIONS),
            "Resource": [table, f"{table}/index/*"],
        },
        {
            "Sid": "Idempotency",
            "Effect": "Allow",
            "Action": list(IDEMPOTENCY_ACTIONS),
            "Resource": f"arn:aws:dynamodb:*:*:table/{names[app_config.IDEMPOTENCY_TABLE]}",
        },
        {
            "Sid": "MediaUploads",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": f"{media}/uploads/*",
        },
        {
            "Sid": "MediaThumbnails",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": f"{media}/thumbnails/*",
        },
        {
            "Sid": "MediaErasure",  # account deletion lists a user's uploads and thumbnails
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": media,
            "Condition": {"StringLike": {"s3:prefix": ["uploads/*", "thumbnails/*"]}},
        },
        {
            "Sid": "MediaEvents",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": f"arn:aws:sqs:*:*:{names[app_config.MEDIA_QUEUE]}",
        },
        {
            "Sid": "Exports",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": f"{media}/exports/*",
        },
        {
            "Sid": "AppQueues",
            "Effect": "Allow",
            "Action": [
                "sqs:SendMessage",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
            ],
            "Resource": [
                f"arn:aws:sqs:*:*:{names[app_config.EXPORTS_QUEUE]}",
                f"arn:aws:sqs:*:*:{names[app_config.FANOUT_QUEUE]}",
            ],
        },
        {
            "Sid": "StageKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": "arn:aws:kms:*:*:key/*",
            "Condition": {"ForAnyValue:StringLike": {"kms:ResourceAliases": f"alias/{p}-*"}},
        },
        {
            "Sid": "PushSend",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": f"arn:aws:sns:*:*:endpoint/*/{p}-*/*",
        },
        {
            "Sid": "PushEndpoints",
            "Effect": "Allow",
            # Platform endpoints have no resource-level permissions in IAM.
            "Action": [
                "sns:CreatePlatformEndpoint",
                "sns:GetEndpointAttributes",
                "sns:SetEndpointAttributes",
                "sns:DeleteEndpoint",
            ],
            "Resource": "*",
        },
        {
            "Sid": "WebSocketSend",
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": "arn:aws:execute-api:*:*:*/*/*/@connections/*",
        },
        {
            "Sid": "Accounts",
            "Effect": "Allow",
            "Action": [
                "cognito-idp:AdminAddUserToGroup",
                "cognito-idp:AdminListGroupsForUser",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminEnableUser",
                "cognito-idp:AdminUserGlobalSignOut",
                "cognito-idp:ListUsers",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminDeleteUser",
            ],
            "Resource": "arn:aws:cognito-idp:*:*:userpool/*",
        },
        {
            "Sid": "Announce",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": f"arn:aws:sns:*:*:{names[app_config.ANNOUNCEMENTS_TOPIC]}",
        },
        {
            "Sid": "MediaSigningKey",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": f"arn:aws:secretsmanager:*:*:secret:summon/{stage}/*",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    args = parser.parse_args(argv)
    print(json.dumps(policy(args.stage), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
