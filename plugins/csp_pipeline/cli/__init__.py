"""The `csp` command line: the top of the package."""


class UsageError(Exception):
    """A bad argument: its message, exit code 2, no traceback."""
