"""The console: its JSON API over HTTP, and the page in a real headless Chromium.

The console serves in-process on a free port against the session's app; the browser is
Debian's Chromium driven by Playwright (``./scripts/install-browser`` puts it in place).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.screenshots import fill_form, launch
from skybook.console import ConsoleData, ConsoleServer
from skybook.httpclient import Unreachable, request
from tests.conftest import pid_alive
from tests.console_api import call
from tests.e2e.conftest import App, unique_date, unique_email, wait_for

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def console(app: App) -> Iterator[ConsoleServer]:
    server = ConsoleServer(ConsoleData(app.sandbox.endpoint, outputs=app.outputs), port=0).start()
    try:
        yield server
    finally:
        server.stop()


# --- the JSON API ------------------------------------------------------------------------


@pytest.mark.sandbox
def test_api_books_through_the_app_and_shows_every_view(app: App, console: ConsoleServer) -> None:
    flight_date, email = unique_date(), unique_email("console-api")
    app.seed_flight("AMS", flight_date, 3)

    status, info, _ = call(console, "/api/info")
    assert status == 200
    assert info["deployed"] is True
    assert info["functions"] == sorted(app.outputs["functions"])
    status, flights, _ = call(console, "/api/flights")
    assert status == 200
    mine = [f for f in flights["flights"] if f["date"] == flight_date]
    assert [(f["destination"], f["seatsLeft"]) for f in mine] == [("AMS", 3)]

    booking = {
        "destination": "AMS",
        "flightDate": flight_date,
        "numberOfSeats": 2,
        "bookerEmail": email,
    }
    status, answer, _ = call(console, "/api/book", booking)
    assert status == 200, answer
    assert answer["message"] == "Processing flight booking"
    booking_id = answer["bookingId"]

    def confirmed() -> dict[str, Any] | None:
        rows = call(console, f"/api/bookings?destination=AMS&date={flight_date}")[1]["bookings"]
        return next((b for b in rows if b["id"] == booking_id and b["notification"]), None)

    row = wait_for(confirmed, what="the booking, confirmed and mailed, in /api/bookings")
    assert (row["status"], row["seats"], row["email"]) == ("CONFIRMED", 2, email)
    emails = wait_for(
        lambda: call(console, f"/api/inbox?to={email}")[1]["emails"], what="the receipt"
    )
    assert [e["subject"] for e in emails] == ["Your flight to AMS was booked!"]
    assert flight_date in emails[0]["html"]
    assert emails[0]["to"] == [email]
    seats = [f["seatsLeft"] for f in call(console, "/api/flights")[1]["flights"]]
    assert 1 in seats

    def event_types() -> set[str] | None:
        events = call(console, "/api/events?limit=1000")[1]["events"]
        types = {e["detail-type"] for e in events if e["detail"].get("bookingId") == booking_id}
        return types if len(types) >= 2 else None

    types = wait_for(event_types, what="both bus events of the booking")
    assert types == {"flightBooked", "bookingConfirmed"}
    lines = wait_for(
        lambda: call(console, f"/api/logs?function=registerBooking&booking={booking_id}")[1][
            "lines"
        ],
        what="registerBooking's log lines about the booking",
    )
    assert all(booking_id in line["message"] for line in lines)
    assert any((line["fields"] or {}).get("message") == "booking confirmed" for line in lines)


@pytest.mark.sandbox
def test_api_passes_the_apps_refusals_through(app: App, console: ConsoleServer) -> None:
    flight_date = unique_date()
    app.seed_flight("FCO", flight_date, 1)
    booking = {"destination": "FCO", "flightDate": flight_date, "numberOfSeats": 2}
    status, answer, _ = call(console, "/api/book", {**booking, "bookerEmail": unique_email()})
    assert (status, answer["message"]) == (400, "Not enough seats for this flight")
    status, answer, _ = call(console, "/api/book", {**booking, "bookerEmail": "nope"})
    assert status == 400
    assert "bookerEmail" in json.dumps(answer)
    assert app.seats("FCO", flight_date) == 1


@pytest.mark.sandbox
def test_api_refuses_what_it_must(console: ConsoleServer) -> None:
    status, body, _ = call(console, "/api/book", b"destination=LHR", content_type="text/plain")
    assert status == 415 and "application/json" in body["error"]
    assert call(console, "/api/logs")[0] == 400
    status, body, _ = call(console, "/api/logs?function=nope")
    assert status == 400 and "registerBooking" in body["error"]
    assert call(console, "/api/events?limit=x")[0] == 400
    assert call(console, "/api/nothing")[0] == 404
    assert call(console, "/api/flights", b"{}")[0] == 405
    # Another Host (a DNS-rebinding page) gets nothing.
    assert call(console, "/api/flights", host=f"evil.example:{console.port}")[0] == 403
    assert call(console, "/static/../server.py")[0] == 404
    assert call(console, "/static/%2e%2e/server.py")[0] == 404


@pytest.mark.sandbox
def test_page_and_assets_are_served_self_contained(console: ConsoleServer) -> None:
    status, html, headers = call(console, "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert 'sandbox=""' in html
    total = len(html)
    for asset in ("/static/console.js", "/static/console.css"):
        status, text, headers = call(console, asset)
        assert status == 200, asset
        assert "http://" not in text and "https://" not in text, f"{asset} reaches out"
        total += len(text)
    assert "http://" not in html and "https://" not in html
    assert total < 60_000, f"the page grew to {total} bytes"


# --- the page in a real browser ------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: .venv/bin/pip install -e '.[dev]'")
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no {CHROMIUM}: install Debian's chromium as root to run this test "
            "(sudo ./scripts/install-browser, or apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, console: ConsoleServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    # Script errors and failed requests fail the test; the app's own refusals are expected.
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/api/book")
            else None
        ),
    )
    page.set_default_timeout(30_000)
    page.goto(console.url)
    try:
        yield page
        assert errors == [], errors
    finally:
        context.close()


@pytest.mark.sandbox
@pytest.mark.slow
def test_book_in_the_browser_and_read_the_receipt(app: App, page: Any) -> None:
    from playwright.sync_api import expect

    flight_date, email = unique_date(), unique_email("console-ui")
    app.seed_flight("LHR", flight_date, 2)
    flight = page.locator(f'#flights tr[data-destination="LHR"][data-date="{flight_date}"]')
    seats_left = flight.locator("td.num")
    expect(seats_left).to_have_text("2", timeout=15_000)  # the poll picked up the new flight
    flight.click()  # fills destination and date, as a person would
    expect(page.locator("#destination")).to_have_value("LHR")
    expect(page.locator("#flightDate")).to_have_value(flight_date)
    page.fill("#bookerEmail", email)
    page.click("#book-button")

    result = page.locator("#book-result")
    expect(result).to_have_class("result ok")
    expect(result).to_contain_text("Processing flight booking")
    booking_id = result.get_attribute("data-booking-id")
    assert booking_id
    row = page.locator(f'#bookings tr[data-booking-id="{booking_id}"]')
    expect(row).to_have_attribute("data-status", "CONFIRMED", timeout=30_000)
    expect(row.locator(".badge")).to_have_text("CONFIRMED")
    expect(row).to_contain_text(email)
    expect(seats_left).to_have_text("1", timeout=15_000)  # seats left went down

    mail = page.locator(f'#inbox li[data-to="{email}"]')
    expect(mail).to_contain_text("Your flight to LHR was booked!", timeout=30_000)
    mail.click()
    expect(page.locator("#email-subject")).to_have_text("Your flight to LHR was booked!")
    rendered = page.frame_locator("#email-frame").locator("body")
    expect(rendered).to_contain_text(f"Your flight was booked on {flight_date}")
    expect(rendered).to_contain_text("to LHR")
    # The email's markup is confined: its frame is sandboxed (no scripts, opaque origin).
    assert page.get_attribute("#email-frame", "sandbox") == ""
    # The logs follow the booking just made.
    expect(page.locator("#log-booking")).to_have_value(booking_id)
    expect(page.locator("#logs")).to_contain_text("booking confirmed", timeout=30_000)
    events = page.locator(f'#events tr[data-booking-id="{booking_id}"]')
    expect(events.first).to_be_visible(timeout=30_000)
    assert app.seats("LHR", flight_date) == 1


@pytest.mark.sandbox
@pytest.mark.slow
def test_a_refused_booking_shows_the_apps_message(app: App, page: Any) -> None:
    from playwright.sync_api import expect

    flight_date, email = unique_date(), unique_email("console-ui")
    app.seed_flight("CDG", flight_date, 1)
    fill_form(page, "CDG", flight_date, 2, email)
    result = page.locator("#book-result")
    expect(result).to_have_text("400: Not enough seats for this flight")
    expect(result).to_have_class("result error")
    fill_form(page, "ZZZ", flight_date, 1, email)
    expect(result).to_contain_text("400: ")
    expect(result).to_contain_text("destination")
    assert app.bookings_for("CDG", flight_date) == []
    assert app.seats("CDG", flight_date) == 1


# --- the console beside a detached sandbox -------------------------------------------------


@pytest.mark.sandbox
def test_detached_console_serves_until_stopped(app: App, tmp_path: Path) -> None:
    from skybook.console import process

    folder = tmp_path / "sandbox"
    url = process.start_detached(app.sandbox.endpoint, str(app.outputs["stack"]), 0, folder)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert process.recorded_url(folder) == url
        pid = json.loads((folder / process.RECORD).read_text())["pid"]
        info = request(url + "api/info", timeout=10).json()
        assert info["bookFlightUrl"] == app.outputs["bookFlightUrl"]
    finally:
        stopped = process.stop_detached(folder)
    assert stopped
    assert not (folder / process.RECORD).exists()
    assert not pid_alive(pid)
    assert process.stop_detached(folder) is False
    with pytest.raises(Unreachable):
        request(url + "api/info", timeout=5)
