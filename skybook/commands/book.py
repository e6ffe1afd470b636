"""``book``: a booking through the app's real API, and with ``--wait`` its outcome and email."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from skybook import appdata, inbox
from skybook.commands.context import AppContext, add_options, app_context
from skybook.commands.output import print_json, progress
from skybook.commands.views import booking_line, email_text
from skybook.contract import CONFIRMED, NOTIFICATION_SENT, REJECTED, booking_request
from skybook.errors import CliError
from skybook.httpclient import Answer, Unreachable, post_json
from skybook.polling import poll

T = TypeVar("T")

POLL_SECONDS = 0.25
API_TIMEOUT = 60.0


def _post(url: str, body: dict[str, Any]) -> Answer:
    try:
        return post_json(url, body, timeout=API_TIMEOUT)
    except Unreachable as error:
        raise CliError(
            f"cannot reach the API at {url} ({error.reason}): is the sandbox running? start it "
            "with ./scripts/up"
        ) from None


def _final(ctx: AppContext, booking_id: str) -> appdata.Booking | None:
    found = appdata.booking(ctx.outputs, ctx.target, booking_id)
    return found if found is not None and found.status in (CONFIRMED, REJECTED) else None


def _notified(ctx: AppContext, booking_id: str) -> appdata.Booking | None:
    found = appdata.booking(ctx.outputs, ctx.target, booking_id)
    return found if found is not None and found.notification == NOTIFICATION_SENT else None


def _email_for(ctx: AppContext, to: str, booking_id: str) -> inbox.Email | None:
    emails = inbox.fetch_emails(str(ctx.endpoint), to=to, region=ctx.region)
    return next((e for e in emails if e.data.get("bookingId") == booking_id), None)


def cmd_book(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    answer = _post(
        str(ctx.outputs["bookFlightUrl"]),
        booking_request(args.to, args.date, args.seats, args.email),
    )
    status, body, message = answer.status, answer.body, answer.message
    if 400 <= status < 500:
        raise CliError(f"the booking was refused ({status}): {message}")
    if status >= 300 or "bookingId" not in body:
        raise CliError(
            f"the API failed ({status}): {message or body}; see 'skybook logs bookFlight'"
        )
    booking_id = str(body["bookingId"])
    if not args.wait:
        if args.json:
            print_json(body)
        else:
            print(f"booking {booking_id} accepted: {message}")
            print(f"follow it with: skybook bookings --to {args.to} --date {args.date}")
        return 0
    deadline = time.monotonic() + args.timeout

    def wait(waiting: str, check: Callable[[], T | None], late: str, function: str) -> T:
        """Poll ``check`` until the deadline; past it, say where the booking stopped."""
        progress(waiting)
        found = poll(check, deadline=deadline, interval=POLL_SECONDS)
        if found is None:
            raise CliError(
                f"booking {booking_id} {late} within {args.timeout:g} s: "
                f"see 'skybook logs {function} --booking {booking_id}'"
            )
        return found

    booking = wait(
        f"booking {booking_id} accepted; waiting for it to be confirmed or rejected ...",
        lambda: _final(ctx, booking_id),
        "was neither confirmed nor rejected",
        "registerBooking",
    )
    outcome = f"booking {booking.status.lower()}"
    if ctx.endpoint is None:  # on AWS, SES delivers to the real mailbox: wait until it took it
        sent = wait(
            f"{outcome}; waiting for SES to accept the email ...",
            lambda: _notified(ctx, booking_id),
            f"is {booking.status} but its email was not sent",
            "sendBookingReceipt",
        )
        if args.json:
            print_json({"answer": body, "booking": sent.to_json()})
        else:
            print(booking_line(sent))
            print(f"email sent by SES to {args.email} (see that mailbox)")
    else:
        email = wait(
            f"{outcome}; waiting for the email to {args.email} ...",
            lambda: _email_for(ctx, args.email, booking_id),
            f"is {booking.status} but no email arrived",
            "sendBookingReceipt",
        )
        if args.json:
            print_json({"answer": body, "booking": booking.to_json(), "email": email.to_json()})
        else:
            print(booking_line(booking))
            print()
            print(email_text(email))
    if booking.status == REJECTED:
        progress(f"skybook: booking {booking_id} was rejected: {booking.reason}")
        return 1
    return 0


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def register(sub: Any) -> None:
    book = sub.add_parser("book", help="book a flight through the API (--wait: and see the email)")
    book.add_argument("--to", required=True, metavar="CODE", help="destination, e.g. LHR")
    book.add_argument("--date", default=_today(), metavar="YYYY-MM-DD", help="default: today")
    book.add_argument("--seats", type=int, default=1, metavar="N", help="default: 1")
    book.add_argument("--email", default="traveller@example.com", metavar="ADDRESS")
    book.add_argument(
        "--wait", action="store_true", help="wait for the outcome and the email, and show them"
    )
    book.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="for --wait (default 30)"
    )
    add_options(book)
    book.set_defaults(func=cmd_book)
