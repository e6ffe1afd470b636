"""The app on the sandbox, as a person uses it: book, flights, bookings, inbox, logs,
events, sync, reset.

Thin on purpose: data comes from :mod:`skybook.appdata`, email from :mod:`skybook.inbox`,
formatting from :mod:`skybook.commands.output`; this module only wires options to them.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from skybook import appdata, inbox
from skybook.app import seed_flights
from skybook.commands.context import AppContext, add_options, app_context
from skybook.commands.output import clock, indent, print_json, print_table, progress
from skybook.errors import CliError

T = TypeVar("T")
FINAL = ("CONFIRMED", "REJECTED")
POLL_SECONDS = 0.25
FOLLOW_SECONDS = 1.0
# Log events can be ingested a little after their timestamp: look back this far when following.
FOLLOW_LOOKBACK_MS = 15_000


# --- book ------------------------------------------------------------------------------------


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise CliError(
            f"cannot reach the API at {url} ({error}): is the sandbox running? start it with "
            "./scripts/up"
        ) from None
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"message": raw.decode(errors="replace")[:200]}
    return status, parsed if isinstance(parsed, dict) else {"message": str(parsed)}


def _poll(check: Callable[[], T | None], deadline: float, failure: str) -> T:
    """Call ``check`` until it returns something, or raise ``failure`` at the deadline."""
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise CliError(failure)
        time.sleep(POLL_SECONDS)


def _booking_line(b: appdata.Booking) -> str:
    line = f"booking {b.id}: {b.status}  {b.destination} {b.date}  {b.seats} seat(s)  {b.email}"
    return line + (f"  ({b.reason})" if b.reason else "")


def _email_text(email: inbox.Email, *, html: bool = False) -> str:
    head = f"{email.timestamp}  to {', '.join(email.to)}  from {email.source}"
    if email.template:
        head += f"  [{email.template}]"
    if email.error:
        return f"{head}\n  render failed: {email.error}"
    body = email.html if html else (email.text if email.text is not None else email.html)
    return f"{head}\nSubject: {email.subject}\n\n{indent((body or '').rstrip())}"


def cmd_book(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    body = {
        "destination": args.to,
        "flightDate": args.date,
        "numberOfSeats": args.seats,
        "bookerEmail": args.email,
    }
    status, answer = _post(str(ctx.outputs["bookFlightUrl"]), body)
    message = answer.get("message", "")
    if 400 <= status < 500:
        raise CliError(f"the booking was refused ({status}): {message}")
    if status >= 300 or "bookingId" not in answer:
        raise CliError(
            f"the API failed ({status}): {message or answer}; see 'skybook logs bookFlight'"
        )
    booking_id = str(answer["bookingId"])
    if not args.wait:
        if args.json:
            print_json(answer)
        else:
            print(f"booking {booking_id} accepted: {message}")
            print(f"follow it with: skybook bookings --to {args.to} --date {args.date}")
        return 0
    deadline = time.monotonic() + args.timeout
    progress(f"booking {booking_id} accepted; waiting for it to be confirmed or rejected ...")
    booking = _poll(
        lambda: _final(ctx, booking_id),
        deadline,
        f"booking {booking_id} was neither confirmed nor rejected within {args.timeout:g} s: "
        f"see 'skybook logs registerBooking --booking {booking_id}'",
    )
    progress(f"booking {booking.status.lower()}; waiting for the email to {args.email} ...")
    email = _poll(
        lambda: _email_for(ctx, args.email, booking_id),
        deadline,
        f"booking {booking_id} is {booking.status} but no email arrived within "
        f"{args.timeout:g} s: see 'skybook logs sendBookingReceipt --booking {booking_id}'",
    )
    if args.json:
        print_json({"answer": answer, "booking": booking.to_json(), "email": email.to_json()})
    else:
        print(_booking_line(booking))
        print()
        print(_email_text(email))
    if booking.status == "REJECTED":
        progress(f"skybook: booking {booking_id} was rejected: {booking.reason}")
        return 1
    return 0


def _final(ctx: AppContext, booking_id: str) -> appdata.Booking | None:
    found = appdata.booking(ctx.outputs, ctx.endpoint, booking_id)
    return found if found is not None and found.status in FINAL else None


def _email_for(ctx: AppContext, to: str, booking_id: str) -> inbox.Email | None:
    emails = inbox.fetch_emails(ctx.endpoint, to=to, region=_region(ctx))
    return next((e for e in emails if e.data.get("bookingId") == booking_id), None)


def _region(ctx: AppContext) -> str:
    return str(ctx.outputs.get("region") or "us-east-1")


# --- flights, bookings, inbox ------------------------------------------------------------------


def cmd_flights(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    flights = [
        f
        for f in appdata.flights(ctx.outputs, ctx.endpoint)
        if (args.to is None or f.destination == args.to.upper())
        and (args.date is None or f.date == args.date)
    ]
    if args.json:
        print_json([f.to_json() for f in flights])
        return 0
    print_table(
        ["DATE", "TO", "SEATS LEFT", "CAPACITY", "BOOKINGS"],
        [[f.date, f.destination, f.seatsLeft, f.capacity, f.bookings] for f in flights],
        empty="no flights: run 'skybook sync'",
    )
    return 0


def cmd_bookings(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    found = appdata.bookings(ctx.outputs, ctx.endpoint, destination=args.to, date=args.date)
    if args.json:
        print_json([b.to_json() for b in found])
        return 0
    print_table(
        ["CREATED", "ID", "TO", "DATE", "SEATS", "EMAIL", "STATUS", "MAIL", "REASON"],
        [
            [
                b.createdAt[:19],
                b.id,
                b.destination,
                b.date,
                b.seats,
                b.email,
                b.status,
                b.notification,
                b.reason,
            ]
            for b in found
        ],
        empty="no bookings",
    )
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    emails = inbox.fetch_emails(ctx.endpoint, to=args.to, region=_region(ctx))
    if args.limit:
        emails = emails[-args.limit :]
    if args.json:
        print_json([e.to_json() for e in emails])
        return 0
    if not emails:
        print(f"(no emails{' to ' + args.to if args.to else ''} yet)")
    for number, email in enumerate(emails):
        if number:
            print("\n" + "-" * 72)
        print(_email_text(email, html=args.html))
    return 0


# --- logs and events ---------------------------------------------------------------------------

_HIDDEN_FIELDS = {"timestamp", "level", "message", "function", "awsRequestId", "traceback"}


def _line_time(line: appdata.LogLine, fields: dict[str, Any]) -> str:
    """The time the function wrote the line (CloudWatch's is when the batch arrived)."""
    try:
        written = datetime.fromisoformat(str(fields["timestamp"]))
    except (KeyError, ValueError):
        return clock(line.timestamp)
    return clock(int(written.timestamp() * 1000))


def _log_text(line: appdata.LogLine) -> str:
    fields = line.fields
    if fields is None:
        return f"{clock(line.timestamp)}  {line.message}"
    extra = " ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}"
        for k, v in fields.items()
        if k not in _HIDDEN_FIELDS
    )
    text = f"{_line_time(line, fields)}  {fields.get('level', ''):<5}  {fields.get('message', '')}"
    text += f"  {extra}" if extra else ""
    if isinstance(fields.get("traceback"), str):
        text += "\n" + indent(fields["traceback"].rstrip(), "    ")
    return text


