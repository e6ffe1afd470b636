"""The README (and the docs it links) a newcomer can trust: every path they name exists in
the repo, every link stays inside it, every command they show exists and parses, and every
shell variable a snippet uses is defined in it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bootstrap import cli as bootstrap_cli
from skybook.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
DOCS = [
    REPO / "README.md",
    REPO / "bootstrap" / "README.md",
    REPO / "functions" / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
]
DOCS = [d for d in DOCS if d.name != "tutorial-eventbridge-flight-booking.md"]  # a copy
TOP = (
    "bootstrap|sandbox|skybook|functions|tests|scripts|docker|devtools|openapi|constraints|"
    "docs|\\.github|\\.ci"
)
REPO_PATH = re.compile(rf"^(?:\./)?(?:(?:{TOP})/[\w./-]*|[\w-]+\.(?:yml|toml|md))$")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
ASSIGNED = re.compile(r"(?:^|\s|;)([A-Za-z_][A-Za-z0-9_]*)=")
# Variables a snippet may use without defining: the environment's, and the kit's documented
# ones (their meaning is in the README).
ENVIRONMENT = {"PATH", "HOME", "PWD", "SKYBOOK_ENDPOINT", "SKYBOOK_PORT", "AWS_PROFILE"}


def text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def ids(docs: list[Path]) -> list[str]:
    return [str(d.relative_to(REPO)) for d in docs]


def bash_blocks(doc: Path) -> list[str]:
    return [body for lang, body in FENCE.findall(text(doc)) if lang in ("bash", "sh")]


def commands(block: str) -> list[list[str]]:
    """Each command of a snippet as words: comments dropped, continued lines joined, pipes and
    ``&&`` split, ``VAR=value`` prefixes and ``$(...)`` substitutions left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in [*words, "|"]:
            if word in ("|", "&&", ";", "||"):
                while current and re.match(r"^[A-Za-z_]\w*=", current[0]):
                    current.pop(0)
                if current:
                    found.append(current)
                current = []
            else:
                current.append(word)
    return found


@pytest.mark.parametrize("doc", DOCS, ids=ids(DOCS))
def test_links_stay_inside_the_repo_and_exist(doc: Path) -> None:
    for target in LINK.findall(text(doc)):
        if re.match(r"^(https?:|mailto:|#)", target):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(REPO), f"{doc.name} links outside the repo: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"


@pytest.mark.parametrize("doc", DOCS, ids=ids(DOCS))
def test_every_repo_path_named_exists(doc: Path) -> None:
    assert "../shared" not in text(doc), f"{doc.name} points outside the repo"
    for span in CODE_SPAN.findall(text(doc)):
        candidate = span.split()[0] if span.split() else ""
        if not REPO_PATH.match(candidate) or any(c in candidate for c in "<>*{}"):
            continue
        base = REPO if "/" in candidate or candidate.endswith(".yml") else doc.parent
        assert (base / candidate).exists() or (REPO / candidate).exists(), (
            f"{doc.name} names {candidate}, which is not in the repo"
        )


@pytest.mark.parametrize("doc", DOCS, ids=ids(DOCS))
def test_every_command_shown_exists_and_parses(doc: Path) -> None:
    skybook, bootstrap = build_parser(), bootstrap_cli.parser()
    for block in bash_blocks(doc):
        for words in commands(block):
            program, args = words[0], words[1:]
            where = f"{doc.name}: {' '.join(words)}"
            if program.startswith("./scripts/") or program.startswith("./.ci/"):
                assert (REPO / program).is_file(), f"{where}: no such script"
            elif program.endswith("skybook"):
                _parses(skybook, args, where)
            elif program.endswith("python") and args[:2] == ["-m", "bootstrap"]:
                _parses(bootstrap, args[2:], where)
            elif program.endswith("python") and args[:1] == ["-m"]:
                module = args[1].replace(".", "/")
                assert (REPO / f"{module}.py").exists() or (REPO / module).is_dir(), where


def _parses(parser: object, args: list[str], where: str) -> None:
    try:
        parser.parse_args(args)  # type: ignore[attr-defined]
    except SystemExit as exit_:
        raise AssertionError(f"{where}: does not parse (exit {exit_.code})") from None


@pytest.mark.parametrize("doc", DOCS, ids=ids(DOCS))
def test_snippets_define_the_variables_they_use(doc: Path) -> None:
    for block in bash_blocks(doc):
        defined = set(ASSIGNED.findall(block)) | ENVIRONMENT
        used = {name for name in VARIABLE.findall(block) if not name.isdigit()}
        assert used <= defined, f"{doc.name}: a snippet uses undefined {sorted(used - defined)}"
