"""Lambda function register_booking: the handler is app.handler (this file only lets type checkers
tell the four app.py modules apart; Lambda ignores it)."""
