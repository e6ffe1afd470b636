"""The embedded LocalStack sandbox: setup, start/stop, and the `process` Lambda executor.

Knows LocalStack, never the booking app: any other stack runs on it just as well.
"""
