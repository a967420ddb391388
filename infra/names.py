"""Physical names of the resources the app and the two regions agree on.

Names are deterministic (never generated) wherever another region, the app's decorator
arguments or a policy must know them before the resource exists: the standby region's
replica table, keys and buckets are addressed by name from the primary, and the app's
``@app.on_sqs_message`` / ``@app.on_sns_message`` take queue and topic *names*. The table,
queue and topic names are the app's own defaults (``chalicelib.config.default_names``);
bucket names add account and region because S3 names are global.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws

from chalicelib import config as app_config


@dataclass(frozen=True)
class Names:
    stage: str
    region: str
    account: str | None = None

    @property
    def prefix(self) -> str:
        return app_config.prefix(self.stage)

    @property
    def _defaults(self) -> dict[str, str]:
        return app_config.default_names(self.stage)

    @property
    def _account(self) -> str:
        return self.account or Aws.ACCOUNT_ID

    # DynamoDB (global tables: the same name in both regions)
    @property
    def table(self) -> str:
        return self._defaults[app_config.TABLE]

    @property
    def idempotency_table(self) -> str:
        return self._defaults[app_config.IDEMPOTENCY_TABLE]

    @property
    def user_directory_table(self) -> str:
        """e-mail -> stable user id, shared by both regions' user pools (infra-owned)."""
        return f"{self.prefix}-user-directory"

    # S3 (global namespace)
    def bucket(self, purpose: str, region: str | None = None) -> str:
        return f"{self.prefix}-{purpose}-{self._account}-{region or self.region}"

    def bucket_arn(self, purpose: str, region: str | None = None) -> str:
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket(purpose, region)}"

    # Messaging (regional: the same names in both regions)
    @property
    def media_queue(self) -> str:
        return self._defaults[app_config.MEDIA_QUEUE]

    @property
    def fanout_queue(self) -> str:
        return self._defaults[app_config.FANOUT_QUEUE]

    @property
    def exports_queue(self) -> str:
        return self._defaults[app_config.EXPORTS_QUEUE]

    @property
    def exports_dlq(self) -> str:
        return f"{self.exports_queue}-dlq"

    @property
    def announcements_topic(self) -> str:
        return self._defaults[app_config.ANNOUNCEMENTS_TOPIC]

    @property
    def alarm_topic(self) -> str:
        return f"{self.prefix}-alarms"

    def platform_application(self, platform: str) -> str:
        return f"{self.prefix}-{platform.replace('_', '-')}"

    # KMS (an alias per purpose in each region; the primary names the standby's by alias)
    def key_alias(self, purpose: str) -> str:
        return f"alias/{self.prefix}-{purpose}"

    def key_alias_arn(self, purpose: str, region: str) -> str:
        return f"arn:{Aws.PARTITION}:kms:{region}:{self._account}:{self.key_alias(purpose)}"

    # Backup
    @property
    def backup_vault(self) -> str:
        return f"{self.prefix}-vault"

    def backup_vault_arn(self, region: str) -> str:
        return (
            f"arn:{Aws.PARTITION}:backup:{region}:{self._account}:backup-vault:{self.backup_vault}"
        )

    # Analytics
    @property
    def glue_database(self) -> str:
        return f"{self.prefix}-analytics".replace("-", "_")

    @property
    def athena_workgroup(self) -> str:
        return f"{self.prefix}-analytics"

    @property
    def log_group_prefix(self) -> str:
        return f"/summon/{self.stage}"
