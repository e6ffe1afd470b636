"""The sender on AWS: a reserved domain is refused before anything exists; plan and apply say
whether the identity is verified and whether the account is in the SES sandbox."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bootstrap import cli, deploy, plan
from bootstrap.errors import DeployError
from bootstrap.sender import ses_status, unroutable
from bootstrap.settings import DEFAULT_SENDER_EMAIL, Settings
from bootstrap.target import Target
from tests.unit.bootstrap.conftest import CallRecorder

QUIET: dict[str, Any] = {"progress": lambda _text: None}


@pytest.mark.parametrize(
    ("identity", "reserved"),
    [
        ("bookings@skybook.local", "local"),
        ("a@example.com", "example.com"),
        ("a@mail.example.org", "example.org"),
        ("a@shop.test", "test"),
        ("a@x.invalid", "invalid"),
        ("a@x.example", "example"),
        ("a@localhost", "localhost"),
        ("a@printer.home.arpa", "home.arpa"),
        ("a@intranet.internal", "internal"),
        ("a@box.lan", "lan"),
        ("example.net", "example.net"),
        ("a@nodot", "nodot"),
    ],
)
def test_reserved_and_unroutable_domains_are_recognised(identity: str, reserved: str) -> None:
    assert unroutable(identity) == reserved


@pytest.mark.parametrize(
    "identity", ["bookings@skybook-demo.com", "a@examples.com", "mail.example.co.uk", "a@local.io"]
)
def test_real_domains_pass(identity: str) -> None:
    assert unroutable(identity) is None


def test_apply_aws_with_the_default_sender_exits_1_and_creates_nothing(
    settings: Settings,
    target: Target,
    recorder: CallRecorder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "target_from", lambda args: target)
    recorder.clear()
    argv = ["apply", "--aws", "--yes", "--functions-dir", str(settings.functions_dir)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: sender {DEFAULT_SENDER_EMAIL} is on a reserved domain (.local) no mail comes "
        "from, so SES on AWS could never verify it: pass --sender-email you@your-domain (SES "
        "mails it a link to click) or --sender-domain your-domain (verified by DNS records); "
        "see docs/aws.md, 'SES'\n"
    )
    assert recorder.calls == []  # not even a read
    assert boto3.client("lambda", region_name="us-east-1").list_functions()["Functions"] == []


def test_the_library_refuses_it_too_but_an_endpoint_takes_any_sender(
    settings: Settings, target: Target
) -> None:
    local = settings.with_(sender_email=DEFAULT_SENDER_EMAIL)
    with pytest.raises(DeployError, match="reserved domain"):
        plan(local, target)
    with pytest.raises(DeployError, match="reserved domain"):
        deploy(settings.with_(sender_email="a@b.example.com"), target, **QUIET)
    endpoint = Target(endpoint="http://127.0.0.1:9")  # nothing answers: checked first, offline
    with pytest.raises(DeployError, match="cannot reach"):
        plan(local, endpoint)


def test_plan_and_apply_say_where_ses_stands(settings: Settings, target: Target) -> None:
    notes = plan(settings, target).notes
    assert notes == [
        "SES identity bookings@skybook-demo.com does not exist yet: apply creates it, and SES "
        "mails it a verification link",
        "the account is in the SES sandbox in us-east-1 (200 mails a day): receipts reach "
        "verified addresses only; docs/aws.md says how to leave it",
    ]
    # moto verifies every identity at once.
    assert deploy(settings, target, **QUIET).notes[0] == (
        "SES identity bookings@skybook-demo.com is verified"
    )


def test_an_unverified_identity_says_how_to_verify_it(target: Target) -> None:
    ses = target.client("ses")
    answers = {
        "VerificationAttributes": {
            "shop.io": {"VerificationStatus": "Pending", "VerificationToken": "tok"}
        }
    }
    ses.get_identity_verification_attributes = lambda **_: answers
    ses.get_send_quota = lambda: {"Max24HourSend": 50000.0}
    assert ses_status(target, "shop.io") == [
        "SES identity shop.io is not verified yet (Pending): add the DNS TXT record "
        "_amazonses.shop.io = tok; nothing is sent until then",
        "the account has SES production access in us-east-1 (50000 mails a day)",
    ]
    assert ses_status(Target(endpoint="http://127.0.0.1:9"), "shop.io") == []
