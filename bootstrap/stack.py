"""The whole skybook stack, top to bottom: the one place to read what gets deployed.

Order matters: every resource comes after the resources it refers to, so the executor can
create them in this order. Each kind of resource is a module of :mod:`bootstrap.resources`.
"""

from __future__ import annotations

import json
from pathlib import Path

from bootstrap.errors import DeployError
from bootstrap.models import Resource, Statement, Sub, ref
from bootstrap.packaging import package
from bootstrap.resources.event_bus import EventBus
from bootstrap.resources.event_invoke_config import EventInvokeConfig
from bootstrap.resources.function import Function
from bootstrap.resources.lambda_permission import LambdaPermission
from bootstrap.resources.log_group import LogGroup, event_log_group
from bootstrap.resources.log_resource_policy import LogResourcePolicy
from bootstrap.resources.queue import Queue
from bootstrap.resources.rest_api import ApiRoute, RestApi
from bootstrap.resources.role import Role
from bootstrap.resources.rule import Rule, Target
from bootstrap.resources.ses_identity import SesIdentity
from bootstrap.resources.ses_template import SesTemplate
from bootstrap.resources.table import Table
from bootstrap.settings import Settings

RECEIPT_TEMPLATE = "bookingReceiptTemplate"
REJECTION_TEMPLATE = "bookingRejectedTemplate"
TEMPLATES_MANIFEST = Path("send_booking_receipt/templates/templates.json")

# code folder under functions/ -> logical function name (the deployed name is <stack>-<name>)
FUNCTIONS = {
    "book_flight": "bookFlight",
    "register_booking": "registerBooking",
    "send_booking_receipt": "sendBookingReceipt",
    "sync_flights": "syncFlights",
}
# Functions whose failed events (after Lambda's async retries) go to <stack>-failed-events.
FAILED_EVENTS_TO_QUEUE = ("registerBooking", "sendBookingReceipt")
# Names (<stack>-<suffix>) the outputs give other tools, or read back from a deployed stack.
BUS, TABLE, DLQ, FAILED_EVENTS, API = "bus", "flights", "events-dlq", "failed-events", "api"
ALL_EVENTS_RULE = "all-events"

TABLE_READ = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)  # CDK's grantReadData
TABLE_WRITE = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)


class ManifestError(DeployError, ValueError):
    """The SES template manifest is missing, malformed or lacks a template we need."""


def load_templates(functions_dir: Path) -> list[SesTemplate]:
    """SES templates from the manifest next to the function that sends them."""
    manifest = functions_dir / TEMPLATES_MANIFEST
    if not manifest.is_file():
        raise ManifestError(f"SES template manifest {manifest} not found")
    folder = manifest.parent
    templates = []
    for entry in json.loads(manifest.read_text(encoding="utf-8")):
        try:
            templates.append(
                SesTemplate(
                    name=entry["name"],
                    subject=entry["subject"],
                    html=(folder / entry["html"]).read_text(encoding="utf-8"),
                    text=(folder / entry["text"]).read_text(encoding="utf-8"),
                )
            )
        except (KeyError, OSError) as error:
            raise ManifestError(f"{manifest}: bad template entry {entry!r}: {error}") from None
    return templates


def _logs_statements(function_name: str) -> tuple[Statement, ...]:
    group = Sub(
        "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/" + function_name
    )
    return (
        Statement(("logs:CreateLogGroup",), (group,)),
        Statement(("logs:CreateLogStream", "logs:PutLogEvents"), (Sub(group.template + ":*"),)),
    )