def _follow(
    fetch: Callable[[int | None], list[T]],
    key: Callable[[T], str],
    stamp: Callable[[T], int],
    show: Callable[[T], None],
) -> int:
    """Show new items as they come, until Ctrl-C (which is success, exit 0)."""
    seen: set[str] = set()
    since: int | None = None
    try:
        while True:
            newest = int(time.time() * 1000)
            for item in fetch(since):
                if key(item) not in seen:
                    seen.add(key(item))
                    show(item)
                newest = max(newest, stamp(item))
            since = newest - FOLLOW_LOOKBACK_MS
            time.sleep(FOLLOW_SECONDS)
    except KeyboardInterrupt:
        return 0


def cmd_logs(args: argparse.Namespace) -> int:
    ctx = app_context(args)

    def fetch(since: int | None) -> list[appdata.LogLine]:
        return appdata.function_logs(
            ctx.outputs,
            ctx.endpoint,
            args.function,
            booking_id=args.booking,
            since_ms=since,
            limit=args.limit,
        )

    if args.follow:

        def show(line: appdata.LogLine) -> None:
            print(json.dumps(line.to_json()) if args.json else _log_text(line), flush=True)

        return _follow(fetch, lambda line: line.id, lambda line: line.timestamp, show)
    lines = fetch(None)
    if args.json:
        print_json([line.to_json() for line in lines])
    elif not lines:
        print(f"(no log lines{' about ' + args.booking if args.booking else ''})")
    for line in [] if args.json else lines:
        print(_log_text(line))
    return 0


def _event_ms(event: dict[str, Any]) -> int:
    try:
        return int(datetime.fromisoformat(str(event["time"])).timestamp() * 1000)
    except (KeyError, ValueError):
        return 0


