"""The invariants a run must keep under any load, checked against what the app stored and
mailed: pure (no I/O), so each check is shown to bite on made-up books in the unit tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from skybook import sesmail
from skybook.contract import CONFIRMED, RECEIPT_TEMPLATE, REJECTED, REJECTION_TEMPLATE
from skybook.load.driver import Outcome
from skybook.load.plan import Flight


def audit(
    outcomes: list[Outcome],
    flights: list[Flight],
    seats_after: Mapping[Flight, int | None],
    stored: list[dict[str, Any]],
    mail: list[dict[str, Any]],
    settled: bool,
) -> dict[str, dict[str, Any]]:
    """The invariants, each ``{"pass": bool, ...details}``; details list a few offenders."""
    by_email: dict[str, Counter[str]] = {}
    for message in mail:
        for to in sesmail.recipients(message):
            by_email.setdefault(to, Counter())[str(message.get("Template"))] += 1
    accepted = {o.booking_id: o for o in outcomes if o.booking_id}
    stored_ids = {b["bookingId"] for b in stored}

    failed_requests = [o for o in outcomes if o.status is None or o.status >= 500]
    checks: dict[str, dict[str, Any]] = {
        "no_5xx_or_transport_error": {
            "pass": not failed_requests,
            "count": len(failed_requests),
            "examples": [
                {"status": o.status, "error": o.error, "body": o.body} for o in failed_requests[:5]
            ],
        }
    }

    confirmed_seats: Counter[tuple[str, str]] = Counter()
    for booking in stored:
        if booking.get("status") == CONFIRMED:
            confirmed_seats[(booking["destination"], booking["flightDate"])] += int(
                booking["numberOfSeats"]
            )
    bad_flights = []
    for flight in flights:
        sold = confirmed_seats[(flight.destination, flight.date)]
        left = seats_after.get(flight)
        if left is None or sold > flight.seats or left < 0 or left != flight.seats - sold:
            bad_flights.append(
                {"flight": f"{flight.destination} {flight.date}", "initial": flight.seats}
                | {"confirmedSeats": sold, "availableSeats": left}
            )
    checks["no_overbooking"] = {
        "pass": not bad_flights,
        "flights": len(flights),
        "seatsSold": sum(confirmed_seats.values()),
        "capacity": sum(f.seats for f in flights),
        "offenders": bad_flights[:5],
    }

    missing = sorted(set(accepted) - stored_ids)
    unexpected = sorted(stored_ids - set(accepted))
    checks["no_lost_events"] = {
        "pass": not missing and not unexpected and len(stored) == len(accepted),
        "accepted": len(accepted),
        "stored": len(stored),
        "missing": missing[:5],
        "unexpected": unexpected[:5],
    }

    def mail_check(status: str, template: str) -> dict[str, Any]:
        wrong = []
        group = [b for b in stored if b.get("status") == status]
        for booking in group:
            counts = by_email.get(booking["bookerEmail"], Counter())
            if counts[template] != 1 or sum(counts.values()) != 1:
                wrong.append({"bookingId": booking["bookingId"], "mail": dict(counts)})
        return {"pass": not wrong, "bookings": len(group), "offenders": wrong[:5]}

    checks["one_receipt_per_confirmed"] = mail_check(CONFIRMED, RECEIPT_TEMPLATE)
    checks["one_notice_per_rejected"] = mail_check(REJECTED, REJECTION_TEMPLATE)
    refused_mailed = [
        o.request.email for o in outcomes if not o.booking_id and o.request.email in by_email
    ]
    checks["no_mail_for_refused_requests"] = {
        "pass": not refused_mailed,
        "refused": sum(1 for o in outcomes if not o.booking_id),
        "offenders": refused_mailed[:5],
    }
    checks["settled_before_deadline"] = {"pass": settled}
    return checks
