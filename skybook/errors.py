"""The one error type commands raise for problems the user can fix."""


class CliError(Exception):
    """Printed as one line (``skybook: <message>``), exit status 1."""
