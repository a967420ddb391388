"""Cognito: the user pool (email sign-up), the role groups, the mobile app client, the
optional federated identity providers and the identity pool.

The identity pool hands signed-in users STS credentials that can only put and get objects
under their *own* upload prefix of the media bucket, ``uploads/<user pool sub>/``: the
user-pool ``sub`` claim is mapped to the session tag ``user_id`` (identity-pool "attributes
for access control") and the role's policy names ``uploads/${aws:PrincipalTag/user_id}/*``.
That is the same prefix the app's presigned POST uses, so both upload paths feed one
processing pipeline (the object-created events of ``uploads/``).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, SecretValue, Stack
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib.auth import OPERATORS, ROLES
from infra.compliance import acknowledge_nag, ignore_cfn_lint, skip_checkov
from infra.constructs.data import TableRef
from infra.constructs.storage import UPLOADS_PREFIX
from infra.names import Names
from infra.settings import IdentityProviderSettings, SesSettings

USER_ID_TAG = "user_id"
"""Session tag carrying the stable user id (identity-pool principal-tag mapping)."""
USER_ID_ATTRIBUTE = "custom:user_id"
"""The user's id in both regions' pools (docs/adr/0013): set by the directory trigger."""
TRIGGER_DIR = Path(__file__).resolve().parent.parent / "functions" / "user_directory"


class Identity(Construct):
    """The user pool (:attr:`user_pool`, e-mail sign-in, one group per app role), its
    federated identity providers and hosted UI domain (when configured), the mobile app
    client (:attr:`client`), and the identity pool (:attr:`identity_pool`) whose
    :attr:`authenticated_role` reaches only the user's own upload prefix."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        providers: IdentityProviderSettings,
        media_bucket: s3.IBucket,
        storage_key: kms.IKey,
        directory: TableRef,
        data_key: kms.IKey,
        ops_key: kms.IKey,
        log_retention: logs.RetentionDays,
        ses: SesSettings | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.user_pool = self._user_pool(names=names, ses=ses)
        self.directory_trigger = self._directory_trigger(
            names=names,
            directory=directory,
            data_key=data_key,
            ops_key=ops_key,
            log_retention=log_retention,
        )
        self._groups()
        federated = self._identity_providers(providers)
        if federated and providers.domain_prefix:
            self.user_pool.add_domain(
                "HostedUi",
                cognito_domain=cognito.CognitoDomainOptions(domain_prefix=providers.domain_prefix),
            )
        acknowledge_nag(
            self.user_pool,
            COG1="at least 10 characters with upper, lower and digits; no symbol rule (NIST SP "
            "800-63B advises length over composition rules)",
            COG2="MFA is optional (TOTP) for a consumer marketplace; staff accounts should "
            "enable it",
            COG8="the Plus tier (threat protection) is billed per active user; revisit with growth",
        )
        self.client = self._client(names=names, providers=providers, federated=federated)
        self.identity_pool = self._identity_pool(names=names)
        self.authenticated_role = self._authenticated_role(media_bucket, storage_key)
        cognito.CfnIdentityPoolRoleAttachment(
            self,
            "Roles",
            identity_pool_id=self.identity_pool.ref,
            roles={"authenticated": self.authenticated_role.role_arn},
        )

    @property
    def user_pool_arn(self) -> str:
        return self.user_pool.user_pool_arn

    def _user_pool(self, *, names: Names, ses: SesSettings | None) -> cognito.UserPool:
        """E-mail sign-up and sign-in, optional TOTP MFA, retained and deletion-protected;
        the stable id :data:`USER_ID_ATTRIBUTE`; e-mail through SES when configured
        (Cognito's own sender allows a few dozen messages a day)."""
        return cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{names.prefix}-users",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            # Mutable so that the triggers (admin API) can set it; the app clients cannot
            # write it (see _client).
            custom_attributes={
                USER_ID_ATTRIBUTE.removeprefix("custom:"): cognito.StringAttribute(
                    min_len=1, max_len=64, mutable=True
                )
            },
            email=(
                cognito.UserPoolEmail.with_ses(
                    from_email=ses.from_email,
                    from_name=ses.from_name,
                    ses_verified_domain=ses.verified_domain,
                    configuration_set_name=ses.configuration_set,
                    ses_region=ses.region or Stack.of(self).region,
                )
                if ses is not None
                else None
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=10,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=False,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _directory_trigger(
        self,
        *,
        names: Names,
        directory: TableRef,
        data_key: kms.IKey,
        ops_key: kms.IKey,
        log_retention: logs.RetentionDays,
    ) -> lambda_.Function:
        """Post-confirmation and user-migration triggers: the stable id from the directory
        (``infra/functions/user_directory``)."""
        stack = Stack.of(self)
        log_group = logs.LogGroup(
            self,
            "DirectoryTriggerLogs",
            log_group_name=f"{names.log_group_prefix}/lambda/UserDirectoryTrigger",
            encryption_key=ops_key,
            retention=log_retention,
            removal_policy=RemovalPolicy.RETAIN,
        )
        fn = lambda_.Function(
            self,
            "DirectoryTrigger",
            description="Cognito triggers: one user id across both regions' pools",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(TRIGGER_DIR), exclude=["__pycache__", "*.pyc"]),
            memory_size=256,
            timeout=Duration.seconds(5),
            environment={"DIRECTORY_TABLE": directory.name},
            environment_encryption=ops_key,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[directory.arn]
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"dynamodb.{stack.region}.amazonaws.com"}
                },
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(
                # The pool's ARN would make a cycle (the pool names this function).
                actions=["cognito-idp:AdminUpdateUserAttributes"],
                resources=[stack.format_arn(service="cognito-idp", resource="userpool/*")],
            )
        )
        skip_checkov(
            fn,
            CKV_AWS_115="a Cognito trigger: Cognito calls it once per sign-up, synchronously",
            CKV_AWS_116="invoked synchronously by Cognito, which fails the sign-up itself",
            CKV_AWS_117="reaches only DynamoDB and Cognito's public endpoints",
        )
        acknowledge_nag(
            fn,
            IAM4="AWSLambdaBasicExecutionRole (CloudWatch Logs only)",
            IAM5="cognito-idp userpool/* of this region and account: the pool's own ARN would "
            "make a dependency cycle (the pool names this function as its trigger)",
        )
        ignore_cfn_lint(fn, "W3005")  # CDK's own DependsOn on the role it also references
        self.user_pool.add_trigger(cognito.UserPoolOperation.POST_CONFIRMATION, fn)
        self.user_pool.add_trigger(cognito.UserPoolOperation.USER_MIGRATION, fn)
        return fn

    def _groups(self) -> None:
        """One group per app role (:data:`chalicelib.auth.ROLES`, in precedence order) and
        the operators' group (first: an operator's token carries it first)."""
        for precedence, group in enumerate((OPERATORS, *ROLES)):
            cognito.CfnUserPoolGroup(
                self,
                f"Group{group.title()}",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=group,
                precedence=precedence,
                description=f"Summon {group}",
            )

    def _client(
        self,
        *,
        names: Names,
        providers: IdentityProviderSettings,
        federated: list[tuple[cognito.UserPoolClientIdentityProvider, Construct]],
    ) -> cognito.UserPoolClient:
        """The mobile app's public client: SRP and password sign-in, one-hour tokens, and
        the OAuth code flow when there are federated providers."""
        client = self.user_pool.add_client(
            "MobileClient",
            user_pool_client_name=f"{names.prefix}-mobile",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
            # Users may change their profile, never their stable id.
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True, fullname=True)
            .with_custom_attributes(USER_ID_ATTRIBUTE.removeprefix("custom:")),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(
                email=True, fullname=True
            ),
            enable_token_revocation=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            supported_identity_providers=[
                cognito.UserPoolClientIdentityProvider.COGNITO,
                *(p for p, _ in federated),
            ],
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[
                    cognito.OAuthScope.OPENID,
                    cognito.OAuthScope.EMAIL,
                    cognito.OAuthScope.PROFILE,
                ],
                callback_urls=list(providers.callback_urls),
                logout_urls=list(providers.logout_urls),
            )
            if federated
            else None,
            disable_o_auth=not federated,
        )
        for _, provider in federated:
            client.node.add_dependency(provider)
        return client

    def _identity_pool(self, *, names: Names) -> cognito.CfnIdentityPool:
        """Signed-in users of the client only; the ``sub`` claim becomes the session tag
        :data:`USER_ID_TAG`."""
        identity_pool = cognito.CfnIdentityPool(
            self,
            "IdentityPool",
            identity_pool_name=f"{names.prefix}-identities".replace("-", "_"),
            allow_unauthenticated_identities=False,
            allow_classic_flow=False,
            cognito_identity_providers=[
                cognito.CfnIdentityPool.CognitoIdentityProviderProperty(
                    client_id=self.client.user_pool_client_id,
                    provider_name=self.user_pool.user_pool_provider_name,
                    server_side_token_check=True,
                )
            ],
        )
        cognito.CfnIdentityPoolPrincipalTag(
            self,
            "PrincipalTags",
            identity_pool_id=identity_pool.ref,
            identity_provider_name=self.user_pool.user_pool_provider_name,
            principal_tags={USER_ID_TAG: USER_ID_ATTRIBUTE},
            use_defaults=False,
        )
        return identity_pool

    def _authenticated_role(self, bucket: s3.IBucket, key: kms.IKey) -> iam.Role:
        stack = Stack.of(self)
        principal = iam.FederatedPrincipal(
            "cognito-identity.amazonaws.com",
            conditions={
                "StringEquals": {"cognito-identity.amazonaws.com:aud": self.identity_pool.ref},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
            assume_role_action="sts:AssumeRoleWithWebIdentity",
        ).with_session_tags()
        role = iam.Role(
            self,
            "AuthenticatedRole",
            assumed_by=principal,
            description="Signed-in Summon users: read their own media upload prefix only",
            max_session_duration=Duration.hours(1),
        )
        own_prefix = bucket.arn_for_objects(
            f"{UPLOADS_PREFIX}${{aws:PrincipalTag/{USER_ID_TAG}}}/*"
        )
        # Read only: uploads go through the app's presigned POST, whose size and type limits
        # a direct s3:PutObject would bypass.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="OwnUploadPrefix",
                actions=["s3:GetObject"],
                resources=[own_prefix],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="MediaKeyThroughS3",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
        acknowledge_nag(
            role,
            IAM5="uploads/${aws:PrincipalTag/user_id}/*: the caller's own prefix only",
        )
        return role

    def _identity_providers(
        self, p: IdentityProviderSettings
    ) -> list[tuple[cognito.UserPoolClientIdentityProvider, Construct]]:
        out: list[tuple[cognito.UserPoolClientIdentityProvider, Construct]] = []
        email = cognito.AttributeMapping(email=cognito.ProviderAttribute.other("email"))
        if p.google:
            out.append(
                (
                    cognito.UserPoolClientIdentityProvider.GOOGLE,
                    cognito.UserPoolIdentityProviderGoogle(
                        self,
                        "Google",
                        user_pool=self.user_pool,
                        client_id=p.google["clientId"],
                        client_secret_value=SecretValue.secrets_manager(
                            p.google["clientSecretName"]
                        ),
                        scopes=["openid", "email", "profile"],
                        attribute_mapping=cognito.AttributeMapping(
                            email=cognito.ProviderAttribute.GOOGLE_EMAIL,
                            fullname=cognito.ProviderAttribute.GOOGLE_NAME,
                        ),
                    ),
                )
            )
        if p.facebook:
            out.append(
                (
                    cognito.UserPoolClientIdentityProvider.FACEBOOK,
                    cognito.UserPoolIdentityProviderFacebook(
                        self,
                        "Facebook",
                        user_pool=self.user_pool,
                        client_id=p.facebook["clientId"],
                        client_secret=SecretValue.secrets_manager(
                            p.facebook["clientSecretName"]
                        ).unsafe_unwrap(),
                        scopes=["public_profile", "email"],
                        attribute_mapping=cognito.AttributeMapping(
                            email=cognito.ProviderAttribute.FACEBOOK_EMAIL,
                            fullname=cognito.ProviderAttribute.FACEBOOK_NAME,
                        ),
                    ),
                )
            )
        if p.apple:
            out.append(
                (
                    cognito.UserPoolClientIdentityProvider.APPLE,
                    cognito.UserPoolIdentityProviderApple(
                        self,
                        "Apple",
                        user_pool=self.user_pool,
                        client_id=p.apple["servicesId"],
                        team_id=p.apple["teamId"],
                        key_id=p.apple["keyId"],
                        private_key_value=SecretValue.secrets_manager(
                            p.apple["privateKeySecretName"]
                        ),
                        scopes=["email", "name"],
                        attribute_mapping=cognito.AttributeMapping(
                            email=cognito.ProviderAttribute.APPLE_EMAIL,
                            fullname=cognito.ProviderAttribute.APPLE_NAME,
                        ),
                    ),
                )
            )
        for oidc in p.oidc:
            out.append(
                (
                    cognito.UserPoolClientIdentityProvider.custom(oidc.name),
                    cognito.UserPoolIdentityProviderOidc(
                        self,
                        f"Oidc{oidc.name}",
                        name=oidc.name,
                        user_pool=self.user_pool,
                        issuer_url=oidc.issuer_url,
                        client_id=oidc.client_id,
                        client_secret=SecretValue.secrets_manager(
                            oidc.client_secret_name
                        ).unsafe_unwrap(),
                        scopes=["openid", "email", "profile"],
                        attribute_mapping=email,
                    ),
                )
            )
        for saml in p.saml:
            out.append(
                (
                    cognito.UserPoolClientIdentityProvider.custom(saml.name),
                    cognito.UserPoolIdentityProviderSaml(
                        self,
                        f"Saml{saml.name}",
                        name=saml.name,
                        user_pool=self.user_pool,
                        metadata=cognito.UserPoolIdentityProviderSamlMetadata.url(
                            saml.metadata_url
                        ),
                        attribute_mapping=cognito.AttributeMapping(
                            email=cognito.ProviderAttribute.other(
                                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
                            )
                        ),
                    ),
                )
            )
        return out
