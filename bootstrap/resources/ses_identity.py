"""The SES identity receipts are sent from: an email address or a whole domain (SES v1, which
works on LocalStack and AWS). It has no tags and is shared by every stack of an account and
region, so no sweep finds it: destroy deletes it by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bootstrap.aws import paginate
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class SesIdentity(Resource):
    """The sender: an email address or a whole domain."""

    kind: ClassVar[str] = "SesIdentity"
    name: str  # the address or domain itself

    @property
    def is_domain(self) -> bool:
        return "@" not in self.name

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:ses:{region}:{account}:identity/{self.name}"}


class SesIdentityKind(Kind[SesIdentity, Observed]):
    model = SesIdentity
    deletion_rank = 100

    def read(self, ctx: Context, r: SesIdentity) -> Observed | None:
        # Listed, not asked about: LocalStack reports any identity as verified when asked.
        kind = "Domain" if r.is_domain else "EmailAddress"
        identities = paginate(ctx.client("ses"), "list_identities", "Identities", IdentityType=kind)
        return Observed() if r.name in identities else None

    def create(self, ctx: Context, r: SesIdentity) -> dict[str, str]:
        ses = ctx.client("ses")
        if r.is_domain:
            ses.verify_domain_identity(Domain=r.name)
        else:
            ses.verify_email_identity(EmailAddress=r.name)
        return {}

    def delete(self, ctx: Context, step: Delete) -> None:
        ctx.client("ses").delete_identity(Identity=step.name)


KIND = SesIdentityKind()
