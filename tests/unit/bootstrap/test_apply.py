"""plan / apply / destroy against moto's mocked AWS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bootstrap import deploy, destroy, plan, read_outputs
from bootstrap.settings import Settings
from bootstrap.steps import Create, Update
from bootstrap.target import Target
from tests.unit.bootstrap.conftest import FakeTime

QUIET: dict[str, Any] = {"progress": lambda _text: None}
FUNCTIONS = ["bookFlight", "registerBooking", "sendBookingReceipt", "syncFlights"]


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]


def aws_error(code: str, operation: str, message: str = "") -> ClientError:
    """An error answer of AWS, as botocore raises it."""
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def refuse_first(
    client: Any, method: str, times: int, error: Callable[[], ClientError]
) -> list[dict[str, Any]]:
    """``client.<method>`` raises ``error()`` on its first ``times`` calls, then works as
    before; returns the list the calls' arguments are appended to, refused ones too."""
    real = getattr(client, method)
    calls: list[dict[str, Any]] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) <= times:
            raise error()
        return real(**kwargs)

    setattr(client, method, flaky)
    return calls


def role_not_yet_assumable() -> ClientError:
    """What CreateFunction answers on AWS while a new role has not propagated."""
    return aws_error(
        "InvalidParameterValueException",
        "CreateFunction",
        "The role defined for the function cannot be assumed by Lambda.",
    )


def queue_deleted_recently() -> ClientError:
    """What CreateQueue answers for 60 s after a queue of that name was deleted."""
    return aws_error("AWS.SimpleQueueService.QueueDeletedRecently", "CreateQueue")


def test_plan_on_an_empty_account_creates_everything(settings: Settings, target: Target) -> None:
    the_plan = plan(settings, target)
    assert the_plan.steps and all(isinstance(s, Create) for s in the_plan.steps)
    names = {(s.kind, s.name) for s in the_plan.steps}
    for expected in [
        ("EventBus", "skybook-bus"),
        ("Table", "skybook-flights"),
        ("Queue", "skybook-events-dlq"),
        ("Queue", "skybook-failed-events"),
        ("EventInvokeConfig", "skybook-registerBooking"),
        ("EventInvokeConfig", "skybook-sendBookingReceipt"),
        ("SesIdentity", "bookings@skybook-demo.com"),
        ("SesTemplate", "bookingReceiptTemplate"),
        ("SesTemplate", "bookingRejectedTemplate"),
        ("Rule", "skybook-flightBooked"),
        ("Rule", "skybook-bookingOutcome"),
        ("Rule", "skybook-syncFlights-schedule"),
        ("RestApi", "skybook-api"),
        ("LambdaPermission", "skybook-api-invoke"),
        *[("Function", f"skybook-{f}") for f in FUNCTIONS],
        *[("Role", f"skybook-{f}-role") for f in FUNCTIONS],
        *[("LogGroup", f"/aws/lambda/skybook-{f}") for f in FUNCTIONS],
    ]:
        assert expected in names
    assert "Plan: " in the_plan.summary()


