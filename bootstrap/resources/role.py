"""An IAM role: what one function may do, and nothing more."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from bootstrap.aws import missing, normalize_policy, paginate, tags_as_map
from bootstrap.models import Observed, Resource, Statement, policy_document, resolve
from bootstrap.resources.base import Context, Kind, Permission, Scope, changed, list_call
from bootstrap.steps import Delete


@dataclass(frozen=True)
class Role(Resource):
    """An IAM role with one inline policy (named after the role), assumable by one AWS
    service."""

    kind: ClassVar[str] = "Role"
    name: str
    trust_service: str
    statements: tuple[Statement, ...]

    def trust_document(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": self.trust_service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }

    def policy(self) -> dict[str, Any]:
        return policy_document(self.statements)

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:iam::{account}:role/{self.name}"}


@dataclass(frozen=True)
class RoleState(Observed):
    arn: str
    trust: Mapping[str, Any] | str | None  # policy documents, as IAM returns them
    policy: Mapping[str, Any] | str | None  # the inline policy; None: there is none
    tags: Mapping[str, str] = field(default_factory=dict)

    def attrs(self) -> dict[str, str]:
        return {"arn": self.arn}


def read_role(ctx: Context, name: str) -> RoleState | None:
    """The role of that name and its inline policy of the same name."""
    iam = ctx.client("iam")
    found = missing(lambda: iam.get_role(RoleName=name))
    if found is None:
        return None
    inline = missing(lambda: iam.get_role_policy(RoleName=name, PolicyName=name))
    return RoleState(
        arn=found["Role"]["Arn"],
        trust=found["Role"].get("AssumeRolePolicyDocument"),
        policy=None if inline is None else inline["PolicyDocument"],
        tags=tags_as_map(found["Role"].get("Tags")),
    )


class RoleKind(Kind[Role, RoleState]):
    model = Role
    deletion_rank = 60
    taggable = True

    def read(self, ctx: Context, r: Role) -> RoleState | None:
        return read_role(ctx, r.name)

    def diff(self, r: Role, state: RoleState, known: Mapping[str, str]) -> list[str]:
        wanted = resolve(r.policy(), known, strict=False)
        return changed(
            trust=normalize_policy(state.trust) != normalize_policy(r.trust_document()),
            policy=normalize_policy(state.policy) != normalize_policy(wanted),
        )

    def create(self, ctx: Context, r: Role) -> dict[str, str]:
        iam = ctx.client("iam")
        arn = iam.create_role(
            RoleName=r.name,
            AssumeRolePolicyDocument=json.dumps(r.trust_document()),
            Description=f"skybook stack {ctx.stack}: {r.name}",
            Tags=ctx.tag_list(),
        )["Role"]["Arn"]
        self._put_policy(ctx, r)
        return {"arn": arn}

    def update(self, ctx: Context, r: Role, state: RoleState, changes: tuple[str, ...]) -> None:
        if "trust" in changes:
            ctx.client("iam").update_assume_role_policy(
                RoleName=r.name, PolicyDocument=json.dumps(r.trust_document())
            )
        if "policy" in changes:
            self._put_policy(ctx, r)

    def retag(
        self, ctx: Context, r: Role, state: RoleState, put: Mapping[str, str], remove: list[str]
    ) -> None:
        iam = ctx.client("iam")
        if put:
            iam.tag_role(RoleName=r.name, Tags=[{"Key": k, "Value": v} for k, v in put.items()])
        if remove:
            iam.untag_role(RoleName=r.name, TagKeys=remove)

    def _put_policy(self, ctx: Context, r: Role) -> None:
        ctx.client("iam").put_role_policy(
            RoleName=r.name, PolicyName=r.name, PolicyDocument=ctx.policy_json(r.statements)
        )

    def find_owned(self, ctx: Context) -> list[Delete]:
        iam = ctx.client("iam")
        found = []
        for role in paginate(iam, "list_roles", "Roles"):
            name = role["RoleName"]
            if name.startswith(ctx.prefix) and ctx.ours(
                iam.list_role_tags(RoleName=name).get("Tags", [])
            ):
                found.append(Delete(self.name, name))
        return found

    def delete(self, ctx: Context, step: Delete) -> None:
        iam, name = ctx.client("iam"), step.name
        for policy in paginate(iam, "list_role_policies", "PolicyNames", RoleName=name):
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in paginate(
            iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name
        ):
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        missing(lambda: iam.delete_role(RoleName=name))

    def permissions(self, scope: Scope) -> list[Permission]:
        roles = (scope.arn("iam", f"role/{scope.names}", regional=False),)
        return [
            Permission(
                roles,
                reads=(
                    "iam:GetRole",
                    "iam:GetRolePolicy",
                    "iam:ListRolePolicies",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListRoleTags",
                ),
                writes=(
                    "iam:CreateRole",
                    "iam:DeleteRole",
                    "iam:UpdateAssumeRolePolicy",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:TagRole",
                    "iam:UntagRole",
                ),
            ),
            Permission(
                roles,
                # CreateFunction and UpdateFunctionConfiguration hand a role to Lambda: only
                # the stack's roles, and only to Lambda.
                writes=("iam:PassRole",),
                condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
            ),
            list_call("iam:ListRoles"),
        ]


KIND = RoleKind()
