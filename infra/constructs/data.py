"""DynamoDB: the main single-table design and the Powertools idempotency table, as global
tables (``TableV2``) owned by the primary region with a replica in the standby region.

Key schema, indexes and TTL come from the app's PynamoDB models (:mod:`infra.schema`).
Point-in-time recovery (35 days) on every replica, a customer-managed KMS key per region
(the standby replica uses the standby region's ``data`` key, named by alias), deletion
protection and a stream of new and old images (the analytics export reads it).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra import schema
from infra.names import Names
from infra.settings import Role

PITR_DAYS = 35


@dataclass(frozen=True)
class TableRef:
    """What the rest of the stack needs to know of a table in this region."""

    name: str
    arn: str
    stream_arn: str | None  # only where the stream is consumed (the primary)

    @property
    def index_arn(self) -> str:
        return f"{self.arn}/index/*"


def _attr(key: schema.KeyAttr) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=dynamodb.AttributeType(_TYPES[key.type]))


_TYPES = {"S": "STRING", "N": "NUMBER", "B": "BINARY"}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


class Data(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        names: Names,
        role: Role,
        standby_region: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id_)
        self.key = key
        stack = Stack.of(self)
        self.tables: dict[str, dynamodb.TableV2] = {}
        specs = {
            names.table: schema.main_table(),
            names.idempotency_table: schema.idempotency_table(),
        }
        refs: list[TableRef] = []
        for logical, (table_name, spec) in zip(("Main", "Idempotency"), specs.items(), strict=True):
            if role is Role.PRIMARY:
                table = self._global_table(logical, table_name, spec, names, standby_region)
                self.tables[logical] = table
                refs.append(TableRef(table.table_name, table.table_arn, table.table_stream_arn))
            else:
                # The standby region's replica is created by the primary's global table.
                arn = stack.format_arn(
                    service="dynamodb", resource="table", resource_name=table_name
                )
                refs.append(TableRef(table_name, arn, None))
        self.main, self.idempotency = refs
        self.directory = self._directory(names, role, standby_region)

    def _directory(self, names: Names, role: Role, standby_region: str) -> TableRef:
        """The user directory (e-mail -> stable user id) of both regions' Cognito triggers:
        a global table like the app's, so the standby's pool resolves the same ids."""
        name = names.user_directory_table
        if role is not Role.PRIMARY:
            arn = Stack.of(self).format_arn(
                service="dynamodb", resource="table", resource_name=name
            )
            return TableRef(name, arn, None)
        pitr = dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True, recovery_period_in_days=PITR_DAYS
        )
        table = dynamodb.TableV2(
            self,
            "UserDirectory",
            table_name=name,
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(
                self.key,
                replica_key_arns={standby_region: names.key_alias_arn("data", standby_region)},
            ),
            point_in_time_recovery_specification=pitr,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            replicas=[
                dynamodb.ReplicaTableProps(
                    region=standby_region,
                    point_in_time_recovery_specification=pitr,
                    deletion_protection=True,
                )
            ],
        )
        self.tables["UserDirectory"] = table
        return TableRef(table.table_name, table.table_arn, None)

    def _global_table(
        self,
        id_: str,
        table_name: str,
        spec: schema.TableDef,
        names: Names,
        standby_region: str,
    ) -> dynamodb.TableV2:
        pitr = dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True, recovery_period_in_days=PITR_DAYS
        )
        return dynamodb.TableV2(
            self,
            id_,
            table_name=table_name,
            partition_key=_attr(spec.partition_key),
            sort_key=_attr(spec.sort_key) if spec.sort_key else None,
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=ix.name,
                    partition_key=_attr(ix.partition_key),
                    sort_key=_attr(ix.sort_key) if ix.sort_key else None,
                    projection_type=_PROJECTIONS[ix.projection],
                    non_key_attributes=list(ix.non_key_attributes) or None,
                )
                for ix in spec.indexes
            ],
            local_secondary_indexes=[
                dynamodb.LocalSecondaryIndexProps(
                    index_name=ix.name,
                    sort_key=_attr(sort_key),
                    projection_type=_PROJECTIONS[ix.projection],
                    non_key_attributes=list(ix.non_key_attributes) or None,
                )
                for ix in spec.local_indexes
                if (sort_key := ix.sort_key) is not None  # a local index always has one
            ]
            or None,
            time_to_live_attribute=spec.ttl_attribute,
            billing=dynamodb.Billing.on_demand(),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(
                self.key,
                replica_key_arns={standby_region: names.key_alias_arn("data", standby_region)},
            ),
            point_in_time_recovery_specification=pitr,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
            replicas=[
                dynamodb.ReplicaTableProps(
                    region=standby_region,
                    point_in_time_recovery_specification=pitr,
                    deletion_protection=True,
                )
            ],
        )
