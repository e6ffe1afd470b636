"""SES templates rendered the way SES renders them, for a sandbox that only stores them.

LocalStack keeps a templated email only as its template name and ``TemplateData``
(``GET /_aws/ses``), so reading the inbox means rendering the template ourselves. SES
templates are Handlebars, with one difference that matters: SES does not HTML-escape
``{{name}}`` ("SES doesn't escape HTML content when rendering the HTML template for a
message", https://docs.aws.amazon.com/ses/latest/dg/send-personalized-email-advanced.html),
so here ``{{name}}``, ``{{{name}}}`` and ``{{& name}}`` all insert the value as it is, and the
inbox shows what SES would send. (The app re-validates every value before it mails, see
functions/send_booking_receipt; the console shows email HTML in a sandboxed frame.)
``{{a.b}}`` looks up nested data, and a referenced attribute missing from the data fails the whole
message with SES's ``MissingRenderingAttributeException`` text. The renderer below covers
that plus the common block helpers (``#if``, ``#unless``, ``#each``, ``#with``, ``else``),
comments, ``~`` whitespace control and ``\\{{`` escapes; partials and custom helpers (which
SES does not offer) are not supported. Standalone block lines are not removed as
Handlebars does, so a block on its own line leaves its line break behind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skybook.errors import UserError


class RenderError(UserError):
    """The template cannot be rendered with this data; the message is SES's."""


@dataclass(frozen=True)
class Template:
    name: str
    subject: str
    html: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str | None
    text: str | None


_TAG_RE = re.compile(
    r"\{\{(?P<ltrim>~?)(?:"
    r"!--(?P<long_comment>.*?)--"
    r"|\{(?P<raw>[^{}]*?)\}"
    r"|(?P<body>[^{}]*?)"
    r")(?P<rtrim>~?)\}\}",
    re.S,
)
_BLOCK_HELPERS = ("if", "unless", "each", "with")


@dataclass
class _Text:
    text: str


@dataclass
class _Var:
    path: str


@dataclass
class _Block:
    helper: str  # if/unless/each/with, or "section"/"inverted" for {{#name}} / {{^name}}
    path: str
    body: list[_Node]
    inverse: list[_Node]


_Node = _Text | _Var | _Block


