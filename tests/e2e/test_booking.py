"""The booking flow end to end on a real sandbox, driven only through the HTTP API."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.conftest import App, unique_date, unique_email, wait_for

pytestmark = pytest.mark.sandbox


def test_tutorial_scenario(app: App) -> None:
    flight_date, email = unique_date(), unique_email()
    app.seed_flight("LHR", flight_date, 2)

    first = app.book("LHR", flight_date, 1, email)
    assert first.status == 200, first.body
    assert first.body["message"] == "Processing flight booking"
    booking_id = first.body["bookingId"]

    receipt = wait_for(lambda: app.receipts(email), what="the booking receipt")[0]
    data = json.loads(receipt["TemplateData"])
    assert data["destination"] == "LHR"
    assert data["flightDate"] == flight_date
    assert str(data["numberOfSeats"]) == "1"
    assert data["bookingId"] == booking_id
    assert receipt["Destination"]["ToAddresses"] == [email]
    assert app.seats("LHR", flight_date) == 1
    assert (app.booking(booking_id) or {})["status"] == "CONFIRMED"

    second = app.book("LHR", flight_date, 2, email)
    assert second.status == 400
    assert second.body["message"] == "Not enough seats for this flight"
    # A later booking by the same person, mailed: the refused one must not have mailed.
    sentinel_date = unique_date()
    app.seed_flight("CDG", sentinel_date, 1)
    assert app.book("CDG", sentinel_date, 1, email).status == 200
    wait_for(lambda: len(app.receipts(email)) >= 2, what="the sentinel receipt")
    receipts = app.receipts(email)
    assert sorted(json.loads(r["TemplateData"])["destination"] for r in receipts) == ["CDG", "LHR"]
    assert len(app.mail(email)) == 2
    assert app.seats("LHR", flight_date) == 1
    assert len(app.bookings_for("LHR", flight_date)) == 1


def test_unknown_flight_is_404_and_writes_nothing(app: App) -> None:
    flight_date = unique_date()
    response = app.book("FRA", flight_date, 1, unique_email())
    assert response.status == 404
    assert response.body["message"] == "Flight not found"
    assert app.seats("FRA", flight_date) is None


VALID = {
    "destination": "AMS",
    "flightDate": "2031-06-01",
    "numberOfSeats": 1,
    "bookerEmail": "someone@example.com",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"destination": "XXX"}, "destination"),
        ({"destination": 7}, "destination"),
        ({"flightDate": "2031-02-30"}, "flightDate"),
        ({"flightDate": "01/06/2031"}, "flightDate"),
        ({"numberOfSeats": 0}, "numberOfSeats"),
        ({"numberOfSeats": 10}, "numberOfSeats"),
        ({"numberOfSeats": -1}, "numberOfSeats"),
        ({"numberOfSeats": 1.5}, "numberOfSeats"),
        ({"numberOfSeats": "1"}, "numberOfSeats"),
        ({"numberOfSeats": True}, "numberOfSeats"),
        ({"numberOfSeats": 10**30}, "numberOfSeats"),
        ({"bookerEmail": "not-an-email"}, "bookerEmail"),
        ({"bookerEmail": "a b@example.com"}, "bookerEmail"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(app: App, change: dict, field: str) -> None:
    response = app.post({**VALID, **change})
    assert response.status == 400, response.body
    assert field in response.body["message"]


@pytest.mark.parametrize("missing", sorted(VALID))
def test_each_missing_field_is_a_400(app: App, missing: str) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}
    response = app.post(body)
    assert response.status == 400
    assert response.body["message"] == "Missing required parameters"
    assert missing in response.body["missing"]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[1, 2]", b'"a string"', b"", b"null", b'{"destination": "LHR",}']
)
def test_malformed_body_is_a_400_json_answer(app: App, raw: bytes) -> None:
    response = app.post(raw)
    assert response.status == 400
    assert isinstance(response.body.get("message"), str)


def test_unknown_fields_and_oversize_bodies_are_refused(app: App) -> None:
    assert app.post({**VALID, "admin": True}).status == 400
    huge = app.post({**VALID, "bookerEmail": "a" * 10_000 + "@example.com"})
    assert huge.status in (400, 413)


def test_parallel_bookings_never_overbook(app: App) -> None:
    flight_date = unique_date()
    app.seed_flight("IST", flight_date, 2)
    emails = [unique_email(f"race{i}") for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda e: app.book("IST", flight_date, 1, e), emails))

    assert all(r.status in (200, 400) for r in responses), [r.status for r in responses]
    accepted = [r for r in responses if r.status == 200]
    assert len(accepted) >= 2
    # Every accepted request ends as a stored booking, confirmed or rejected.
    wait_for(
        lambda: len(app.bookings_for("IST", flight_date)) == len(accepted),
        timeout=60,
        what="every accepted booking to be decided",
    )
    bookings = app.bookings_for("IST", flight_date)
    confirmed = [b for b in bookings if b["status"] == "CONFIRMED"]
    assert len(confirmed) == 2
    assert app.seats("IST", flight_date) == 0
    wait_for(lambda: sum(len(app.receipts(e)) for e in emails) >= 2, timeout=30, what="2 receipts")
    receipts = {e: app.receipts(e) for e in emails}
    assert sum(len(r) for r in receipts.values()) == 2
    assert {b["bookerEmail"] for b in confirmed} == {e for e, r in receipts.items() if r}


def test_same_event_twice_gives_one_booking_and_one_email(app: App) -> None:
    flight_date, email = unique_date(), unique_email("dup")
    app.seed_flight("FCO", flight_date, 5)
    booking_id = str(uuid.uuid4())
    entry = {
        "Source": "bookFlight",
        "DetailType": "flightBooked",
        "EventBusName": app.outputs["eventBusName"],
        "Detail": json.dumps(
            {
                "bookingId": booking_id,
                "destination": "FCO",
                "flightDate": flight_date,
                "numberOfSeats": 2,
                "bookerEmail": email,
                "requestedAt": "2031-01-01T00:00:00Z",
            }
        ),
    }
    events = app.sandbox.client("events")
    for _ in range(2):
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    wait_for(lambda: app.receipts(email), what="the receipt")
    wait_for(
        lambda: (app.booking(booking_id) or {}).get("notification") == "SENT",
        what="the receipt to be recorded",
    )
    # The second delivery is fully handled once the receipt function has seen the re-emitted
    # outcome and declined to send again.
    wait_for(
        lambda: app.log_lines("registerBooking", booking_id, "duplicate delivery"),
        what="registerBooking to see the duplicate",
    )
    wait_for(
        lambda: app.log_lines("sendBookingReceipt", booking_id, "already notified"),
        what="sendBookingReceipt to skip the second email",
    )
    assert len(app.bookings_for("FCO", flight_date)) == 1
    assert app.seats("FCO", flight_date) == 3
    assert len(app.mail(email)) == 1
