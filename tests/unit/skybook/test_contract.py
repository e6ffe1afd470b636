"""The kit's copy of the app contract (skybook/contract.py) equals the functions' own.

``functions/common`` ships alone in every function's zip, so the kit cannot import it at
run time; this test can, the way a zip sees it (``functions/`` is on the tests' path).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from common import config, store, validation

from skybook import contract

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"


def test_the_table_keys_and_item_values_are_the_functions() -> None:
    assert contract.flight_key("LHR", "2031-01-02") == store.flight_key("LHR", "2031-01-02")
    assert contract.booking_key("b-1") == store.booking_key("b-1")
    assert contract.booking_key("b-1")["PK"]["S"].startswith(contract.BOOKING_PREFIX)
    assert contract.flight_key("LHR", "d")["PK"]["S"] == contract.FLIGHT_PREFIX + "LHR"
    assert (contract.BOOKING_SK, contract.BOOKING_TYPE) == (store.BOOKING_SK, store.BOOKING_TYPE)
    assert (contract.CONFIRMED, contract.REJECTED) == (store.CONFIRMED, store.REJECTED)
    assert contract.NOTIFICATION_SENT == store.NOTIFICATION_SENT


def test_a_seeded_flight_is_one_the_functions_can_book() -> None:
    item = contract.flight_item("LHR", "2031-01-02", 7)
    assert store.available_seats(item) == 7
    assert {k: item[k] for k in ("PK", "SK")} == store.flight_key("LHR", "2031-01-02")


def test_a_booking_request_is_one_the_api_accepts() -> None:
    assert contract.DESTINATIONS == validation.DESTINATIONS
    for destination in contract.DESTINATIONS:
        body = contract.booking_request(destination, "2031-01-02", 2, "a@example.com")
        assert tuple(body) == validation.REQUEST_FIELDS
        event = {"headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
        parsed = validation.parse_booking_request(event)
        assert dataclasses.asdict(parsed) == body


def test_the_template_names_are_the_functions_and_the_stacks() -> None:
    assert contract.RECEIPT_TEMPLATE == config.DEFAULT_RECEIPT_TEMPLATE
    assert contract.REJECTION_TEMPLATE == config.DEFAULT_REJECTION_TEMPLATE
    manifest = FUNCTIONS / "send_booking_receipt/templates/templates.json"
    names = {entry["name"] for entry in json.loads(manifest.read_text())}
    assert {contract.RECEIPT_TEMPLATE, contract.REJECTION_TEMPLATE} <= names


@pytest.mark.parametrize("name", contract.FUNCTION_NAMES)
def test_each_function_name_is_a_function_folder(name: str) -> None:
    folder = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()  # bookFlight -> book_flight
    assert (FUNCTIONS / folder / "app.py").is_file(), folder


def test_items_read_back_as_the_functions_wrote_them() -> None:
    booking = store.Booking(
        bookingId="b-1",
        destination="LHR",
        flightDate="2031-01-02",
        numberOfSeats=2,
        bookerEmail="a@example.com",
        requestedAt="2031-01-01T00:00:00.000+00:00",
        status=store.REJECTED,
        createdAt="2031-01-01T00:00:01.000+00:00",
        reason=store.REASON_NOT_ENOUGH_SEATS,
    )
    plain = contract.plain(booking.to_item())
    assert {k: plain[k] for k in dataclasses.asdict(booking)} == dataclasses.asdict(booking)
    assert isinstance(plain["numberOfSeats"], int)
    assert plain["itemType"] == contract.BOOKING_TYPE


def test_plain_values_of_every_attribute_type() -> None:
    item = {
        "s": {"S": "x"},
        "n": {"N": "-3"},
        "f": {"N": "1.5"},
        "b": {"BOOL": True},
        "z": {"NULL": True},
        "m": {"M": {"k": {"N": "2"}}},
        "l": {"L": [{"N": "1"}, {"S": "y"}]},
        "ss": {"SS": ["a", "b"]},
    }
    assert contract.plain(item) == {
        "s": "x",
        "n": -3,
        "f": 1.5,
        "b": True,
        "z": None,
        "m": {"k": 2},
        "l": [1, "y"],
        "ss": {"a", "b"},
    }
