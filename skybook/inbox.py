"""The sandbox's captured email, rendered the way SES would have rendered it.

The messages come from :mod:`skybook.sesmail`, each template from SES (``GetTemplate``), and
the rendering from :mod:`skybook.handlebars`; a message that cannot be rendered carries
SES's reason instead of a body.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bootstrap import Target
from bootstrap.target import DEFAULT_REGION
from skybook import sesmail
from skybook.handlebars import RenderError, Template, render


@dataclass(frozen=True)
class Email:
    """One captured message; ``error`` says why a templated one could not be rendered."""

    id: str
    source: str
    to: tuple[str, ...]
    timestamp: str
    template: str | None
    data: dict[str, Any]
    subject: str
    html: str | None
    text: str | None
    error: str | None

    def to_json(self) -> dict[str, Any]:
        result = asdict(self)
        result["to"] = list(self.to)
        return result


@functools.lru_cache(maxsize=32)
def _ses_client(endpoint: str, region: str) -> Any:
    """One SES client per sandbox and region for the process: building a boto3 session and
    client costs tens of ms, and ``skybook book --wait`` and the console poll the inbox.
    A built client is thread-safe (the console serves requests on threads)."""
    return Target.local(endpoint, region=region).client("ses")


class _Templates:
    """SES ``GetTemplate`` per region and name, cached for one read of the inbox (a template
    may change between reads)."""

    def __init__(self, endpoint: str, default_region: str) -> None:
        self.endpoint = endpoint
        self.default_region = default_region
        self._cache: dict[tuple[str, str], Template | str] = {}

    def get(self, name: str, region: str | None) -> Template | str:
        """The template, or a sentence saying why it cannot be had."""
        region = region or self.default_region
        key = (region, name)
        if key not in self._cache:
            self._cache[key] = self._fetch(name, region)
        return self._cache[key]

    def _fetch(self, name: str, region: str) -> Template | str:
        ses = _ses_client(self.endpoint, region)
        try:
            part = ses.get_template(TemplateName=name)["Template"]
        except ses.exceptions.TemplateDoesNotExistException:
            return f"Template {name} does not exist (any more) in {region}"
        return Template(
            name=name,
            subject=part.get("SubjectPart") or "",
            html=part.get("HtmlPart"),
            text=part.get("TextPart"),
        )


def _to_email(message: Mapping[str, Any], templates: _Templates) -> Email:
    common: dict[str, Any] = {
        "id": str(message.get("Id", "")),
        "source": str(message.get("Source", "")),
        "to": tuple(sesmail.recipients(message)),
        "timestamp": str(message.get("Timestamp", "")),
    }
    name = message.get("Template")
    if not name:  # a plain SendEmail / SendRawEmail
        body = message.get("Body") or {}
        return Email(
            **common,
            template=None,
            data={},
            subject=str(message.get("Subject") or ""),
            html=body.get("html_part"),
            text=body.get("text_part") if body else message.get("RawData"),
            error=None,
        )
    failed: dict[str, Any] = {"subject": "", "html": None, "text": None}
    try:
        data = json.loads(message.get("TemplateData") or "{}")
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        return Email(**common, template=name, data={}, **failed, error=f"bad TemplateData: {error}")
    template = templates.get(name, message.get("Region"))
    if isinstance(template, str):
        return Email(**common, template=name, data=data, **failed, error=template)
    try:
        rendered = render(template, data)
    except RenderError as error:
        return Email(**common, template=name, data=data, **failed, error=str(error))
    return Email(
        **common,
        template=name,
        data=data,
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        error=None,
    )


def fetch_emails(
    endpoint: str, *, to: str | None = None, region: str = DEFAULT_REGION
) -> list[Email]:
    """Every captured email (to ``to`` only, if given), rendered, oldest first.

    ``region`` is where templates are looked up for messages that do not say their region.
    """
    messages = sesmail.messages(endpoint) if to is None else sesmail.addressed_to(endpoint, to)
    templates = _Templates(endpoint, region)
    emails = [_to_email(m, templates) for m in messages]
    # LocalStack lists in arrival order; a stable sort keeps it within the same second.
    return sorted(emails, key=lambda e: e.timestamp)
