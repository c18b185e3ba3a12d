"""Domain errors: one base class, so callers can catch everything this package raises."""

from __future__ import annotations

__all__ = [
    "AwsUnavailableError",
    "ConfigError",
    "ConflictError",
    "DrainTerminatorError",
    "InvalidEventError",
    "NotFoundError",
    "PermanentAwsError",
]


class DrainTerminatorError(Exception):
    """Base class of every error raised by ecs-drain-terminator."""


class ConfigError(DrainTerminatorError):
    """The function's configuration (environment variables) is missing or invalid."""


class InvalidEventError(DrainTerminatorError):
    """An incoming event is malformed or not one this tool handles; retrying cannot help."""


class ConflictError(DrainTerminatorError):
    """A conditional write lost a race: the ledger record changed since it was read."""


class NotFoundError(DrainTerminatorError):
    """An AWS resource (service, task, target group) does not exist (any more)."""


class AwsUnavailableError(DrainTerminatorError):
    """A transient AWS failure (throttling, 5xx, timeout) that survived botocore's retries.

    Handlers let it propagate so that Lambda and EventBridge retry the invocation.
    ``throttled``: how many attempts of the call were throttled, where the adapter counts
    them (the signal steps' first calls).
    """

    throttled: int = 0


class PermanentAwsError(DrainTerminatorError):
    """An AWS call failed for a reason a retry cannot fix (access denied, validation)."""
