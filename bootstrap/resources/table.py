"""A DynamoDB table: flights and bookings, one table (keys PK and SK)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from bootstrap.aws import missing, paginate, tags_as_map
from bootstrap.errors import DeployError
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind, Permission, Scope, list_call
from bootstrap.steps import Delete


@dataclass(frozen=True)
class Table(Resource):
    """A DynamoDB table with string hash and range keys, billed per request."""

    kind: ClassVar[str] = "Table"
    name: str
    hash_key: str = "PK"
    range_key: str = "SK"
    billing_mode: str = "PAY_PER_REQUEST"

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:dynamodb:{region}:{account}:table/{self.name}"}


@dataclass(frozen=True)
class TableState(Observed):
    arn: str
    keys: Mapping[str, str]  # key type (HASH, RANGE) -> attribute name
    billing_mode: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


class TableKind(Kind[Table, TableState]):
    model = Table
    deletion_rank = 120
    taggable = True

    def read(self, ctx: Context, r: Table) -> TableState | None:
        found = missing(lambda: ctx.client("dynamodb").describe_table(TableName=r.name))
        if found is None:
            return None
        table = found["Table"]
        mode = table.get("BillingModeSummary", {}).get("BillingMode")
        if mode is None:
            units = table.get("ProvisionedThroughput", {}).get("ReadCapacityUnits", 0)
            mode = "PROVISIONED" if units else "PAY_PER_REQUEST"
        keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
        return TableState(
            arn=table["TableArn"], keys=keys, billing_mode=mode, tags=_tags(ctx, table["TableArn"])
        )

    def diff(self, r: Table, state: TableState, known: Mapping[str, str]) -> list[str]:
        keys = {"HASH": r.hash_key, "RANGE": r.range_key}
        if state.keys != keys:
            raise DeployError(
                f"table {r.name} has keys {dict(state.keys)} but the stack wants {keys}: keys "
                "cannot change, so delete the table (losing its data) and apply again"
            )
        return ["billing mode"] if state.billing_mode != r.billing_mode else []

    def create(self, ctx: Context, r: Table) -> dict[str, str]:
        table = ctx.client("dynamodb").create_table(
            TableName=r.name,
            KeySchema=[
                {"AttributeName": r.hash_key, "KeyType": "HASH"},
                {"AttributeName": r.range_key, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": r.hash_key, "AttributeType": "S"},
                {"AttributeName": r.range_key, "AttributeType": "S"},
            ],
            BillingMode=r.billing_mode,
            Tags=ctx.tag_list(),
        )["TableDescription"]
        self._wait(ctx, r.name)
        return {"arn": table["TableArn"]}

    def update(self, ctx: Context, r: Table, state: TableState, changes: tuple[str, ...]) -> None:
        ctx.client("dynamodb").update_table(TableName=r.name, BillingMode=r.billing_mode)
        self._wait(ctx, r.name)

    def retag(
        self, ctx: Context, r: Table, state: TableState, put: Mapping[str, str], remove: list[str]
    ) -> None:
        ddb = ctx.client("dynamodb")
        if put:
            ddb.tag_resource(
                ResourceArn=state.arn, Tags=[{"Key": k, "Value": v} for k, v in put.items()]
            )
        if remove:
            ddb.untag_resource(ResourceArn=state.arn, TagKeys=remove)

    def _wait(self, ctx: Context, name: str) -> None:
        ctx.wait("dynamodb", "table_exists", f"table {name} to become ACTIVE", TableName=name)

    def find_owned(self, ctx: Context) -> list[Delete]:
        ddb = ctx.client("dynamodb")
        found = []
        for name in paginate(ddb, "list_tables", "TableNames"):
            if not name.startswith(ctx.prefix):
                continue
            arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
            if ctx.ours(_tags(ctx, arn)):
                found.append(Delete(self.name, name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        ddb = ctx.client("dynamodb")
        missing(lambda: ddb.delete_table(TableName=step.name))

    def permissions(self, scope: Scope) -> list[Permission]:
        return [
            Permission(
                (scope.arn("dynamodb", f"table/{scope.names}"),),
                reads=("dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"),
                writes=(
                    "dynamodb:CreateTable",
                    "dynamodb:UpdateTable",
                    "dynamodb:DeleteTable",
                    "dynamodb:TagResource",
                    "dynamodb:UntagResource",
                ),
            ),
            list_call("dynamodb:ListTables"),
        ]


def _tags(ctx: Context, arn: str) -> dict[str, str]:
    return tags_as_map(
        ctx.client("dynamodb").list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    )


KIND = TableKind()
