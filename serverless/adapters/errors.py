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

from serverless.domain.errors import (
    AwsUnavailableError,
    ConflictError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)

__all__ = [
    "CLIENT_CONFIG",
    "ECS_CLIENT_CONFIG",
    "RATE_LIMITER_WAIT_MAX_SECONDS",
    "THROTTLE_CODES",
    "THROTTLING_CODES",
    "aws_errors",
    "call_time_bound",
    "client_config",
    "signal_call_config",
    "translate",
]

#: Retries with backoff are botocore's job: "standard" mode retries throttling, 5xx and
#: connection errors with exponential backoff and jitter. Short time-outs and few attempts
#: bound how long one call can take (:func:`call_time_bound`), which the sweeper relies on:
#: it never starts a StopTask unless its lease outlives the longest possible call.
#: ``total_max_attempts`` because botocore rewrites a ``max_attempts`` key in place, which
#: would change these shared objects after the first client.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=1,
    read_timeout=2,
)
#: ECS and Elastic Load Balancing: StopTask's duration bounds the sweeper's lease margin.
ECS_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=3,
)
_CONFIGS = {"ecs": ECS_CLIENT_CONFIG, "elbv2": ECS_CLIENT_CONFIG}
#: The signal steps' first calls, ExecuteCommand (ECS) and SendCommand (SSM): AWS publishes
#: no rate limit for them, so none is assumed as a fact. botocore's ``adaptive`` mode (the
#: standard retries plus a client-side rate limiter that, once throttled, paces the client
#: to the rate the service accepted and probes upwards) measures it; the sweeper's token
#: bucket per action (serverless/shared/pacing.py, a setting) caps the account's rate.
_SIGNAL_CONFIGS = {
    "ecs": Config(
        retries={"mode": "adaptive", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3
    ),
    "ssm": Config(
        retries={"mode": "adaptive", "total_max_attempts": 5}, connect_timeout=1, read_timeout=2
    ),
}
#: The longest the adaptive rate limiter may hold one attempt before it is sent; held
#: longer, the attempt fails unsent (:class:`serverless.adapters.clients.LazyClient`), so
#: :func:`call_time_bound` still bounds the call.
RATE_LIMITER_WAIT_MAX_SECONDS = 2.0
#: botocore's standard mode waits at most rand(0, 1) * min(2 ** i, 20) s before retry i + 1.
_MAX_BACKOFF_SECONDS = 20.0


def client_config(service: str) -> Config:
    """The client configuration the functions use for ``service`` (e.g. ``"ecs"``)."""
    return _CONFIGS.get(service, CLIENT_CONFIG)


def signal_call_config(service: str) -> Config:
    """The configuration of the client that sends a signal step's first call (``"ecs"``:
    ExecuteCommand, ``"ssm"``: SendCommand): adaptive retries, the same time-outs."""
    return _SIGNAL_CONFIGS[service]


def call_time_bound(config: Config) -> float:
    """The longest one call can take with ``config``: every attempt timing out, plus backoff
    (and, in adaptive mode, each attempt held by the rate limiter as long as it may be)."""
    attempts = int(config.retries["total_max_attempts"])
    per_attempt = float(config.connect_timeout) + float(config.read_timeout)
    if config.retries.get("mode") == "adaptive":
        per_attempt += RATE_LIMITER_WAIT_MAX_SECONDS
    backoff = sum(min(2.0**retry, _MAX_BACKOFF_SECONDS) for retry in range(attempts - 1))
    return attempts * per_attempt + backoff


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
#: The codes of a throttled call (the rest of THROTTLING_CODES are 5xx and time-outs).
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
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
    turns ``ClientError``/``BotoCoreError`` into :mod:`serverless.domain.errors`.
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error, action) from error