def desired_stack(settings: Settings) -> list[Resource]:
    """Every resource of the stack, each after those it refers to."""
    s = settings
    bus, table, dlq, api = s.name(BUS), s.name(TABLE), s.name(DLQ), s.name(API)
    failed = s.name(FAILED_EVENTS)
    fn = {logical: s.name(logical) for logical in FUNCTIONS.values()}
    templates = load_templates(s.functions_dir)
    template_names = {t.name for t in templates}
    for needed in (RECEIPT_TEMPLATE, REJECTION_TEMPLATE):
        if needed not in template_names:
            raise ManifestError(f"SES template {needed} missing from {TEMPLATES_MANIFEST}")
    identity_arn = ref(s.identity)
    put_events = Statement(("events:PutEvents",), (ref(bus),))

    # Rules first described as data, because the queue policy needs their ARNs.
    rule_names = {
        "flightBooked": s.name("flightBooked"),
        "bookingOutcome": s.name("bookingOutcome"),
        "schedule": s.name("syncFlights-schedule"),
    }
    events_group = event_log_group(s.stack_name)

    resources: list[Resource] = [
        # --- data and messaging -------------------------------------------------------
        EventBus(bus),
        Table(table),
        Queue(
            dlq,
            policy=(
                Statement(
                    ("sqs:SendMessage",),
                    (ref(dlq),),
                    principal_service="events.amazonaws.com",
                    condition={
                        "ArnEquals": {"aws:SourceArn": [ref(r) for r in rule_names.values()]}
                    },
                    sid="EventBridgeDeadLetters",
                ),
            ),
        ),
        # Events a function failed on after Lambda's retries (its on-failure destination).
        # No queue policy: the functions' roles send, with the statements below.
        Queue(failed),
        # --- email ---------------------------------------------------------------------
        SesIdentity(s.identity),
        *templates,
        # --- functions: log group, role, code -----------------------------------------
    ]
    access: dict[str, tuple[Statement, ...]] = {
        "bookFlight": (put_events, Statement(TABLE_READ, (ref(table),))),
        "registerBooking": (
            Statement(TABLE_READ + TABLE_WRITE, (ref(table),)),
            put_events,
        ),
        "sendBookingReceipt": (
            Statement(
                ("ses:SendTemplatedEmail",),
                (identity_arn, *(ref(t.name) for t in templates)),
            ),
            Statement(("dynamodb:GetItem", "dynamodb:UpdateItem"), (ref(table),)),
        ),
        "syncFlights": (Statement(("dynamodb:PutItem", "dynamodb:BatchWriteItem"), (ref(table),)),),
    }
    environment: dict[str, dict[str, str | Sub]] = {
        "bookFlight": {"TABLE_NAME": table, "EVENT_BUS_NAME": bus},
        "registerBooking": {"TABLE_NAME": table, "EVENT_BUS_NAME": bus},
        "sendBookingReceipt": {
            "TABLE_NAME": table,
            "SENDER_EMAIL": s.sender_email,
            "RECEIPT_TEMPLATE_NAME": RECEIPT_TEMPLATE,
            "REJECTION_TEMPLATE_NAME": REJECTION_TEMPLATE,
        },
        "syncFlights": {
            "TABLE_NAME": table,
            "SEATS_PER_FLIGHT": str(s.seats_per_flight),
            "DAYS_AHEAD": str(s.days_ahead),
        },
    }
    send_failed = Statement(("sqs:SendMessage",), (ref(failed),))
    for code_dir, logical in FUNCTIONS.items():
        name, role = fn[logical], s.name(f"{logical}-role")
        on_failure = logical in FAILED_EVENTS_TO_QUEUE
        statements = access[logical] + ((send_failed,) if on_failure else ())
        resources += [
            LogGroup(f"/aws/lambda/{name}", retention_days=s.log_retention_days),
            Role(role, "lambda.amazonaws.com", statements + _logs_statements(name)),
            Function(
                name,
                role=ref(role),
                code=package(s.functions_dir, code_dir),
                environment=environment[logical],
            ),
        ]
        if on_failure:
            resources.append(EventInvokeConfig(name, on_failure=ref(failed)))

    def target(logical: str) -> Target:
        return Target(id=logical, arn=ref(fn[logical]), dead_letter_arn=ref(dlq))

    def invoked_by_rule(logical: str, rule: str) -> LambdaPermission:
        return LambdaPermission(f"{rule}-invoke", fn[logical], "events.amazonaws.com", ref(rule))

    resources += [
        # --- events ----------------------------------------------------------------------
        Rule(
            rule_names["flightBooked"],
            bus=bus,
            event_pattern={"source": ["bookFlight"], "detail-type": ["flightBooked"]},
            targets=(target("registerBooking"),),
            description="A booking was requested: register it (seats permitting).",
        ),
        invoked_by_rule("registerBooking", rule_names["flightBooked"]),
        Rule(
            rule_names["bookingOutcome"],
            bus=bus,
            event_pattern={
                "source": ["registerBooking"],
                "detail-type": ["bookingConfirmed", "bookingRejected"],
            },
            targets=(target("sendBookingReceipt"),),
            description="A booking was confirmed or rejected: tell the booker.",
        ),
        invoked_by_rule("sendBookingReceipt", rule_names["bookingOutcome"]),
        Rule(
            rule_names["schedule"],
            schedule=s.schedule,
            targets=(target("syncFlights"),),
            description="Create the flights that do not exist yet.",
        ),
        invoked_by_rule("syncFlights", rule_names["schedule"]),
    ]
    if s.event_log:
        resources += [
            LogGroup(events_group, retention_days=s.log_retention_days),
            LogResourcePolicy(
                s.name("events-to-logs"),
                statements=(
                    Statement(
                        ("logs:CreateLogStream", "logs:PutLogEvents"),
                        (Sub(ref(events_group).template + ":*"),),
                        principal_service="events.amazonaws.com",
                        sid="EventBridgeToLogs",
                    ),
                ),
            ),
            Rule(
                s.name(ALL_EVENTS_RULE),
                bus=bus,
                event_pattern={"account": [Sub("${AWS::AccountId}")]},
                targets=(Target(id="eventLog", arn=ref(events_group)),),
                description="Copy every event of the bus to CloudWatch Logs, for reading.",
            ),
        ]
    resources += [
        # --- the door: POST /book-flight -------------------------------------------------
        RestApi(
            api,
            stage=s.stage,
            routes=(ApiRoute("book-flight", "POST", ref(fn["bookFlight"])),),
        ),
        LambdaPermission(
            s.name("api-invoke"),
            fn["bookFlight"],
            "apigateway.amazonaws.com",
            Sub(
                "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${"
                + api
                + ".id}/*/POST/book-flight"
            ),
        ),
    ]
    return resources
