"""One-off backfill before relying on failover (docs/adr/0013-cognito-disaster-recovery.md,
step 5): every user of the primary pool without ``custom:user_id`` gets their ``sub`` as
their stable id, and the user directory maps their e-mail to it. Idempotent: a user who has
an id, or an e-mail the directory knows, keeps it.

    python -m infra.scripts.backfill_user_ids --pool <primary pool id> \\
        --table summon-<stage>-user-directory [--region us-east-1] [--dry-run]

Cost: 1 ListUsers per 60 users; per user without an id, 1 conditional PutItem (+1 GetItem
when the e-mail is known) and 1 AdminUpdateUserAttributes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import boto3

from infra.functions.user_directory.index import USER_ID_ATTRIBUTE, resolve


def backfill(idp: Any, ddb: Any, pool_id: str, table: str, dry_run: bool = False) -> dict[str, int]:
    """Give every user of ``pool_id`` a stable id; counts of users ``seen``, ``set`` and
    ``skipped`` (no e-mail: nothing to key the directory on)."""
    report = {"seen": 0, "set": 0, "skipped": 0}
    for page in idp.get_paginator("list_users").paginate(UserPoolId=pool_id):
        for user in page["Users"]:
            report["seen"] += 1
            attrs = {a["Name"]: a["Value"] for a in user.get("Attributes", [])}
            if attrs.get(USER_ID_ATTRIBUTE):
                continue
            email = attrs.get("email")
            if not email:
                report["skipped"] += 1
                continue
            if dry_run:
                report["set"] += 1
                continue
            user_id = resolve(ddb, table, email, attrs["sub"])
            idp.admin_update_user_attributes(
                UserPoolId=pool_id,
                Username=user["Username"],
                UserAttributes=[{"Name": USER_ID_ATTRIBUTE, "Value": user_id}],
            )
            report["set"] += 1
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    report = backfill(
        boto3.client("cognito-idp", region_name=args.region),
        boto3.client("dynamodb", region_name=args.region),
        args.pool,
        args.table,
        dry_run=args.dry_run,
    )
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
