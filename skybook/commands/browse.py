"""``flights``, ``bookings``, ``inbox``: what the app holds, as tables and rendered mail."""

from __future__ import annotations

import argparse
from typing import Any

from skybook import appdata, inbox
from skybook.commands.context import add_options, app_context, positive
from skybook.commands.output import print_json, print_table
from skybook.commands.views import email_text

INBOX_ON_AWS = (
    "on AWS, SES delivers to the recipients' real mailboxes (while the account is in the SES "
    "sandbox, only to verified addresses); 'skybook bookings --aws' shows which were sent"
)


def cmd_flights(args: argparse.Namespace) -> int:
    ctx = app_context(args)
    flights = [
        f
        for f in appdata.flights(ctx.outputs, ctx.target)
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
    found = appdata.bookings(ctx.outputs, ctx.target, destination=args.to, date=args.date)
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
    ctx = app_context(args, sandbox_only=("the inbox", INBOX_ON_AWS))
    endpoint = str(ctx.endpoint)
    emails = inbox.fetch_emails(endpoint, to=args.to, region=ctx.region)
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
        print(email_text(email, html=args.html))
    return 0


def register(sub: Any) -> None:
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
    mail.add_argument("--limit", type=positive, metavar="N", help="only the newest N")
    add_options(mail)
    mail.set_defaults(func=cmd_inbox)
