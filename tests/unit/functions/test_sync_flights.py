"""syncFlights: creates missing flights only, never resets existing ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from common import clock, config
from sync_flights import app

from tests.unit.functions.helpers import TABLE, Context, flight_seats, json_lines

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


DESTINATIONS = ["CDG", "LHR", "FRA", "IST", "AMS", "FCO", "LAX"]
NOW = datetime(2030, 1, 15, 23, 59, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: NOW)


def all_items(ddb: DynamoDBClient) -> list[dict[str, Any]]:
    return ddb.scan(TableName=TABLE)["Items"]


def test_creates_one_flight_per_destination_for_today(
    ddb: DynamoDBClient, context: Context, capsys: pytest.CaptureFixture[str]
) -> None:
    assert app.handler({}, context) == {"created": 7, "existing": 0}
    items = all_items(ddb)
    assert sorted(item["PK"]["S"] for item in items) == sorted(
        f"DESTINATION#{d}" for d in DESTINATIONS
    )
    for item in items:
        assert item["SK"] == {"S": "2030-01-15"}
        assert item["availableSeats"] == {"N": "2"}
        assert item["capacity"] == {"N": "2"}
        assert item["itemType"] == {"S": "FLIGHT"}
    [summary] = [line for line in json_lines(capsys.readouterr().out) if "created" in line]
    assert (summary["created"], summary["existing"]) == (7, 0)


def test_second_run_does_not_reset_a_booked_flight(ddb: DynamoDBClient, context: Context) -> None:
    app.handler({}, context)
    ddb.update_item(
        TableName=TABLE,
        Key={"PK": {"S": "DESTINATION#LHR"}, "SK": {"S": "2030-01-15"}},
        UpdateExpression="SET availableSeats = :z",
        ExpressionAttributeValues={":z": {"N": "0"}},
    )
    assert app.handler({"any": "input"}, context) == {"created": 0, "existing": 7}
    assert flight_seats(ddb, "LHR", "2030-01-15") == 0
    assert flight_seats(ddb, "CDG", "2030-01-15") == 2


def test_days_ahead_and_seats_from_env(
    ddb: DynamoDBClient, context: Context, set_env: Callable[..., None]
) -> None:
    set_env(DAYS_AHEAD="2", SEATS_PER_FLIGHT="5")
    assert app.handler(None, context) == {"created": 21, "existing": 0}
    last = (NOW + timedelta(days=2)).date().isoformat()
    assert flight_seats(ddb, "LAX", last) == 5
    assert flight_seats(ddb, "LAX", "2030-01-18") is None


def test_uses_the_utc_date(
    ddb: DynamoDBClient, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timezone

    late_in_utc = datetime(2030, 1, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    monkeypatch.setattr(clock, "now", lambda: late_in_utc.astimezone(UTC))
    app.handler({}, context)
    assert flight_seats(ddb, "CDG", "2030-01-16") == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("SEATS_PER_FLIGHT", "two"), ("SEATS_PER_FLIGHT", "0"), ("DAYS_AHEAD", "-1")],
)
def test_bad_env_fails_loudly(
    ddb: DynamoDBClient, context: Context, set_env: Callable[..., None], name: str, value: str
) -> None:
    set_env(**{name: value})
    with pytest.raises(config.ConfigError, match=name):
        app.handler({}, context)
