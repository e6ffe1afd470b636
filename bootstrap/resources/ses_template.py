"""An SES email template. Its name is fixed (the functions' contract) and SES v1 has no tags,
so no sweep finds it: destroy deletes it by name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from bootstrap.aws import missing
from bootstrap.models import Observed, Resource
from bootstrap.resources.base import Context, Kind
from bootstrap.steps import Delete


@dataclass(frozen=True)
class SesTemplate(Resource):
    kind: ClassVar[str] = "SesTemplate"
    name: str
    subject: str
    html: str
    text: str

    def predicted(self, account: str, region: str) -> dict[str, str]:
        return {"arn": f"arn:aws:ses:{region}:{account}:template/{self.name}"}


@dataclass(frozen=True)
class SesTemplateState(Observed):
    subject: str | None
    html: str
    text: str


class SesTemplateKind(Kind[SesTemplate, SesTemplateState]):
    model = SesTemplate
    deletion_rank = 90

    def read(self, ctx: Context, r: SesTemplate) -> SesTemplateState | None:
        found = missing(lambda: ctx.client("ses").get_template(TemplateName=r.name))
        if found is None:
            return None
        t = found["Template"]
        return SesTemplateState(t.get("SubjectPart"), t.get("HtmlPart", ""), t.get("TextPart", ""))

    def diff(self, r: SesTemplate, state: SesTemplateState, known: Mapping[str, str]) -> list[str]:
        return ["content"] if state != SesTemplateState(r.subject, r.html, r.text) else []

    def create(self, ctx: Context, r: SesTemplate) -> dict[str, str]:
        ctx.client("ses").create_template(Template=self._template(r))
        return {}

    def update(
        self, ctx: Context, r: SesTemplate, state: SesTemplateState, changes: tuple[str, ...]
    ) -> None:
        ctx.client("ses").update_template(Template=self._template(r))

    def _template(self, r: SesTemplate) -> dict[str, str]:
        return {
            "TemplateName": r.name,
            "SubjectPart": r.subject,
            "HtmlPart": r.html,
            "TextPart": r.text,
        }

    def delete(self, ctx: Context, step: Delete) -> None:
        ctx.client("ses").delete_template(TemplateName=step.name)


KIND = SesTemplateKind()
