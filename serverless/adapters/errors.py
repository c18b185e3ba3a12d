"""Translate botocore failures into domain errors (``raise ... from`` keeps the cause)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)

from serverless.errors import (
    AwsUnavailableError,
    ConflictError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)

__all__ = ["CLIENT_CONFIG", "THROTTLING_CODES", "aws_errors", "translate"]

#: Retries with backoff are botocore's job: "standard" mode retries throttling, 5xx and
#: connection errors with exponential backoff and jitter; the time-outs keep one call short.
#: ``total_max_attempts`` (5 attempts in all) because botocore rewrites a ``max_attempts``
#: key in place, which would change this shared object after the first client.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
)

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "LimitExceededException",
        "ServerException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        # botocore's own transient codes (standard retry mode)
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
_NOT_FOUND_CODES = frozenset(
    {"ServiceNotFoundException", "ClusterNotFoundException", "TargetGroupNotFound"}
)


def translate(error: Exception, action: str) -> DrainTerminatorError:
    """The domain error for a failed AWS call; callers ``raise translate(e, ...) from e``."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        text = f"{action}: {code}: {message}"
        if code == "ConditionalCheckFailedException":
            return ConflictError(text)
        if code in THROTTLING_CODES or (
            isinstance(status, int) and (status >= 500 or status == 429)
        ):
            return AwsUnavailableError(text)
        if code in _NOT_FOUND_CODES or "not found" in message.lower():
            return NotFoundError(text)
        return PermanentAwsError(text)
    if isinstance(
        error,
        (
            ConnectionError,
            ConnectTimeoutError,
            EndpointConnectionError,
            HTTPClientError,
            ReadTimeoutError,
        ),
    ):
        return AwsUnavailableError(f"{action}: {error}")
    if isinstance(error, BotoCoreError):
        return PermanentAwsError(f"{action}: {error}")
    raise TypeError(f"not an AWS error: {error!r}")


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Raise the domain error of any botocore failure inside the block (cause kept).

    ``with aws_errors("StopTask"): client.stop_task(...)`` is the one place an adapter
    turns ``ClientError``/``BotoCoreError`` into :mod:`serverless.errors`.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error, action) from error
