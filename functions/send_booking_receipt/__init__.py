"""Lambda function send_booking_receipt: the handler is app.handler (this file only lets type checkers
tell the four app.py modules apart; Lambda ignores it)."""
