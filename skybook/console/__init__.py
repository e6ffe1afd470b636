"""The console: one loopback web page that shows the app as a person thinks of it.

Flights and seats left, a booking form, bookings with their status, the inbox with the
rendered email, recent bus events and function logs; the page polls a small JSON API.
"""

from skybook.console.data import ConsoleData
from skybook.console.errors import ConsoleError
from skybook.console.server import DEFAULT_PORT, ConsoleServer, console_port

__all__ = ["DEFAULT_PORT", "ConsoleData", "ConsoleError", "ConsoleServer", "console_port"]
