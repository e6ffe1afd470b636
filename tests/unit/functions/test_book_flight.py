"""bookFlight: validation (table-driven), 404, not enough seats, 200 + flightBooked."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from book_flight import app
from common import aws

from tests.unit.functions.helpers import Bus, Context, json_lines, seed_flight

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


DATE = "2030-01-15"
VALID: dict[str, Any] = {
    "destination": "LHR",
    "flightDate": DATE,
    "numberOfSeats": 2,
    "bookerEmail": "ada@example.com",
}


def api_event(body: Any = None, headers: dict[str, str] | None = None, **extra: Any) -> dict:
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    return {
        "httpMethod": "POST",
        "path": "/book-flight",
        "headers": {"Content-Type": "application/json"} if headers is None else headers,
        "body": body,
        "isBase64Encoded": False,
        **extra,
    }


def call(event: dict, context: Context) -> tuple[int, dict]:
    response = app.handler(event, context)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def with_(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


INVALID_FIELDS = [
    ("destination", "XXX"),
    ("destination", "lhr"),
    ("destination", 42),
    ("destination", ["LHR"]),
    ("flightDate", "2030-02-30"),
    ("flightDate", "2030-1-5"),
    ("flightDate", "15/01/2030"),
    ("flightDate", "2030-01-15T00:00:00"),
    ("flightDate", "\uff12\uff10\uff13\uff10-01-15"),
    ("flightDate", 20300115),
    ("numberOfSeats", 0),
    ("numberOfSeats", 10),
    ("numberOfSeats", -1),
    ("numberOfSeats", 1.5),
    ("numberOfSeats", 2.0),
    ("numberOfSeats", "2"),
    ("numberOfSeats", True),
    ("numberOfSeats", False),
    ("bookerEmail", "not-an-email"),
    ("bookerEmail", "a b@example.com"),
    ("bookerEmail", "ada@example"),
    ("bookerEmail", "ada@@example.com"),
    ("bookerEmail", "<script>@example.com"),
    ("bookerEmail", "ada@exa\nmple.com"),
    ("bookerEmail", "ada.@example.com"),
    ("bookerEmail", "ada@-example.com"),
    ("bookerEmail", "ädä@example.com"),
    ("bookerEmail", "a" * 65 + "@example.com"),
    ("bookerEmail", "a@" + "b" * 250 + ".com"),
    ("bookerEmail", 7),
]


@pytest.mark.parametrize(("field", "value"), INVALID_FIELDS)
def test_invalid_field_is_400_naming_the_field(
    ddb: DynamoDBClient, bus: Bus, context: Context, field: str, value: Any
) -> None:
    seed_flight(ddb, "LHR", DATE, 5)
    status, body = call(api_event(with_(**{field: value})), context)
    assert status == 400
    assert body["field"] == field
    assert body["message"].startswith(f"Invalid {field}:")
    assert bus.received() == []


def test_seats_message_is_the_documented_one(
    ddb: DynamoDBClient, bus: Bus, context: Context
) -> None:
    status, body = call(api_event(with_(numberOfSeats=1.5)), context)
    assert (status, body) == (
        400,
        {
            "message": "Invalid numberOfSeats: must be an integer from 1 to 9",
            "field": "numberOfSeats",
        },
    )


@pytest.mark.parametrize(
    ("payload", "missing"),
    [
        ({}, ["destination", "flightDate", "numberOfSeats", "bookerEmail"]),
        ({"destination": "LHR"}, ["flightDate", "numberOfSeats", "bookerEmail"]),
        (with_(bookerEmail=None), ["bookerEmail"]),
        ({k: v for k, v in VALID.items() if k != "numberOfSeats"}, ["numberOfSeats"]),
    ],
)
def test_missing_fields(
    ddb: DynamoDBClient, bus: Bus, context: Context, payload: dict, missing: list
) -> None:
    status, body = call(api_event(payload), context)
    assert (status, body) == (400, {"message": "Missing required parameters", "missing": missing})


def test_unknown_fields_are_named(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    status, body = call(api_event(with_(seat="12A", price=3)), context)
    assert status == 400
    assert body["unknown"] == ["price", "seat"]
    assert "price" in body["message"] and "seat" in body["message"]


@pytest.mark.parametrize(
    "body",
    ["{not json", "[1, 2]", '"text"', "42", "null", '{"a": NaN}', "[" * 3000 + "]" * 3000],
)
def test_malformed_or_non_object_body_is_400(
    ddb: DynamoDBClient, context: Context, body: str
) -> None:
    status, payload = call(api_event(body), context)
    assert status == 400 if len(body) <= 4096 else 413
    assert payload["message"]


@pytest.mark.parametrize("event_body", [None, ""])
def test_absent_body_is_400(ddb: DynamoDBClient, context: Context, event_body: Any) -> None:
    status, payload = call(api_event(event_body), context)
    assert status == 400
    assert payload["message"] == "Request body is required"


def test_oversized_body_is_413(ddb: DynamoDBClient, context: Context) -> None:
    body = json.dumps(with_(bookerEmail="a@example.com", padding="x" * 5000))
    status, payload = call(api_event(body), context)
    assert status == 413
    assert "4096" in payload["message"]


def test_non_json_event_is_400_not_500(ddb: DynamoDBClient, context: Context) -> None:
    response = app.handler("nonsense", context)
    assert response["statusCode"] == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 200),
        ({"content-type": "application/json; charset=utf-8"}, 200),
        ({"CONTENT-TYPE": "Application/JSON"}, 200),
        ({}, 200),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_content_type(
    ddb: DynamoDBClient, bus: Bus, context: Context, headers: dict[str, str], status: int
) -> None:
    seed_flight(ddb, "LHR", DATE, 5)
    got, body = call(api_event(VALID, headers=headers), context)
    assert got == status
    if status == 415:
        assert "application/json" in body["message"]


def test_headers_none_is_accepted(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    seed_flight(ddb, "LHR", DATE, 5)
    event = api_event(VALID)
    event["headers"] = None
    assert call(event, context)[0] == 200


def test_base64_body(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    seed_flight(ddb, "LHR", DATE, 5)
    encoded = base64.b64encode(json.dumps(VALID).encode()).decode()
    assert call(api_event(encoded, isBase64Encoded=True), context)[0] == 200


def test_flight_not_found_is_404(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    status, body = call(api_event(VALID), context)
    assert (status, body) == (404, {"message": "Flight not found"})
    assert bus.received() == []


def test_not_enough_seats_is_400(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    seed_flight(ddb, "LHR", DATE, 1)
    status, body = call(api_event(VALID), context)
    assert (status, body) == (400, {"message": "Not enough seats for this flight"})
    assert bus.received() == []


def test_success_puts_flight_booked(
    ddb: DynamoDBClient, bus: Bus, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_flight(ddb, "LHR", DATE, 2)
    status, body = call(api_event(VALID), context)
    assert status == 200
    assert body["message"] == "Processing flight booking"
    booking_id = body["bookingId"]
    assert str(uuid.UUID(booking_id)) == booking_id

    [event] = bus.received()
    assert event["source"] == "bookFlight"
    assert event["detail-type"] == "flightBooked"
    detail = event["detail"]
    assert detail == {**VALID, "bookingId": booking_id, "requestedAt": detail["requestedAt"]}
    assert detail["requestedAt"].endswith("+00:00")

    lines = json_lines(capsys.readouterr().out)
    [requested] = [line for line in lines if line["message"] == "booking requested"]
    assert requested["bookingId"] == booking_id
    assert requested["awsRequestId"] == "req-123"
    assert requested["level"] == "INFO"


def test_missing_flight_item_attribute_is_404(
    ddb: DynamoDBClient, bus: Bus, context: Context
) -> None:
    ddb.put_item(
        TableName="skybook-test",
        Item={"PK": {"S": "DESTINATION#LHR"}, "SK": {"S": DATE}},
    )
    assert call(api_event(VALID), context)[0] == 404


def test_aws_error_is_json_500(
    aws_env: None, bus: Bus, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    # No table exists: GetItem fails with ResourceNotFoundException.
    status, body = call(api_event(VALID), context)
    assert status == 500
    assert body == {"message": "Internal error"}
    errors = [line for line in json_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert errors and "ResourceNotFoundException" in errors[0]["error"]


def test_failed_put_events_entry_is_503(
    ddb: DynamoDBClient, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_flight(ddb, "LHR", DATE, 2)

    def failing_put_events(**_: Any) -> dict:
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    monkeypatch.setattr(aws.client("events"), "put_events", failing_put_events)
    status, body = call(api_event(VALID), context)
    assert status == 503
    assert "retry" in body["message"]


def test_missing_env_is_500(
    ddb: DynamoDBClient, context: Context, set_env: Callable[..., None]
) -> None:
    set_env(EVENT_BUS_NAME="")
    status, _ = call(api_event(VALID), context)
    assert status == 500


def test_hostile_unicode_is_a_clean_400(
    ddb: DynamoDBClient, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '{"destination": "LHR", "flightDate": "2030-01-15", "numberOfSeats": 1, '
    body += '"bookerEmail": "a@example.com", "\\ud800x": 1}'
    status, payload = call(api_event(body), context)
    assert status == 400 and payload["unknown"] == ["\ud800x"]
    captured = capsys.readouterr()
    assert json_lines(captured.out) and "Traceback" not in captured.err