def _tokens(source: str) -> list[tuple[str, str]]:
    """("text", s) and ("tag", inner) pairs, with ``~`` whitespace control applied."""
    out: list[tuple[str, str]] = []
    position = 0
    trim_next = False
    for match in _TAG_RE.finditer(source):
        text = source[position : match.start()]
        position = match.end()
        if text.endswith("\\"):  # \{{literal}}
            out.append(("text", (text[:-1].lstrip() if trim_next else text[:-1]) + match.group()))
            trim_next = False
            continue
        if trim_next:
            text = text.lstrip()
        if match.group("ltrim"):
            text = text.rstrip()
        out.append(("text", text))
        trim_next = bool(match.group("rtrim"))
        if match.group("long_comment") is not None:
            continue
        if match.group("raw") is not None:
            out.append(("raw", match.group("raw").strip()))
        else:
            out.append(("tag", match.group("body").strip()))
    tail = source[position:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return [token for token in out if token != ("text", "")]


def _parse(source: str) -> list[_Node]:
    root: list[_Node] = []
    # (block, list being filled); the root has no block
    stack: list[tuple[_Block | None, list[_Node]]] = [(None, root)]
    for kind, value in _tokens(source):
        current = stack[-1][1]
        if kind == "text":
            current.append(_Text(value))
        elif kind == "raw":
            current.append(_Var(value))
        elif value.startswith("!"):
            continue
        elif value.startswith("&"):
            current.append(_Var(value[1:].strip()))
        elif value.startswith(("#", "^")):
            words = value[1:].split()
            if not words:
                raise RenderError(f"Template has an empty block tag: {{{{{value}}}}}")
            if value.startswith("^"):
                block = _Block("inverted", words[0], [], [])
            elif words[0] in _BLOCK_HELPERS:
                if len(words) != 2:
                    raise RenderError(f"{{{{#{words[0]}}}}} takes exactly one argument")
                block = _Block(words[0], words[1], [], [])
            else:
                block = _Block("section", words[0], [], [])
            current.append(block)
            stack.append((block, block.body))
        elif value == "else" or value == "^":
            open_block = stack[-1][0]
            if open_block is None or stack[-1][1] is open_block.inverse:
                raise RenderError("{{else}} outside a block")
            stack[-1] = (open_block, open_block.inverse)
        elif value.startswith("/"):
            open_block = stack[-1][0]
            name = value[1:].strip()
            sections = ("section", "inverted")
            expected = open_block.path if open_block and open_block.helper in sections else None
            if open_block is None or name not in (open_block.helper, expected):
                raise RenderError(f"Unexpected closing tag {{{{/{name}}}}}")
            stack.pop()
        elif value.startswith(">"):
            raise RenderError("Partials ({{> name}}) are not supported")
        else:
            current.append(_Var(value))
    if len(stack) > 1:
        unclosed = stack[-1][0]
        raise RenderError(f"Block {{{{#{unclosed.path if unclosed else ''}}}}} is not closed")
    return root


_MISSING = object()


@dataclass
class _Frame:
    value: Any
    locals: Mapping[str, Any]


def _lookup(path: str, frames: Sequence[_Frame]) -> Any:
    """Resolve ``a.b``, ``this``, ``.``, ``../a`` and ``@index``; ``_MISSING`` if absent."""
    depth = len(frames) - 1
    while path.startswith("../"):
        path, depth = path[3:], max(depth - 1, 0)
    frame = frames[depth]
    if path.startswith("@"):
        return frame.locals.get(path[1:], _MISSING)
    if path in ("this", "."):
        return frame.value
    if path.startswith(("this.", "./")):
        path = path.split(".", 1)[1] if path.startswith("this.") else path[2:]
    value = frame.value
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _truthy(value: Any) -> bool:
    """JavaScript truthiness as Handlebars applies it: ``{}`` is true, ``[]`` false."""
    if value is _MISSING or value is None or value is False:
        return False
    if isinstance(value, Mapping):
        return True
    if isinstance(value, (str, list, tuple)):
        return len(value) > 0
    if isinstance(value, (int, float)):
        return value != 0
    return True


def _stringify(value: Any) -> str:
    """How JavaScript prints a value into a template."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return ",".join(_stringify(v) for v in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def _render_nodes(nodes: list[_Node], frames: list[_Frame]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Var):
            value = _lookup(node.path, frames)
            if value is _MISSING:
                raise RenderError(f"Attribute '{node.path}' is not present in the rendering data.")
            text = _stringify(value)
            out.append(text)  # unescaped, as SES inserts it
        else:
            out.append(_render_block(node, frames))
    return "".join(out)


def _render_block(block: _Block, frames: list[_Frame]) -> str:
    value = _lookup(block.path, frames)
    helper = block.helper
    if helper == "section":  # mustache-style {{#name}}: a list iterates, an object scopes
        if isinstance(value, (list, tuple)):
            helper = "each"
        elif isinstance(value, Mapping):
            helper = "with"
        else:
            helper = "if"
    if helper == "inverted":
        helper, block = "if", _Block("if", block.path, block.inverse, block.body)
    if helper == "if":
        chosen = block.body if _truthy(value) else block.inverse
        return _render_nodes(chosen, frames)
    if helper == "unless":
        chosen = block.inverse if _truthy(value) else block.body
        return _render_nodes(chosen, frames)
    if helper == "with":
        if not _truthy(value):
            return _render_nodes(block.inverse, frames)
        return _render_nodes(block.body, [*frames, _Frame(value, {})])
    # each
    if isinstance(value, Mapping):
        items: list[tuple[Any, Any]] = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    else:
        items = []
    if not items:
        return _render_nodes(block.inverse, frames)
    parts = []
    for index, (key, item) in enumerate(items):
        local = {"index": index, "first": index == 0, "last": index == len(items) - 1, "key": key}
        parts.append(_render_nodes(block.body, [*frames, _Frame(item, local)]))
    return "".join(parts)


def render_string(source: str, data: Mapping[str, Any]) -> str:
    """Render one template part; raises :class:`RenderError` as SES would fail it."""
    return _render_nodes(_parse(source), [_Frame(data, {})])


def render(template: Template, data: Mapping[str, Any]) -> Rendered:
    """Subject, HTML and text parts of ``template`` rendered with ``data``."""
    return Rendered(
        subject=render_string(template.subject, data),
        html=None if template.html is None else render_string(template.html, data),
        text=None if template.text is None else render_string(template.text, data),
    )
