"""What a plan consists of: one typed step per resource that needs (or needs no) change."""

from __future__ import annotations

from dataclasses import dataclass, field

from bootstrap.models import Observed, Resource


@dataclass(frozen=True)
class Step:
    kind: str
    name: str
    symbol = " "
    verb = ""

    @property
    def is_change(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{self.symbol} {self.verb:<7} {self.kind:<17} {self.name}"


@dataclass(frozen=True)
class DesiredStep(Step):
    """A step about a resource of the desired stack (a :class:`Delete` is about one that
    exists and is no longer wanted)."""

    resource: Resource | None = None


@dataclass(frozen=True)
class Create(DesiredStep):
    symbol = "+"
    verb = "create"


@dataclass(frozen=True)
class Update(DesiredStep):
    changes: tuple[str, ...] = ()
    current: Observed | None = field(default=None, compare=False, repr=False)
    symbol = "~"
    verb = "update"

    def describe(self) -> str:
        return f"{super().describe()} ({', '.join(self.changes)})"


@dataclass(frozen=True)
class NoChange(DesiredStep):
    symbol = "="
    verb = "keep"

    @property
    def is_change(self) -> bool:
        return False


@dataclass(frozen=True)
class Delete(Step):
    """Remove something of ours that is no longer wanted; ``locator`` is what besides the
    name it takes to delete it (the bus of a rule, a queue's URL, the REST API's id, the
    function of a permission or invoke config)."""

    locator: str | None = field(default=None, compare=False, repr=False)
    symbol = "-"
    verb = "delete"


@dataclass
class Plan:
    """Steps in execution order, and the values (ARNs, ids) known when planning."""

    steps: list[Step]
    known: dict[str, str]
    notes: list[str] = field(default_factory=list)  # things the user should know or do

    @property
    def changes(self) -> list[Step]:
        return [s for s in self.steps if s.is_change]

    def summary(self) -> str:
        if not self.changes:
            return "No changes: the stack is up to date."
        counts = {
            verb: sum(1 for s in self.changes if s.verb == verb)
            for verb in ("create", "update", "delete")
        }
        return (
            f"Plan: {counts['create']} to create, {counts['update']} to update, "
            f"{counts['delete']} to delete."
        )