def test_apply_creates_the_stack(settings: Settings, target: Target) -> None:
    result = deploy(settings, target, **QUIET)
    assert result.summary() == f"{len(result.applied)} changes applied"

    events, ddb, lam, iam = client("events"), client("dynamodb"), client("lambda"), client("iam")
    bus_arn = events.describe_event_bus(Name="skybook-bus")["Arn"]
    table = ddb.describe_table(TableName="skybook-flights")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "PK": "HASH",
        "SK": "RANGE",
    }
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    for name in FUNCTIONS:
        config = lam.get_function(FunctionName=f"skybook-{name}")["Configuration"]
        assert config["Runtime"] == "python3.13"
        assert config["Handler"] == "app.handler"
        assert (config["Timeout"], config["MemorySize"]) == (10, 256)
        assert config["Role"].endswith(f":role/skybook-{name}-role")
    env = lam.get_function(FunctionName="skybook-sendBookingReceipt")["Configuration"][
        "Environment"
    ]["Variables"]
    assert env == {
        "TABLE_NAME": "skybook-flights",
        "SENDER_EMAIL": "bookings@skybook-demo.com",
        "RECEIPT_TEMPLATE_NAME": "bookingReceiptTemplate",
        "REJECTION_TEMPLATE_NAME": "bookingRejectedTemplate",
    }

    flight_booked = events.describe_rule(Name="skybook-flightBooked", EventBusName="skybook-bus")
    assert json.loads(flight_booked["EventPattern"]) == {
        "source": ["bookFlight"],
        "detail-type": ["flightBooked"],
    }
    [target_] = events.list_targets_by_rule(
        Rule="skybook-bookingOutcome", EventBusName="skybook-bus"
    )["Targets"]
    assert target_["Arn"].endswith(":function:skybook-sendBookingReceipt")
    assert target_["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 3600}
    assert target_["DeadLetterConfig"]["Arn"].endswith(":skybook-events-dlq")
    schedule = events.describe_rule(Name="skybook-syncFlights-schedule")
    assert schedule["ScheduleExpression"] == "rate(1 day)"

    # Every role: explicit actions on explicit resources, never a wildcard.
    for name in FUNCTIONS:
        role = f"skybook-{name}-role"
        document = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
        for statement in document["Statement"]:
            assert "*" not in statement["Action"]
            assert all(not r.endswith(":*") or ":log-group:" in r for r in statement["Resource"])
            assert "*" not in statement["Resource"]
    booking_policy = iam.get_role_policy(
        RoleName="skybook-bookFlight-role", PolicyName="skybook-bookFlight-role"
    )["PolicyDocument"]
    assert {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [bus_arn]} in (
        booking_policy["Statement"]
    )
    ses_policy = iam.get_role_policy(
        RoleName="skybook-sendBookingReceipt-role", PolicyName="skybook-sendBookingReceipt-role"
    )["PolicyDocument"]
    send = next(s for s in ses_policy["Statement"] if s["Action"] == ["ses:SendTemplatedEmail"])
    assert sorted(send["Resource"]) == [
        "arn:aws:ses:us-east-1:123456789012:identity/bookings@skybook-demo.com",
        "arn:aws:ses:us-east-1:123456789012:template/bookingReceiptTemplate",
        "arn:aws:ses:us-east-1:123456789012:template/bookingRejectedTemplate",
    ]

    ses = client("ses")
    assert "bookings@skybook-demo.com" in ses.list_identities()["Identities"]
    receipt = ses.get_template(TemplateName="bookingReceiptTemplate")["Template"]
    assert receipt["SubjectPart"] == "Your flight to {{destination}} was booked!"

    # API Gateway -> bookFlight, and the permissions that let services invoke functions.
    outputs = result.outputs
    gateway = client("apigateway")
    resources = gateway.get_resources(restApiId=outputs["apiId"])["items"]
    book = next(r for r in resources if r.get("path") == "/book-flight")
    integration = gateway.get_integration(
        restApiId=outputs["apiId"], resourceId=book["id"], httpMethod="POST"
    )
    assert integration["type"] == "AWS_PROXY"
    assert integration["uri"] == (
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
        "arn:aws:lambda:us-east-1:123456789012:function:skybook-bookFlight/invocations"
    )
    assert gateway.get_stage(restApiId=outputs["apiId"], stageName="prod")["deploymentId"]
    policy = json.loads(lam.get_policy(FunctionName="skybook-bookFlight")["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["AWS:SourceArn"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{outputs['apiId']}/*/POST/book-flight"
    )
    queue_url = outputs["dlqUrl"]
    queue_policy = json.loads(
        client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])[
            "Attributes"
        ]["Policy"]
    )
    assert len(queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]) == 3


