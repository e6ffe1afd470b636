"""The user's door: the ``skybook`` CLI (up, down, status, ...) that puts sandbox and app together."""
