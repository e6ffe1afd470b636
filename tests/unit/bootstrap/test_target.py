"""Where a deploy goes: credentials and region as the AWS CLI resolves them, the endpoint,
and the confirmation an apply to AWS asks for.

These run on moto's in-process mock (``mock_aws``) with real AWS config and credentials
files (``AWS_CONFIG_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``): botocore reads the files and
resolves profile, credentials, region and the regional endpoint exactly as against AWS; only
the HTTP request is answered by moto, from the region in its URL. That is more faithful than
routing to a moto server with ``AWS_ENDPOINT_URL``, which would bypass the regional endpoint
(test_cli_process.py does that once, for a real ``python -m bootstrap`` process).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bootstrap import DeployError, cli, resolve_target
from bootstrap.settings import Settings
from bootstrap.target import LOCAL_ENDPOINT, Target
from tests.unit.bootstrap.conftest import SENDER

FUNCTIONS = ["bookFlight", "registerBooking", "sendBookingReceipt", "syncFlights"]


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file whose profile ``demo`` says eu-west-1 (and ``other`` ap-south-1, the
    default profile none), and their credentials; no region in the environment."""
    config, credentials = tmp_path / "aws-config", tmp_path / "aws-credentials"
    config.write_text(
        "[profile demo]\nregion = eu-west-1\n\n[profile other]\nregion = ap-south-1\n"
        "\n[profile noregion]\n"
    )
    credentials.write_text(
        "".join(
            f"[{name}]\naws_access_key_id = AKIA{name.upper()}\naws_secret_access_key = s\n"
            for name in ("demo", "other", "noregion", "default")
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SKYBOOK_ENDPOINT", raising=False)
    return config


@pytest.fixture
def mocked(aws_files: Path) -> Iterator[None]:
    with mock_aws():
        yield


def functions_in(region: str) -> list[str]:
    client = boto3.client("lambda", region_name=region)
    return sorted(f["FunctionName"] for f in client.list_functions()["Functions"])


def cli_args(settings: Settings, command: str, *extra: str) -> list[str]:
    return [
        command,
        *extra,
        "--functions-dir",
        str(settings.functions_dir),
        "--sender-email",
        SENDER,
    ]


def test_the_profiles_region_is_where_the_stack_lands(
    settings: Settings, mocked: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(cli_args(settings, "plan", "--profile", "demo")) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "Target: AWS account 123456789012, region eu-west-1 (profile demo)"

    assert cli.main(cli_args(settings, "apply", "--profile", "demo", "--yes")) == 0
    out = capsys.readouterr().out
    assert ".execute-api.eu-west-1.amazonaws.com/prod/book-flight" in out
    assert functions_in("eu-west-1") == [f"skybook-{f}" for f in FUNCTIONS]
    assert functions_in("us-east-1") == []


def test_aws_profile_from_the_environment_counts_too(
    settings: Settings, mocked: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "other")
    target = resolve_target(aws=True)
    assert (target.region, target.profile) == ("ap-south-1", "other")
    assert "profile other" in target.banner()


@pytest.mark.parametrize(
    ("env", "option", "expected"),
    [
        ({}, None, "eu-west-1"),  # the profile's
        ({"AWS_DEFAULT_REGION": "us-west-2"}, None, "us-west-2"),
        ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-central-1"}, None, "eu-central-1"),
        ({"AWS_REGION": "eu-central-1"}, "sa-east-1", "sa-east-1"),  # --region wins
    ],
)
def test_region_order_is_the_aws_clis(
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    option: str | None,
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    target = resolve_target(profile="demo", region=option)
    assert target.region == expected
    assert target.client("sts").meta.region_name == expected


def test_no_region_anywhere_is_an_error_not_a_guess(mocked: None) -> None:
    with pytest.raises(DeployError, match=r"^no AWS region: pass --region R.*--profile noregion"):
        resolve_target(profile="noregion")


def test_a_missing_profile_names_the_file_and_the_fix(
    mocked: None, aws_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DeployError) as raised:
        resolve_target(profile="nope")
    assert str(raised.value) == (
        f"AWS profile 'nope' not found in {aws_files}: configure it with "
        "'aws configure --profile nope' (or 'aws configure sso')"
    )
    monkeypatch.setenv("AWS_PROFILE", "gone")
    with pytest.raises(DeployError, match="AWS profile 'gone' not found"):
        resolve_target(aws=True)


def test_endpoints_come_from_the_option_then_skybook_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SKYBOOK_ENDPOINT", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")  # not bootstrap's source
    assert resolve_target().endpoint == LOCAL_ENDPOINT
    monkeypatch.setenv("SKYBOOK_ENDPOINT", "http://127.0.0.1:4999/")
    assert resolve_target().endpoint == "http://127.0.0.1:4999"
    assert resolve_target(endpoint="http://127.0.0.1:5001").endpoint == "http://127.0.0.1:5001"
    # --aws and --profile are AWS whatever SKYBOOK_ENDPOINT says.
    assert resolve_target(aws=True, region="eu-west-1").endpoint is None
    with pytest.raises(DeployError, match="exclude each other"):
        resolve_target(aws=True, endpoint="http://127.0.0.1:5001")


def test_an_endpoint_keeps_the_sandbox_region_unless_told(
    monkeypatch: pytest.MonkeyPatch, aws_files: Path
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "demo")  # a profile's region is AWS's, not the sandbox's
    assert resolve_target().region == "us-east-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert resolve_target().region == "eu-west-1"


def test_aws_endpoint_url_on_an_aws_target_is_pointed_out(
    settings: Settings,
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_retry_backoff: None,
) -> None:
    """botocore honours AWS_ENDPOINT_URL (as the AWS CLI does): an "AWS" deploy would go
    elsewhere, so plan says so (here nothing answers there)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")
    assert cli.main(cli_args(settings, "plan", "--profile", "demo")) == 1
    assert capsys.readouterr().err.splitlines() == [
        "note: AWS_ENDPOINT_URL sends these calls to http://127.0.0.1:9",
        "error: cannot reach http://127.0.0.1:9 (AWS_ENDPOINT_URL): unset it to reach AWS",
    ]


# --- apply asks on AWS ------------------------------------------------------------------


class Terminal:
    """stdin as a terminal that answers ``answer``, recording the questions."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
        self.questions: list[str] = []
        monkeypatch.setattr("sys.stdin.isatty", lambda: True)
        monkeypatch.setattr("builtins.input", self.ask)
        self.answer = answer

    def ask(self, question: str) -> str:
        self.questions.append(question)
        return self.answer


def test_apply_without_a_terminal_or_yes_is_refused_before_any_call(
    settings: Settings,
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def no_client(self: Target, service: str) -> None:
        raise AssertionError(f"a {service} client was made")

    monkeypatch.setattr(Target, "client", no_client)
    assert cli.main(cli_args(settings, "apply", "--profile", "demo")) == 1
    err = capsys.readouterr().err
    assert err == (
        "error: apply to AWS (profile demo, eu-west-1) needs confirmation: pass --yes (review "
        "the changes first with 'python -m bootstrap plan')\n"
    )
    assert functions_in("eu-west-1") == []


@pytest.mark.parametrize("answer", ["no", "y", ""])
def test_apply_shows_the_plan_and_only_yes_goes_ahead(
    settings: Settings,
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
) -> None:
    terminal = Terminal(monkeypatch, answer)
    assert cli.main(cli_args(settings, "apply", "--profile", "demo")) == 1
    captured = capsys.readouterr()
    assert "+ create  Function" in captured.out and "Plan: " in captured.out
    assert terminal.questions == [
        "Apply these changes to AWS account 123456789012 in eu-west-1? Only 'yes' is accepted: "
    ]
    assert captured.err.splitlines()[0] == (
        "Target: AWS account 123456789012, region eu-west-1 (profile demo)"
    )
    assert "apply cancelled" in captured.err
    assert functions_in("eu-west-1") == []


def test_apply_confirmed_with_yes_deploys_what_was_shown(
    settings: Settings,
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    terminal = Terminal(monkeypatch, "yes")
    assert cli.main(cli_args(settings, "apply", "--profile", "demo")) == 0
    assert "changes applied" in capsys.readouterr().out
    assert functions_in("eu-west-1") == [f"skybook-{f}" for f in FUNCTIONS]
    # Up to date: nothing to ask about.
    assert cli.main(cli_args(settings, "apply", "--profile", "demo")) == 0
    assert len(terminal.questions) == 1
    assert "No changes: the stack is up to date." in capsys.readouterr().out


def test_destroy_on_aws_names_account_and_asks_for_the_deployment(
    settings: Settings,
    mocked: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(cli_args(settings, "apply", "--profile", "demo", "--yes", "--stage", "dev")) == 0
    )
    terminal = Terminal(monkeypatch, "skybook")  # the stack, not the deployment
    assert cli.main(cli_args(settings, "destroy", "--profile", "demo", "--stage", "dev")) == 1
    assert terminal.questions == [
        "Delete stack skybook-dev on AWS (profile demo, eu-west-1)? "
        "Type the stack name to confirm: "
    ]
    assert capsys.readouterr().err.startswith("Target: AWS account 123456789012, region eu-west-1")
    terminal.answer = "skybook-dev"
    assert cli.main(cli_args(settings, "destroy", "--profile", "demo", "--stage", "dev")) == 0
    assert functions_in("eu-west-1") == []


def test_plan_json_names_the_target(
    settings: Settings, mocked: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(cli_args(settings, "plan", "--profile", "demo", "--json")) == 0
    planned: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert planned["target"] == {"account": "123456789012", "region": "eu-west-1", "endpoint": None}
