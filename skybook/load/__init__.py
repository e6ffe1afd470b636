"""Load run of the booking flow: N bookings at concurrency C, then the books are audited.

Seeds its own flights (unique dates, conditional puts, so runs never share a flight), sends
bookings with a unique email each through the HTTP API, waits (polling, with one global
deadline) until every accepted booking is stored and notified, and then checks what must
hold under any load: no overbooking, one email per outcome, no 5xx, no lost event. Prints a
JSON report. Timing numbers are reported, never asserted: they depend on the machine
(the report says how busy it was). Throughput counts requests answered per second of
sending, and completed bookings (stored and emailed, confirmed or rejected) per second from
the first request to the last email; booking-to-email latency runs from a request leaving
to the booking's ``notificationSentAt``.

Usage: ``./scripts/load`` (own sandbox on a free port) or ``./scripts/load --endpoint URL``
(a running sandbox; ``--stack-name`` if not ``skybook``). Only loopback is a target.

The parts, in the order a run uses them: :mod:`~skybook.load.target` (what is loaded, and
the loopback guard), :mod:`~skybook.load.plan` (flights and requests), :mod:`~skybook.load.driver`
(seeding and sending), :mod:`~skybook.load.books` (reading back what the app stored and
mailed), :mod:`~skybook.load.audit` (the invariants), :mod:`~skybook.load.report` (the JSON),
:mod:`~skybook.load.cpu` (how busy the machine was); :mod:`~skybook.load.run` puts them
together and ``__main__`` is the command line.
"""
