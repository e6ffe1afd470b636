"""syncFlights: the daily schedule that makes flights exist (input ignored).

Creates a flight for every destination and every UTC date from today to
today + DAYS_AHEAD, with SEATS_PER_FLIGHT seats. Unlike the tutorial it never overwrites:
each put is conditional on the item not existing, so a re-run cannot hand back seats that
were already booked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from common import aws, clock, store
from common.invocation import Invocation, lambda_handler
from common.validation import DESTINATIONS


@lambda_handler
def handler(call: Invocation) -> dict[str, Any]:
    cfg = call.config
    table = cfg.need("table_name")
    client = aws.client("dynamodb")
    now = clock.now()
    today = now.date()
    created = existing = 0
    for offset in range(cfg.days_ahead + 1):
        flight_date = (today + timedelta(days=offset)).isoformat()
        for destination in DESTINATIONS:
            try:
                client.put_item(
                    TableName=table,
                    Item=store.flight_item(
                        destination, flight_date, cfg.seats_per_flight, clock.iso(now)
                    ),
                    ConditionExpression="attribute_not_exists(PK)",
                )
                created += 1
            except client.exceptions.ConditionalCheckFailedException:
                existing += 1
    summary = {"created": created, "existing": existing}
    call.log.info(
        "flights synced",
        **summary,
        fromDate=today.isoformat(),
        days=cfg.days_ahead + 1,
        seatsPerFlight=cfg.seats_per_flight,
    )
    return summary