def _event_text(event: dict[str, Any]) -> str:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        detail = {}
    when = datetime.fromtimestamp(_event_ms(event) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    parts = [
        str(detail.get(k))
        for k in ("destination", "flightDate", "bookerEmail", "status", "reason")
        if detail.get(k) is not None
    ]
    if "numberOfSeats" in detail:
        parts.insert(2, f"{detail['numberOfSeats']} seat(s)")
    return (
        f"{when}  {event.get('source', ''):<15}  {event.get('detail-type', ''):<16}  "
        f"{detail.get('bookingId', '-'):<36}  {'  '.join(parts)}"
    ).rstrip()


def _booking_of(event: dict[str, Any]) -> str | None:
    detail = event.get("detail")
    return str(detail.get("bookingId")) if isinstance(detail, dict) else None


def cmd_events(args: argparse.Namespace) -> int:
    ctx = app_context(args)

    def fetch(since: int | None) -> list[dict[str, Any]]:
        found = appdata.events(ctx.outputs, ctx.endpoint, since_ms=since, limit=args.limit)
        return [e for e in found if args.booking is None or _booking_of(e) == args.booking]

    if args.follow:

        def show(event: dict[str, Any]) -> None:
            print(json.dumps(event) if args.json else _event_text(event), flush=True)

        return _follow(fetch, lambda e: str(e.get("id")), _event_ms, show)
    found = fetch(None)
    if args.json:
        print_json(found)
        return 0
    if not found:
        print("(no events yet)")
    for event in found:
        print(_event_text(event))
    return 0


# --- sync and reset ----------------------------------------------------------------------------


def _sync(ctx: AppContext) -> dict[str, Any]:
    app = appdata.view(ctx.outputs, ctx.endpoint)
    with app.friendly(f"function {ctx.outputs['functions']['syncFlights']}"):
        return seed_flights(app.target, ctx.outputs)


def cmd_sync(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    result = _sync(ctx)
    if args.json:
        print_json(result)
    else:
        print(
            f"syncFlights: {result.get('created', 0)} flights created, "
            f"{result.get('existing', 0)} already there"
        )
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    progress(f"deleting every item of {ctx.outputs['tableName']} ...")
    deleted = appdata.view(ctx.outputs, ctx.endpoint).clear_table()
    progress("clearing the captured mail ...")
    emails = inbox.clear_messages(ctx.endpoint)
    progress("re-seeding flights (syncFlights) ...")
    seeded = _sync(ctx)
    if args.json:
        print_json({"deleted": deleted, "emails": emails, "seeded": seeded})
        return 0
    print(
        f"deleted {deleted['flights']} flights and {deleted['bookings']} bookings "
        f"from {ctx.outputs['tableName']}"
        + (f" (and {deleted['other']} other items)" if deleted["other"] else "")
    )
    print(f"cleared {emails} emails (all mail the sandbox captured)")
    print(f"re-seeded {seeded.get('created', 0)} flights")
    return 0


# --- the parsers ---------------------------------------------------------------------------------


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


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

    flights = sub.add_parser("flights", help="flights with seats left and bookings")
    flights.add_argument("--to", metavar="CODE")
    flights.add_argument("--date", metavar="YYYY-MM-DD")
    add_options(flights)
    flights.set_defaults(func=cmd_flights)

    bookings = sub.add_parser("bookings", help="bookings, oldest first")
    bookings.add_argument("--to", metavar="CODE")
    bookings.add_argument("--date", metavar="YYYY-MM-DD")
    add_options(bookings)
    bookings.set_defaults(func=cmd_bookings)

    mail = sub.add_parser("inbox", help="the emails the app sent, rendered as SES would")
    mail.add_argument("--to", metavar="ADDRESS", help="only emails to this address")
    mail.add_argument("--html", action="store_true", help="show the HTML part, not the text")
    mail.add_argument("--limit", type=_positive, metavar="N", help="only the newest N")
    add_options(mail)
    mail.set_defaults(func=cmd_inbox)

    logs = sub.add_parser("logs", help="a function's CloudWatch log")
    logs.add_argument("function", metavar="FUNCTION", help=", ".join(appdata.FUNCTION_NAMES))
    logs.add_argument("--booking", metavar="ID", help="only lines about this booking")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until Ctrl-C")
    logs.add_argument("--limit", type=_positive, default=200, metavar="N", help="default 200")
    add_options(logs, json_help="JSON on stdout (one object per line with --follow)")
    logs.set_defaults(func=cmd_logs)

    events = sub.add_parser("events", help="the events on the app's bus")
    events.add_argument("--booking", metavar="ID", help="only events about this booking")
    events.add_argument("--follow", "-f", action="store_true", help="keep printing until Ctrl-C")
    events.add_argument("--limit", type=_positive, default=100, metavar="N", help="default 100")
    add_options(events, json_help="JSON on stdout (one object per line with --follow)")
    events.set_defaults(func=cmd_events)

    sync = sub.add_parser("sync", help="run syncFlights now (creates missing flights only)")
    add_options(sync)
    sync.set_defaults(func=cmd_sync)

    reset = sub.add_parser(
        "reset", help="empty the table and the mail, then re-seed flights (the stack stays)"
    )
    add_options(reset)
    reset.set_defaults(func=cmd_reset)
