"""What a run sends: new flights with a known number of seats, and the bookings for them.

Demand is set above capacity, so the last seats of every flight are raced for and some
accepted requests must be rejected by registerBooking's transaction (not only by the API's
advisory check).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from skybook.contract import Item, booking_request, flight_key

DEFAULT_REQUESTS = 500
DEFAULT_CONCURRENCY = 20
DEFAULT_FLIGHTS = 25
DEFAULT_TIMEOUT = 900.0  # seconds, for the whole run (send + settle)
DEFAULT_OVERSUBSCRIPTION = 1.25  # demand / capacity
SEAT_CHOICES = (1, 2, 3)


@dataclass(frozen=True)
class Flight:
    destination: str
    date: str
    seats: int

    @property
    def key(self) -> Item:
        return flight_key(self.destination, self.date)


@dataclass(frozen=True)
class BookingRequest:
    index: int
    flight: Flight
    seats: int
    email: str

    @property
    def body(self) -> dict[str, Any]:
        return booking_request(self.flight.destination, self.flight.date, self.seats, self.email)


def seats_per_flight(requests: int, flights: int, oversubscription: float) -> int:
    mean_seats = sum(SEAT_CHOICES) / len(SEAT_CHOICES)
    return max(1, math.ceil(requests * mean_seats / flights / oversubscription))


def plan_requests(
    flights: list[Flight], count: int, run_id: str, rng: random.Random
) -> list[BookingRequest]:
    return [
        BookingRequest(i, rng.choice(flights), rng.choice(SEAT_CHOICES), email_for(run_id, i))
        for i in range(count)
    ]


def email_prefix(run_id: str) -> str:
    """What every address of a run starts with: how its bookings are found again."""
    return f"load-{run_id}-"


def email_for(run_id: str, index: int) -> str:
    return f"{email_prefix(run_id)}{index}@example.com"
