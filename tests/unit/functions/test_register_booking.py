"""registerBooking: the conditional transaction, rejection, duplicates, bad input, faults."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from common import aws, events, faults
from register_booking import app

from tests.unit.functions.helpers import (
    Bus,
    Context,
    booking_item,
    flight_seats,
    json_lines,
    seed_flight,
    stored,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


DATE = "2030-01-15"


def flight_booked(seats: int = 2, **changes: Any) -> dict[str, Any]:
    detail = {
        "bookingId": str(uuid.uuid4()),
        "destination": "CDG",
        "flightDate": DATE,
        "numberOfSeats": seats,
        "bookerEmail": "ada@example.com",
        "requestedAt": "2030-01-01T10:00:00.000+00:00",
        **changes,
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": "bookFlight",
        "detail-type": "flightBooked",
        "detail": detail,
    }


def test_confirm_decrements_seats_and_stores_booking(
    ddb: DynamoDBClient, bus: Bus, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_flight(ddb, "CDG", DATE, 3)
    event = flight_booked(2)
    booking_id = event["detail"]["bookingId"]

    result = app.handler(event, context)

    assert result == {"bookingId": booking_id, "status": "CONFIRMED", "duplicate": False}
    assert flight_seats(ddb, "CDG", DATE) == 1
    item = booking_item(ddb, booking_id)
    assert item is not None
    assert item["status"] == {"S": "CONFIRMED"}
    assert item["itemType"] == {"S": "BOOKING"}
    assert item["numberOfSeats"] == {"N": "2"}
    assert item["bookerEmail"] == {"S": "ada@example.com"}
    assert "reason" not in item and "notification" not in item

    [published] = bus.received()
    assert published["source"] == "registerBooking"
    assert published["detail-type"] == "bookingConfirmed"
    assert published["detail"]["bookingId"] == booking_id
    assert published["detail"]["status"] == "CONFIRMED"
    assert published["detail"]["numberOfSeats"] == 2
    assert "reason" not in published["detail"]

    lines = json_lines(capsys.readouterr().out)
    assert lines and all(line["bookingId"] == booking_id for line in lines)


def test_exactly_the_last_seats_can_be_booked(
    ddb: DynamoDBClient, bus: Bus, context: Context
) -> None:
    seed_flight(ddb, "CDG", DATE, 2)
    assert app.handler(flight_booked(2), context)["status"] == "CONFIRMED"
    assert flight_seats(ddb, "CDG", DATE) == 0


def test_not_enough_seats_is_rejected(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    seed_flight(ddb, "CDG", DATE, 1)
    event = flight_booked(2)
    booking_id = event["detail"]["bookingId"]

    result = app.handler(event, context)

    assert result["status"] == "REJECTED"
    assert flight_seats(ddb, "CDG", DATE) == 1
    item = booking_item(ddb, booking_id)
    assert item is not None
    assert item["status"] == {"S": "REJECTED"}
    assert item["reason"] == {"S": "Not enough seats for this flight"}
    [published] = bus.received()
    assert published["detail-type"] == "bookingRejected"
    assert published["detail"]["reason"] == "Not enough seats for this flight"
    assert published["detail"]["status"] == "REJECTED"


def test_missing_flight_is_rejected(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    event = flight_booked(1)
    assert app.handler(event, context)["status"] == "REJECTED"
    item = booking_item(ddb, event["detail"]["bookingId"])
    assert item is not None and item["reason"] == {"S": "Flight not found"}
    assert flight_seats(ddb, "CDG", DATE) is None  # no flight was created by the update
    assert [e["detail-type"] for e in bus.received()] == ["bookingRejected"]


def test_second_booking_cannot_overbook(ddb: DynamoDBClient, bus: Bus, context: Context) -> None:
    seed_flight(ddb, "CDG", DATE, 2)
    first, second = flight_booked(2), flight_booked(1)
    assert app.handler(first, context)["status"] == "CONFIRMED"
    assert app.handler(second, context)["status"] == "REJECTED"
    assert flight_seats(ddb, "CDG", DATE) == 0


@pytest.mark.parametrize("seats", [3, 1])
def test_duplicate_delivery_decrements_once_and_reemits(
    ddb: DynamoDBClient, bus: Bus, context: Context, seats: int
) -> None:
    """Same event twice (e.g. a crash after the write, before PutEvents): one decrement."""
    seed_flight(ddb, "CDG", DATE, seats)
    event = flight_booked(1)
    first = app.handler(event, context)
    second = app.handler(event, context)

    assert first["status"] == second["status"] == "CONFIRMED"
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert flight_seats(ddb, "CDG", DATE) == seats - 1
    published = bus.received()
    assert [e["detail-type"] for e in published] == ["bookingConfirmed", "bookingConfirmed"]
    assert published[0]["detail"] == published[1]["detail"]


def test_duplicate_of_rejected_booking_reemits_rejection(
    ddb: DynamoDBClient, bus: Bus, context: Context
) -> None:
    seed_flight(ddb, "CDG", DATE, 0)
    event = flight_booked(1)
    app.handler(event, context)
    seed_flight(ddb, "CDG", DATE, 5)  # seats appear later: the stored outcome still wins
    result = app.handler(event, context)
    assert result == {
        "bookingId": event["detail"]["bookingId"],
        "status": "REJECTED",
        "duplicate": True,
    }
    assert flight_seats(ddb, "CDG", DATE) == 5
    assert [e["detail-type"] for e in bus.received()] == ["bookingRejected", "bookingRejected"]


def test_crash_before_put_events_is_recovered_by_retry(
    ddb: DynamoDBClient, bus: Bus, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_flight(ddb, "CDG", DATE, 2)
    event = flight_booked(1)
    events_client = aws.client("events")

    def failed_put(**_: Any) -> dict[str, Any]:
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    with monkeypatch.context() as patch:
        patch.setattr(events_client, "put_events", failed_put)
        with pytest.raises(events.PublishError):
            app.handler(event, context)
    assert flight_seats(ddb, "CDG", DATE) == 1
    assert bus.received() == []

    assert app.handler(event, context)["duplicate"] is True  # the async retry
    assert flight_seats(ddb, "CDG", DATE) == 1
    assert [e["detail-type"] for e in bus.received()] == ["bookingConfirmed"]


def test_transaction_conflict_is_retried_not_rejected(
    ddb: DynamoDBClient, bus: Bus, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancellation with seats left and no booking (a conflict) must raise, not reject."""
    seed_flight(ddb, "CDG", DATE, 5)
    client = aws.client("dynamodb")

    def conflicting(**_: Any) -> None:
        raise client.exceptions.TransactionCanceledException(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(client, "transact_write_items", conflicting)
    event = flight_booked(1)
    with pytest.raises(app.RetryableError):
        app.handler(event, context)
    assert booking_item(ddb, event["detail"]["bookingId"]) is None
    assert bus.received() == []


@pytest.mark.parametrize(
    "event",
    [
        {},
        None,
        "text",
        {"detail-type": "flightBooked"},
        {"detail-type": "flightBooked", "detail": "not a dict"},
        {"detail-type": "somethingElse", "detail": flight_booked()["detail"]},
        flight_booked(numberOfSeats=0),
        flight_booked(numberOfSeats="1"),
        flight_booked(destination="XXX"),
        flight_booked(flightDate="2030-13-01"),
        flight_booked(bookerEmail="bad"),
        flight_booked(bookingId="not-a-uuid"),
        flight_booked(requestedAt="yesterday"),
        flight_booked(extra="field"),
    ],
)
def test_malformed_event_is_logged_and_dropped(
    ddb: DynamoDBClient, bus: Bus, context: Context, event: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_flight(ddb, "CDG", DATE, 5)
    assert app.handler(event, context) == {"status": "DROPPED"}
    assert flight_seats(ddb, "CDG", DATE) == 5
    assert bus.received() == []
    errors = [line for line in json_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert errors and "dropping" in errors[0]["message"]


def test_missing_field_event_is_dropped_with_field_names(
    ddb: DynamoDBClient, bus: Bus, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    event = flight_booked()
    del event["detail"]["bookerEmail"]
    assert app.handler(event, context) == {"status": "DROPPED"}
    [error] = [line for line in json_lines(capsys.readouterr().out) if line["level"] == "ERROR"]
    assert error["error"]["missing"] == ["bookerEmail"]
    assert error["bookingId"] == event["detail"]["bookingId"]


@pytest.fixture
def fault(ddb: DynamoDBClient, bus: Bus, set_env: Callable[..., None]) -> Callable[[Any], None]:
    """A flight of 5 seats to CDG on DATE, and ``fault(switch)`` to set ``FAULT_INJECTION``
    (a string as it is, anything else as JSON)."""
    seed_flight(ddb, "CDG", DATE, 5)

    def switch(value: Any) -> None:
        set_env(FAULT_INJECTION=value if isinstance(value, str) else json.dumps(value))

    return switch


def test_fault_until_future_fails_before_writing(
    ddb: DynamoDBClient, context: Context, fault: Callable[[Any], None]
) -> None:
    until = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    fault({"failUntil": until})
    event = flight_booked(1)
    with pytest.raises(faults.InjectedFault):
        app.handler(event, context)
    assert flight_seats(ddb, "CDG", DATE) == 5
    assert booking_item(ddb, event["detail"]["bookingId"]) is None


def test_fault_until_past_lets_the_retry_succeed(
    context: Context, fault: Callable[[Any], None]
) -> None:
    fault({"failUntil": "2000-01-01T00:00:00Z"})
    assert app.handler(flight_booked(1), context)["status"] == "CONFIRMED"


@pytest.mark.parametrize("switch", ['{"fail": true}', "not json", "[1]"])
def test_permanent_or_malformed_fault_always_fails(
    ddb: DynamoDBClient, context: Context, fault: Callable[[Any], None], switch: str
) -> None:
    fault(switch)
    with pytest.raises(faults.InjectedFault):
        app.handler(flight_booked(1), context)
    assert flight_seats(ddb, "CDG", DATE) == 5


def test_no_fault_switch_when_fail_is_false(context: Context, fault: Callable[[Any], None]) -> None:
    fault('{"fail": false}')
    assert app.handler(flight_booked(1), context)["status"] == "CONFIRMED"


def _marker(ddb: DynamoDBClient, booking_id: str) -> dict[str, Any] | None:
    return stored(ddb, f"FAULT#{booking_id}", "DELIVERIES")


def test_fail_deliveries_fails_the_first_ones_then_books_once(
    ddb: DynamoDBClient, context: Context, fault: Callable[[Any], None]
) -> None:
    fault({"failDeliveries": 2})
    event = flight_booked(1)
    booking_id = event["detail"]["bookingId"]
    for delivery in (1, 2):
        with pytest.raises(faults.InjectedFault, match=f"failing delivery {delivery} of"):
            app.handler(event, context)
        assert flight_seats(ddb, "CDG", DATE) == 5
        assert booking_item(ddb, booking_id) is None
    assert app.handler(event, context)["status"] == "CONFIRMED"  # the second retry
    assert app.handler(event, context)["duplicate"] is True
    assert flight_seats(ddb, "CDG", DATE) == 4
    marker = _marker(ddb, booking_id)
    assert marker is not None and marker["deliveries"] == {"N": "4"}
    # Each event has its own count.
    with pytest.raises(faults.InjectedFault, match="failing delivery 1 of"):
        app.handler(flight_booked(1), context)


def test_pause_sleeps_before_any_write_on_every_delivery(
    ddb: DynamoDBClient,
    context: Context,
    fault: Callable[[Any], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fault({"pauseSeconds": 3})
    event = flight_booked(1)
    booking_id = event["detail"]["bookingId"]
    seen: list[tuple[float, int | None, bool]] = []

    def fake_sleep(seconds: float) -> None:
        # What a test killing the process now would leave behind: nothing written.
        seats = flight_seats(ddb, "CDG", DATE)
        seen.append((seconds, seats, booking_item(ddb, booking_id) is None))

    monkeypatch.setattr(faults.time, "sleep", fake_sleep)
    assert app.handler(event, context)["status"] == "CONFIRMED"
    assert app.handler(event, context)["duplicate"] is True
    assert seen == [(3.0, 5, True), (3.0, 4, False)]
    assert _marker(ddb, booking_id) is None  # nothing to count without pauseOnce


def test_pause_once_pauses_only_the_first_delivery_and_names_the_process(
    ddb: DynamoDBClient,
    context: Context,
    fault: Callable[[Any], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    fault({"pauseSeconds": 8, "pauseOnce": True})
    first, other = flight_booked(1), flight_booked(1)
    markers: list[dict[str, Any] | None] = []
    monkeypatch.setattr(
        faults.time, "sleep", lambda _s: markers.append(_marker(ddb, first["detail"]["bookingId"]))
    )

    assert app.handler(first, context)["status"] == "CONFIRMED"
    assert app.handler(first, context)["duplicate"] is True  # the redelivery: no pause
    assert app.handler(other, context)["status"] == "CONFIRMED"  # another event pauses once
    assert len(markers) == 2
    paused = markers[0]
    assert paused is not None
    assert paused["deliveries"] == {"N": "1"}
    assert paused["itemType"] == {"S": "FAULT"}
    assert paused["pid"] == {"N": str(os.getpid())}
    assert paused["requestId"] == {"S": context.aws_request_id}
    assert flight_seats(ddb, "CDG", DATE) == 3


def test_malformed_per_delivery_fault_fails_before_writing(
    ddb: DynamoDBClient, context: Context, fault: Callable[[Any], None]
) -> None:
    fault({"pauseSeconds": "soon"})
    with pytest.raises(faults.InjectedFault):
        app.handler(flight_booked(1), context)
    assert flight_seats(ddb, "CDG", DATE) == 5