def test_outputs_are_returned_and_written(settings: Settings, target: Target) -> None:
    outputs = deploy(settings, target, **QUIET).outputs
    assert settings.outputs_file is not None
    assert read_outputs(settings.outputs_file) == outputs
    assert outputs["stack"] == "skybook"
    assert outputs["region"] == "us-east-1"
    assert outputs["endpoint"] is None
    assert (
        outputs["apiUrl"] == f"https://{outputs['apiId']}.execute-api.us-east-1.amazonaws.com/prod"
    )
    assert outputs["bookFlightUrl"] == outputs["apiUrl"] + "/book-flight"
    assert outputs["eventBusName"] == "skybook-bus"
    assert outputs["eventBusArn"].endswith(":event-bus/skybook-bus")
    assert outputs["tableName"] == "skybook-flights"
    assert outputs["functions"] == {f: f"skybook-{f}" for f in FUNCTIONS}
    assert outputs["dlqUrl"].endswith("/skybook-events-dlq")
    assert outputs["failedEventsUrl"].endswith("/skybook-failed-events")
    assert outputs["senderEmail"] == "bookings@skybook-demo.com"
    assert outputs["templates"] == ["bookingReceiptTemplate", "bookingRejectedTemplate"]


def test_endpoint_targets_get_localstack_urls() -> None:
    target = Target(endpoint="http://127.0.0.1:4566")
    assert target.api_url("abc", "prod") == "http://127.0.0.1:4566/_aws/execute-api/abc/prod"


def test_second_apply_changes_nothing(settings: Settings, target: Target, recorder: Any) -> None:
    deploy(settings, target, **QUIET)
    recorder.clear()
    result = deploy(settings, target, **QUIET)
    assert result.applied == []
    assert result.summary() == "No changes: the stack is up to date."
    assert recorder.mutating == []
    assert not plan(settings, target).changes


def test_changing_one_source_file_updates_only_that_functions_code(
    settings: Settings, target: Target, recorder: Any, functions_dir: Path
) -> None:
    deploy(settings, target, **QUIET)
    (functions_dir / "sync_flights" / "app.py").write_text("def handler(e, c):\n    return 2\n")
    [step] = plan(settings, target).changes
    assert isinstance(step, Update)
    assert (step.kind, step.name, step.changes) == ("Function", "skybook-syncFlights", ("code",))
    recorder.clear()
    result = deploy(settings, target, **QUIET)
    assert [s.name for s in result.applied] == ["skybook-syncFlights"]
    assert recorder.mutating == [("lambda", "UpdateFunctionCode")]


def test_changing_a_setting_updates_config_and_rule(
    settings: Settings, target: Target, recorder: Any
) -> None:
    deploy(settings, target, **QUIET)
    changed = settings.with_(schedule="rate(1 hour)", seats_per_flight=5)
    steps = {(s.kind, s.name): s for s in plan(changed, target).changes}
    assert set(steps) == {
        ("Rule", "skybook-syncFlights-schedule"),
        ("Function", "skybook-syncFlights"),
    }
    assert steps[("Function", "skybook-syncFlights")].changes == ("config",)  # type: ignore[attr-defined]
    deploy(changed, target, **QUIET)
    assert (
        client("events").describe_rule(Name="skybook-syncFlights-schedule")["ScheduleExpression"]
        == "rate(1 hour)"
    )
    assert not plan(changed, target).changes


def test_changed_template_is_updated(
    settings: Settings, target: Target, functions_dir: Path
) -> None:
    deploy(settings, target, **QUIET)
    (functions_dir / "send_booking_receipt" / "templates" / "receipt.txt").write_text("new")
    [step] = plan(settings, target).changes
    assert (step.kind, step.name) == ("SesTemplate", "bookingReceiptTemplate")
    deploy(settings, target, **QUIET)
    ses = client("ses")
    assert ses.get_template(TemplateName="bookingReceiptTemplate")["Template"]["TextPart"] == "new"


