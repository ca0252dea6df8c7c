"""The project's one "user error" class, so callers can tell a user's mistake from a bug."""
from __future__ import annotations


class UserInputError(ValueError):
    """A mistake the user can fix: a bad argument, environment variable, run config value or input file.

    The message must name the bad value (and where it came from) and what is expected. The CLI prints it as one
    line with exit code 2; any other exception keeps its traceback. A ``ValueError`` so that existing
    ``except ValueError`` callers keep working.
    """
