"""Provision the emulator with what the cloud stack creates, from the same definitions:
tables from the PynamoDB models (``chalicelib.store.models.TABLES``), resource names from
``chalicelib.config.default_names``. Idempotent: running it twice changes nothing.

Returns the environment the app's processes need (the ids only known after creation)."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib import config
from chalicelib.auth import CUSTOMERS, OPERATORS, PROVIDERS
from chalicelib.store.models import TABLES, table_spec

log = logging.getLogger("devstack.provision")

POOL_NAME = "summon-local-users"
CLIENT_NAME = "summon-mobile"
LOCAL_KEY_ID, LOCAL_SECRET = "testing", "testing"
"""The local stack's credentials: every process signs with them, and the emulator's S3 and
the WebSocket gateway's ``@connections`` check signatures against them."""
FAKE_CREDENTIALS = {"aws_access_key_id": LOCAL_KEY_ID, "aws_secret_access_key": LOCAL_SECRET}


def aws_env(endpoint: str, region: str = config.DEFAULT_REGION) -> dict[str, str]:
    """What every process of the local stack needs to reach the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": LOCAL_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        config.STAGE: "local",
    }


def _client(service: str, endpoint: str | None, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=region, **FAKE_CREDENTIALS)


def tables(endpoint: str | None, region: str) -> None:
    ddb = _client("dynamodb", endpoint, region)
    for model, ttl_attribute in TABLES:
        name = model.Meta.table_name
        if not model.exists():
            model.create_table(wait=True)
            log.info("created table %s", name)
        else:  # an emulator still running from an older version of the models
            table = ddb.describe_table(TableName=name)["Table"]
            found = {
                ix["IndexName"]
                for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
                for ix in table.get(kind, [])
            }
            spec = table_spec(model)
            wanted = {
                ix["index_name"]
                for kind in ("global_secondary_indexes", "local_secondary_indexes")
                for ix in spec[kind]
            }
            if wanted - found:
                raise SystemExit(
                    f"table {name} on {endpoint} lacks the indexes {sorted(wanted - found)} "
                    "that this version's models define: it was made by an older version. "
                    "Stop the emulator holding it (Ctrl-C the old `make dev`) and start again."
                )
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") != "ENABLED":
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )


FANOUT_VISIBILITY_S = 60
"""The fan-out queue's visibility timeout: a failed announcement page comes back after it
(longer than ``services/announcements.LEASE_S``, so its claim has expired by then)."""


def _queue_with_dlq(sqs: Any, name: str, *, visibility_s: int, max_receives: int = 5) -> str:
    """A queue whose messages go to ``<name>-dlq`` after ``max_receives`` receives (both
    created idempotently); its URL."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}
    url: str = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility_s), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    return url


def queues_topics_buckets(endpoint: str, region: str, names: dict[str, str]) -> dict[str, str]:
    sqs = _client("sqs", endpoint, region)
    sns = _client("sns", endpoint, region)
    s3 = _client("s3", endpoint, region)
    queue_url = _queue_with_dlq(sqs, names[config.MEDIA_QUEUE], visibility_s=60)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    _queue_with_dlq(sqs, names[config.EXPORTS_QUEUE], visibility_s=120, max_receives=3)
    _queue_with_dlq(sqs, names[config.FANOUT_QUEUE], visibility_s=FANOUT_VISIBILITY_S)
    topic_arn = sns.create_topic(Name=names[config.ANNOUNCEMENTS_TOPIC])["TopicArn"]
    for key in (config.MEDIA_BUCKET, config.STATIC_BUCKET, config.ANALYTICS_BUCKET):
        try:
            s3.create_bucket(Bucket=names[key])
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
                raise
    s3.put_bucket_cors(
        Bucket=names[config.MEDIA_BUCKET],
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["GET", "POST"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 3600,
                }
            ]
        },
    )
    s3.put_bucket_lifecycle_configuration(  # as in the cloud (moto keeps, never expires)
        Bucket=names[config.MEDIA_BUCKET],
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "exports-expire",
                    "Filter": {"Prefix": "exports/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=names[config.MEDIA_BUCKET],
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    platform: dict[str, str] = {}
    for env_name, plat, app_name in (
        (config.PUSH_APNS_ARN, "APNS", "summon-local-apns"),
        (config.PUSH_APNS_SANDBOX_ARN, "APNS_SANDBOX", "summon-local-apns-sandbox"),
        (config.PUSH_FCM_ARN, "GCM", "summon-local-fcm"),
    ):
        existing = [
            a["PlatformApplicationArn"]
            for a in sns.list_platform_applications().get("PlatformApplications", [])
            if a["PlatformApplicationArn"].endswith(f"/{plat}/{app_name}")
        ]
        arn = (
            existing[0]
            if existing
            else sns.create_platform_application(
                Name=app_name,
                Platform=plat,
                Attributes={"PlatformCredential": "local-fake", "PlatformPrincipal": "local-fake"},
            )["PlatformApplicationArn"]
        )
        platform[env_name] = arn
    return {
        config.MEDIA_QUEUE: names[config.MEDIA_QUEUE],
        config.EXPORTS_QUEUE: names[config.EXPORTS_QUEUE],
        config.FANOUT_QUEUE: names[config.FANOUT_QUEUE],
        config.ANNOUNCEMENTS_TOPIC: names[config.ANNOUNCEMENTS_TOPIC],
        config.ANNOUNCEMENTS_TOPIC_ARN: topic_arn,
        **platform,
    }


def user_pool(endpoint: str, region: str) -> dict[str, str]:
    idp = _client("cognito-idp", endpoint, region)
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == POOL_NAME]
    if pools:
        pool_id = pools[0]["Id"]
    else:
        pool_id = idp.create_user_pool(
            PoolName=POOL_NAME,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireNumbers": True}},
        )["UserPool"]["Id"]
    for group in (CUSTOMERS, PROVIDERS, OPERATORS):
        try:
            idp.create_group(GroupName=group, UserPoolId=pool_id)
        except idp.exceptions.GroupExistsException:
            pass
    clients = [
        c
        for c in idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        if c["ClientName"] == CLIENT_NAME
    ]
    client_id = (
        clients[0]["ClientId"]
        if clients
        else idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=CLIENT_NAME,
            GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    )
    pool_arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    return {
        config.USER_POOL_ID: pool_id,
        config.USER_POOL_CLIENT_ID: client_id,
        config.USER_POOL_ARN: pool_arn,
        config.JWKS_URL: f"{endpoint}/{pool_id}/.well-known/jwks.json",
        config.TOKEN_ISSUER: f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
    }


def ensure_user(
    endpoint: str, region: str, pool_id: str, email: str, password: str, groups: list[str]
) -> str:
    """An account made the way an admin makes one (no app sign-up); returns its ``sub``."""
    idp = _client("cognito-idp", endpoint, region)
    try:
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    except idp.exceptions.UserNotFoundException:
        idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
        user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
    return str(next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub"))


def provision(endpoint: str, region: str = config.DEFAULT_REGION) -> dict[str, str]:
    """Create everything (idempotently); the environment the app needs to use it."""
    names = config.default_names("local")
    tables(endpoint, region)
    env = dict(names)
    env.update(queues_topics_buckets(endpoint, region, names))
    env.update(user_pool(endpoint, region))
    return env