def test_removed_resources_are_swept_on_apply(settings: Settings, target: Target) -> None:
    deploy(settings.with_(event_log=True), target, **QUIET)
    assert client("events").describe_rule(Name="skybook-all-events", EventBusName="skybook-bus")
    the_plan = plan(settings, target)
    deleted = {(s.kind, s.name) for s in the_plan.changes if s.verb == "delete"}
    assert deleted == {
        ("Rule", "skybook-all-events"),
        ("LogGroup", "/aws/events/skybook"),
        ("LogResourcePolicy", "skybook-events-to-logs"),
    }
    deploy(settings, target, **QUIET)
    assert not plan(settings, target).changes


def _foreign_resources() -> None:
    """Things with our prefix that are not ours: no tag, or another stack's tag."""
    ddb, lam, iam = client("dynamodb"), client("lambda"), client("iam")
    ddb.create_table(
        TableName="other-flights",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="skybook-foreign-table",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    role = iam.create_role(
        RoleName="skybook-foreign-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
    lam.create_function(
        FunctionName="skybook-foreign",
        Role=role,
        Runtime="python3.13",
        Handler="app.handler",
        Code={"ZipFile": buffer.getvalue()},
        Tags={"owner": "someone-else"},
    )
    client("events").create_event_bus(Name="skybook-foreign-bus")


def test_destroy_removes_ours_and_only_ours(
    settings: Settings, target: Target, tmp_path: Path
) -> None:
    _foreign_resources()
    other_stack = settings.with_(stack_name="skybook-dev", outputs_file=tmp_path / "dev.json")
    deploy(other_stack, target, **QUIET)
    deploy(settings.with_(event_log=True), target, **QUIET)
    outputs_file = settings.outputs_file
    assert outputs_file is not None and outputs_file.exists()

    result = destroy(settings, target, **QUIET)
    assert result.applied
    assert not outputs_file.exists()

    lam, ddb, iam, events = client("lambda"), client("dynamodb"), client("iam"), client("events")
    functions = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert functions == {"skybook-foreign"} | {f"skybook-dev-{f}" for f in FUNCTIONS}
    assert set(ddb.list_tables()["TableNames"]) == {
        "other-flights",
        "skybook-foreign-table",
        "skybook-dev-flights",
    }
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert "skybook-foreign-role" in roles
    assert {r for r in roles if r.startswith("skybook-")} == {"skybook-foreign-role"} | {
        f"skybook-dev-{f}-role" for f in FUNCTIONS
    }
    buses = {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    assert {"skybook-foreign-bus", "skybook-dev-bus"} <= buses
    assert "skybook-bus" not in buses
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["skybook-dev-syncFlights-schedule"]
    assert [a["name"] for a in client("apigateway").get_rest_apis()["items"]] == ["skybook-dev-api"]
    assert client("sqs").list_queues(QueueNamePrefix="skybook-events").get("QueueUrls", []) == []
    groups = {g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]}
    assert groups == {f"/aws/lambda/skybook-dev-{f}" for f in FUNCTIONS}

    # The other stack is intact, SES included: the fixed-name templates and the identity
    # are shared, so they stay while another stack uses them.
    assert result.notes and "skybook-dev" in result.notes[0]
    assert not plan(other_stack, target).changes
    destroy(other_stack, target, **QUIET)
    assert client("ses").list_templates()["TemplatesMetadata"] == []
    assert client("ses").list_identities()["Identities"] == []
    # And destroying twice is harmless.
    assert destroy(settings, target, **QUIET).applied == []


def test_destroy_can_keep_the_identity(settings: Settings, target: Target) -> None:
    deploy(settings, target, **QUIET)
    destroy(settings.with_(keep_identity=True), target, **QUIET)
    assert client("ses").list_identities()["Identities"] == ["bookings@skybook-demo.com"]


def test_sender_domain_is_verified_as_a_domain(settings: Settings, target: Target) -> None:
    domain = settings.with_(sender_domain="skybook-demo.org", sender_email="hi@skybook-demo.org")
    result = deploy(domain, target, **QUIET)
    assert result.outputs["senderEmail"] == "hi@skybook-demo.org"
    assert client("ses").list_identities(IdentityType="Domain")["Identities"] == [
        "skybook-demo.org"
    ]


@pytest.mark.parametrize("bad", ["-x", "a" * 40, "has space"])
def test_bad_stack_names_are_refused(bad: str) -> None:
    from bootstrap.settings import SettingsError

    with pytest.raises(SettingsError):
        Settings(stack_name=bad)


def test_create_function_waits_for_a_new_role_to_propagate(
    settings: Settings, target: Target, fake_time: FakeTime
) -> None:
    """On AWS a fresh role is briefly unusable; CreateFunction is retried with backoff."""
    attempts = refuse_first(target.client("lambda"), "create_function", 2, role_not_yet_assumable)
    deploy(settings, target, **fake_time.options, **QUIET)
    assert len(attempts) == 2 + len(FUNCTIONS)
    assert fake_time.sleeps[:2] == [1.0, 2.0]
    assert not plan(settings, target).changes


def test_role_propagation_retries_stop_at_the_deadline(
    settings: Settings, target: Target, fake_time: FakeTime
) -> None:
    from bootstrap.errors import DeployError

    attempts: list[float] = []

    def never(**kwargs: Any) -> Any:
        attempts.append(fake_time.now)
        raise role_not_yet_assumable()

    target.client("lambda").create_function = never
    with pytest.raises(DeployError, match=r"still cannot assume .* after 30s.*run apply again"):
        deploy(settings, target, role_propagation_timeout=30.0, **fake_time.options, **QUIET)
    # Backoff 1, 2, 4, 8, 10, 10 s: the attempt at 35 s past the start is the last one.
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert attempts[-1] - attempts[0] == 35.0


def test_a_table_with_other_keys_is_an_error_not_a_silent_replacement(
    settings: Settings, target: Target
) -> None:
    from bootstrap.target import DeployError

    client("dynamodb").create_table(
        TableName="skybook-flights",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(DeployError, match="keys cannot change"):
        plan(settings, target)


def test_a_log_group_lambda_made_first_is_adopted(settings: Settings, target: Target) -> None:
    """Lambda creates /aws/lambda/<fn> on first use; ours or not, destroy must remove it."""
    client("logs").create_log_group(logGroupName="/aws/lambda/skybook-bookFlight")
    steps = {(s.kind, s.name): s for s in plan(settings, target).changes}
    step = steps[("LogGroup", "/aws/lambda/skybook-bookFlight")]
    assert isinstance(step, Update) and step.changes == ("retention", "tags")
    deploy(settings, target, **QUIET)
    assert not plan(settings, target).changes
    destroy(settings, target, **QUIET)
    assert client("logs").describe_log_groups()["logGroups"] == []


def test_a_recently_deleted_queue_name_is_retried(
    settings: Settings, target: Target, fake_time: FakeTime
) -> None:
    attempts = refuse_first(target.client("sqs"), "create_queue", 1, queue_deleted_recently)
    deploy(settings, target, **fake_time.options, **QUIET)
    assert len(attempts) == 3  # refused once, then the two queues
    assert fake_time.sleeps[:1] == [5.0]


def test_a_queue_name_refused_past_the_deadline_fails_with_aws_error(
    settings: Settings, target: Target, fake_time: FakeTime
) -> None:
    """After 75 s of QueueDeletedRecently the deploy stops with AWS's own error."""
    from bootstrap.errors import DeployError

    def refuse(**kwargs: Any) -> Any:
        raise queue_deleted_recently()

    target.client("sqs").create_queue = refuse
    with pytest.raises(DeployError, match=r"CreateQueue failed: .*QueueDeletedRecently"):
        deploy(settings, target, **fake_time.options, **QUIET)
    assert fake_time.sleeps == [5.0] * 15


def test_failed_async_invocations_go_to_the_failed_events_queue(
    settings: Settings, target: Target
) -> None:
    """registerBooking and sendBookingReceipt: 2 retries, then the event goes to the queue;
    their roles (and only theirs) may send to it, and the queue has no resource policy."""
    outputs = deploy(settings, target, **QUIET).outputs
    lam, iam, sqs = client("lambda"), client("iam"), client("sqs")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=outputs["failedEventsUrl"], AttributeNames=["All"]
    )["Attributes"]["QueueArn"]
    assert "Policy" not in sqs.get_queue_attributes(
        QueueUrl=outputs["failedEventsUrl"], AttributeNames=["Policy"]
    ).get("Attributes", {})
    for name in FUNCTIONS:
        function = f"skybook-{name}"
        role = f"{function}-role"
        document = iam.get_role_policy(RoleName=role, PolicyName=role)["PolicyDocument"]
        sends = [s for s in document["Statement"] if "sqs:SendMessage" in s["Action"]]
        if name in ("registerBooking", "sendBookingReceipt"):
            config = lam.get_function_event_invoke_config(FunctionName=function)
            assert config["MaximumRetryAttempts"] == 2
            assert config["MaximumEventAgeInSeconds"] == 3600
            assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
            assert sends == [
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [queue_arn]}
            ]
        else:
            assert (
                lam.list_function_event_invoke_configs(FunctionName=function)[
                    "FunctionEventInvokeConfigs"
                ]
                == []
            )
            assert sends == []


def test_a_drifted_invoke_config_is_put_back_and_an_unwanted_one_is_swept(
    settings: Settings, target: Target, recorder: Any
) -> None:
    deploy(settings, target, **QUIET)
    lam = client("lambda")
    lam.delete_function_event_invoke_config(FunctionName="skybook-registerBooking")
    lam.put_function_event_invoke_config(
        FunctionName="skybook-registerBooking", MaximumRetryAttempts=0
    )
    lam.put_function_event_invoke_config(FunctionName="skybook-bookFlight", MaximumRetryAttempts=1)
    steps = {(s.kind, s.name, s.verb) for s in plan(settings, target).changes}
    assert steps == {
        ("EventInvokeConfig", "skybook-registerBooking", "update"),
        ("EventInvokeConfig", "skybook-bookFlight", "delete"),
    }
    recorder.clear()
    deploy(settings, target, **QUIET)
    assert sorted(recorder.mutating) == [
        ("lambda", "DeleteFunctionEventInvokeConfig"),
        ("lambda", "PutFunctionEventInvokeConfig"),
    ]
    assert (
        lam.list_function_event_invoke_configs(FunctionName="skybook-bookFlight")[
            "FunctionEventInvokeConfigs"
        ]
        == []
    )
    # (moto appends on Put instead of replacing, so it keeps reporting the drifted config:
    # the sandbox e2e tests check the repaired config on LocalStack.)


def test_invoke_config_waits_for_the_role_to_allow_sending(
    settings: Settings, target: Target, fake_time: FakeTime
) -> None:
    """On AWS the put is refused until the role's new sqs:SendMessage statement counts."""
    refused = aws_error(
        "InvalidParameterValueException",
        "PutFunctionEventInvokeConfig",
        "The function's execution role does not have permissions to call SendMessage on "
        "arn:aws:sqs:us-east-1:123456789012:x",
    )
    lam = target.client("lambda")
    calls = refuse_first(lam, "put_function_event_invoke_config", 1, lambda: refused)
    deploy(settings, target, **fake_time.options, **QUIET)
    assert [call["FunctionName"] for call in calls] == [
        "skybook-registerBooking",
        "skybook-registerBooking",
        "skybook-sendBookingReceipt",
    ]
    assert fake_time.sleeps[:1] == [1.0]
    assert not plan(settings, target).changes
