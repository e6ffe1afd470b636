"""``scripts/screenshots``: the README's pictures of the console, made from a real run.

Starts its own sandbox on a free port (never touching a running ``up``), deploys and seeds
the app, serves the console, books through the form in headless Chromium like a person,
waits for the confirmed booking and its receipt, screenshots the page and the rendered
email, then stops everything.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.paths import REPO_ROOT
from sandbox.runner import temporary_sandbox
from skybook.app import deploy_app
from skybook.console import ConsoleData, ConsoleServer

CHROMIUM = "/usr/bin/chromium"
# Offline and quiet: no component updates, sync or background fetches.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IMAGES = REPO_ROOT / "docs" / "images"


def launch(playwright: Any) -> Any:
    """Debian's Chromium through Playwright (Playwright's own browser download is never used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def fill_form(page: Any, destination: str, flight_date: str, seats: int, email: str) -> None:
    """Fill the booking form and submit it, as a person would (the console's tests do too)."""
    page.fill("#destination", destination)
    page.fill("#flightDate", flight_date)
    page.fill("#numberOfSeats", str(seats))
    page.fill("#bookerEmail", email)
    page.click("#book-button")


def book_in_page(page: Any, destination: str, flight_date: str, seats: int, email: str) -> str:
    """Fill and submit the form; the booking id the page reports."""
    fill_form(page, destination, flight_date, seats, email)
    page.wait_for_selector("#book-result.ok[data-booking-id]")
    return str(page.get_attribute("#book-result", "data-booking-id"))


def shoot(url: str, images: Path) -> None:
    """Book two flights through the page, then screenshot it and the inbox's rendered email."""
    from playwright.sync_api import sync_playwright

    today = datetime.now(UTC).date()
    trips = [
        ("CDG", today, 1, "ada@example.com"),  # today's flights: the first rows of the table
        ("LHR", today, 2, "grace@example.com"),
    ]
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(url)
            page.wait_for_selector("#flights tbody tr")
            for destination, day, seats, email in trips:
                booking_id = book_in_page(page, destination, day.isoformat(), seats, email)
                row = f'#bookings tr[data-booking-id="{booking_id}"]'
                page.wait_for_selector(f'{row}[data-status="CONFIRMED"]')
                page.wait_for_selector(f'#inbox li[data-to="{email}"]')
            page.wait_for_selector("#logs:not(:empty)")
            images.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(images / "console.png"), full_page=True)
            page.locator("#inbox-panel").screenshot(path=str(images / "email.png"))
        finally:
            browser.close()


def take(images: Path) -> None:
    """A sandbox of its own, the app deployed, the console served; always all stopped."""
    started = time.monotonic()
    with temporary_sandbox("screenshots") as sandbox, tempfile.TemporaryDirectory() as tmp:
        print(f"==> sandbox on {sandbox.endpoint}", file=sys.stderr)
        outputs = deploy_app(sandbox.endpoint, outputs_file=Path(tmp) / "outputs.json", quiet=True)
        server = ConsoleServer(ConsoleData(sandbox.endpoint, outputs=outputs), port=0).start()
        try:
            shoot(server.url, images)
        finally:
            server.stop()
    print(
        f"==> {images / 'console.png'} and {images / 'email.png'} "
        f"in {time.monotonic() - started:.0f}s",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=IMAGES, help=f"folder (default {IMAGES})")
    args = parser.parse_args(argv)
    take(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
