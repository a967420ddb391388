"""Cognito: pool, groups, app client, federation, identity pool scoped to the user's prefix."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from infra.tests.conftest import Synth

pytestmark = pytest.mark.cdk


def test_user_pool_groups_and_client(full: Synth) -> None:
    stack = full.primary
    pool = stack.resolve(stack.identity.user_pool.user_pool_id)
    full.primary_t.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UsernameAttributes": ["email"],
            "AutoVerifiedAttributes": ["email"],
            "DeletionProtection": "ACTIVE",
            "MfaConfiguration": "OPTIONAL",
        },
    )
    for group in ("operators", "customers", "providers"):
        full.primary_t.has_resource_properties(
            "AWS::Cognito::UserPoolGroup", {"GroupName": group, "UserPoolId": pool}
        )
    full.primary_t.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "UserPoolId": pool,
            "GenerateSecret": False,
            "ExplicitAuthFlows": Match.array_with(
                ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
            ),
            "PreventUserExistenceErrors": "ENABLED",
        },
    )


def test_federation_is_configured_only_when_asked(full: Synth, minimal: Synth) -> None:
    for provider_type in ("Google", "Facebook", "SignInWithApple", "OIDC", "SAML"):
        full.primary_t.has_resource_properties(
            "AWS::Cognito::UserPoolIdentityProvider", {"ProviderType": provider_type}
        )
    full.primary_t.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "SupportedIdentityProviders": Match.array_with(
                ["COGNITO", "Google", "Facebook", "SignInWithApple", "Workforce", "Corporate"]
            ),
            "AllowedOAuthFlows": ["code"],
            "CallbackURLs": ["summon://auth/callback"],
        },
    )
    minimal.primary_t.resource_count_is("AWS::Cognito::UserPoolIdentityProvider", 0)
    minimal.primary_t.resource_count_is("AWS::Cognito::UserPoolDomain", 0)


def test_identity_pool_role_is_scoped_to_the_users_own_prefix(full: Synth) -> None:
    stack = full.primary
    identity = stack.identity
    pool_ref = stack.resolve(identity.identity_pool.ref)
    role_arn = stack.resolve(identity.authenticated_role.role_arn)
    full.primary_t.has_resource_properties(
        "AWS::Cognito::IdentityPool",
        {
            "AllowUnauthenticatedIdentities": False,
            "CognitoIdentityProviders": [
                Match.object_like(
                    {
                        "ClientId": stack.resolve(identity.client.user_pool_client_id),
                        "ServerSideTokenCheck": True,
                    }
                )
            ],
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::Cognito::IdentityPoolRoleAttachment",
        {"IdentityPoolId": pool_ref, "Roles": {"authenticated": role_arn}},
    )
    # The stable user id (not the pool's "sub") becomes the session tag the policy names.
    full.primary_t.has_resource_properties(
        "AWS::Cognito::IdentityPoolPrincipalTag",
        {
            "IdentityPoolId": pool_ref,
            "PrincipalTags": {"user_id": "custom:user_id"},
            "UseDefaults": False,
        },
    )
    full.primary_t.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
                            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                            "Condition": {
                                "StringEquals": {"cognito-identity.amazonaws.com:aud": pool_ref},
                                "ForAnyValue:StringLike": {
                                    "cognito-identity.amazonaws.com:amr": "authenticated"
                                },
                            },
                        }
                    )
                ]
            }
        },
    )
    media_arn = stack.resolve(stack.storage.media.bucket_arn)
    full.primary_t.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "Roles": [stack.resolve(identity.authenticated_role.role_name)],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Sid": "OwnUploadPrefix",
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": {
                                "Fn::Join": [
                                    "",
                                    [media_arn, "/uploads/${aws:PrincipalTag/user_id}/*"],
                                ]
                            },
                        }
                    ]
                )
            },
        },
    )


def test_identity_role_grants_nothing_beyond_its_prefix(full: Synth) -> None:
    stack = full.primary
    role_name = stack.resolve(stack.identity.authenticated_role.role_name)
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in full.primary_t.to_json()["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and role_name in r["Properties"]["Roles"]
    ]
    statements = [s for p in policies for s in p]
    actions = {
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    # No s3:PutObject: a direct upload would bypass the presigned POST's size/type limits.
    assert actions == {"s3:GetObject", "kms:Decrypt"}


@pytest.mark.parametrize("role", ["primary", "standby"])
def test_users_keep_one_id_across_the_regions_pools(full: Synth, role: str) -> None:
    """docs/adr/0013: ``custom:user_id`` (clients read it, cannot write it) set by the
    directory trigger from a global table both regions' pools share."""
    stack = full.primary if role == "primary" else full.standby
    template = full.primary_t if role == "primary" else full.standby_t
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "Schema": Match.array_with(
                [
                    Match.object_like(
                        {"Name": "user_id", "AttributeDataType": "String", "Mutable": True}
                    )
                ]
            ),
            "LambdaConfig": {
                "PostConfirmation": stack.resolve(stack.identity.directory_trigger.function_arn),
                "UserMigration": stack.resolve(stack.identity.directory_trigger.function_arn),
            },
        },
    )
    (client,) = template.find_resources("AWS::Cognito::UserPoolClient").values()
    assert "custom:user_id" in client["Properties"]["ReadAttributes"]
    assert "custom:user_id" not in client["Properties"]["WriteAttributes"]
    fns = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if "DIRECTORY_TABLE" in f["Properties"].get("Environment", {}).get("Variables", {})
    ]
    assert len(fns) == 1
    assert stack.resolve(stack.data.directory.name) in (
        fns[0]["Properties"]["Environment"]["Variables"]["DIRECTORY_TABLE"],
        "summon-prod-user-directory",
    )
    if role == "primary":
        full.primary_t.has_resource_properties(
            "AWS::DynamoDB::GlobalTable",
            {
                "TableName": "summon-prod-user-directory",
                "Replicas": Match.array_with([Match.object_like({"Region": "us-west-2"})]),
            },
        )


def test_cognito_mails_through_ses_when_configured(full: Synth, minimal: Synth) -> None:
    full.primary_t.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "EmailConfiguration": Match.object_like(
                {"EmailSendingAccount": "DEVELOPER", "From": Match.string_like_regexp("no-reply@")}
            )
        },
    )
    (pool,) = minimal.primary_t.find_resources("AWS::Cognito::UserPool").values()
    assert pool["Properties"].get("EmailConfiguration", {}).get("EmailSendingAccount") in (
        None,
        "COGNITO_DEFAULT",
    )
