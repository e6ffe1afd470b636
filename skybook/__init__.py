"""The user's door: the ``skybook`` CLI that puts the sandbox and the app together."""
