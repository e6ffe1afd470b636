"""Lambda function sync_flights; the handler is app.handler.

This file only lets type checkers tell the four app.py modules apart; Lambda ignores it.
"""
