"""Errors a person can act on. The CLI prints `message` on one line and exits with `exit_code`."""

from __future__ import annotations

# Exit codes, documented in the README for schedulers.
EXIT_OK = 0
EXIT_FAILURE = 1  # the job ran and failed (bad data, model refused, ...)
EXIT_UNAVAILABLE = 2  # Neo4j unreachable, wrong credentials, missing Java/Maven, bad usage
EXIT_LOCKED = 3  # another run that writes results holds the lock
EXIT_REJECTED = 4  # build-graph loaded what it could, but rejected some input file as a whole


class GraphfraudError(Exception):
    """An expected failure with a one-line explanation for the user."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class DatabaseUnavailable(GraphfraudError):
    """Neo4j did not answer, or refused our credentials."""

    exit_code = EXIT_UNAVAILABLE


class AccessModeError(GraphfraudError):
    """A write was attempted in READ access mode."""

    exit_code = EXIT_UNAVAILABLE


class UsageError(GraphfraudError):
    """The user asked for something that cannot be done as asked (unknown query, bad parameter ...)."""

    exit_code = EXIT_UNAVAILABLE
