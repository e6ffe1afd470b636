"""References, policy comparison and the shape of the stack description."""

from __future__ import annotations

from pathlib import Path

from bootstrap import models as m
from bootstrap.aws import normalize_policy
from bootstrap.resources.queue import Queue
from bootstrap.resources.role import Role
from bootstrap.settings import Settings
from bootstrap.stack import desired_stack


def test_sub_resolves_known_values_and_leaves_unknown_ones_for_plan() -> None:
    value = m.Sub("arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${api.id}/*")
    known = {"AWS::Region": "us-east-1", "AWS::AccountId": "1"}
    assert m.resolve(value, known, strict=False) == "arn:aws:execute-api:us-east-1:1:${api.id}/*"
    assert not m.is_resolved(m.resolve(value, known, strict=False))
    assert m.resolve(value, known | {"api.id": "x"}) == "arn:aws:execute-api:us-east-1:1:x/*"
    assert value.refs() == {"api"}


def test_policies_compare_by_meaning_not_spelling() -> None:
    a = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["b", "a"]}],
    }
    b = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["a", "b"]},
    }
    assert normalize_policy(a) == normalize_policy(b)
    assert normalize_policy("%7B%22Version%22%3A%222012-10-17%22%7D") == {
        "Version": "2012-10-17",
        "Statement": [],
    }


def test_every_reference_points_backwards_in_the_stack(settings: Settings) -> None:
    """The executor creates in list order, so a resource may only refer to earlier ones
    (rules referenced by the DLQ policy are predicted ARNs, the only forward references)."""
    resources = desired_stack(settings.with_(event_log=True))
    seen: set[str] = set()
    names = {r.name for r in resources}
    for resource in resources:
        forward = {d for d in resource.depends_on() if d in names and d not in seen}
        if isinstance(resource, Queue):
            assert all(d.startswith("skybook-") for d in forward)  # rule ARNs, predicted
        else:
            assert not forward, (resource.name, forward)
        seen.add(resource.name)


def test_no_wildcards_in_any_role(settings: Settings) -> None:
    for resource in desired_stack(settings):
        if isinstance(resource, Role):
            for statement in resource.statements:
                assert "*" not in statement.actions and "*" not in statement.resources
                assert all(":*" not in a for a in statement.actions)


def test_stack_names_follow_the_contract(functions_dir: Path) -> None:
    names = {
        (r.kind, r.name)
        for r in desired_stack(Settings(stack_name="demo", functions_dir=functions_dir))
    }
    assert ("EventBus", "demo-bus") in names
    assert ("Table", "demo-flights") in names
    assert ("Function", "demo-bookFlight") in names
    assert ("Role", "demo-bookFlight-role") in names
    assert ("Rule", "demo-syncFlights-schedule") in names
    assert ("SesTemplate", "bookingReceiptTemplate") in names  # fixed, not prefixed
