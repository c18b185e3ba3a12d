"""Powertools Logger, Metrics and Tracer shared by the whole package, and metric names."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from serverless.domain.accounts import scope_of
from serverless.domain.model import TaskRecord

__all__ = [
    "DEFAULT_NAMESPACE",
    "SERVICE_NAME",
    "Metric",
    "account_of",
    "count",
    "count_cause",
    "count_for_account",
    "log_keys",
    "logger",
    "metrics",
    "observe_seconds",
    "record_keys",
    "tracer",
]

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME") or "ecs-drain-terminator"
DEFAULT_NAMESPACE = "EcsDrainTerminator"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(
    service=SERVICE_NAME,
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
)

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


class _NoTracer:
    """Stands in for Powertools' Tracer when tracing is off.

    ``Tracer(disabled=True)`` still imports the X-Ray SDK and creates its sampling client
    (about 0.1 s of CPU at every cold start); with tracing off there is nothing to capture.
    """

    def capture_lambda_handler(self, handler: _Handler) -> _Handler:
        """Return ``handler`` unchanged."""
        return handler


def _tracing_disabled() -> bool:
    # Powertools' own switch (the Terraform module sets it from var.tracing_enabled).
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in {"1", "true"}


class _HandlerTracer(Protocol):
    def capture_lambda_handler(self, handler: _Handler) -> _Handler: ...


# What the handlers use of a tracer: a decorator that keeps the handler's type.
tracer: _HandlerTracer = (
    _NoTracer() if _tracing_disabled() else cast(_HandlerTracer, Tracer(service=SERVICE_NAME))
)


class Metric:
    """Metric names (documented in the README; Terraform alarms on some of them)."""

    DRAINS_TRACKED = "DrainsTracked"
    TASKS_STOPPED = "TasksStopped"
    STOP_LATENESS = "StopLatenessSeconds"
    EVENTS_REJECTED = "EventsRejected"
    STOPS_FAILED = "StopsFailed"
    CLOSED_WITHOUT_STOP = "TasksClosedWithoutStop"
    STOPS_DEFERRED = "StopsDeferred"
    DRY_RUN_STOPS = "DryRunStops"
    STOPS_CONFIRMED = "StopsConfirmed"
    STOP_CONFIRMATION = "StopConfirmationSeconds"
    STOPS_UNCONFIRMED = "StopsUnconfirmed"
    LOOKUPS_FAILED = "LookupsFailed"
    #: Every drain recorded (or closed at once), with the dimension ``Cause``.
    DRAINS_BY_CAUSE = "DrainsByCause"
    #: Drains closed at once because their cause leaves nothing to shorten (Spot
    #: interruptions, services without a load balancer, unhealthy tasks tagged ``leave``).
    DRAINS_NOT_SHORTENED = "DrainsNotShortened"
    #: Drains no event reported, found by the backstop (counted with ``DrainsByCause`` too).
    DRAINS_FOUND_BY_BACKSTOP = "DrainsFoundByBackstop"
    #: Opted-in services the backstop could not look at in time in a run.
    BACKSTOP_SERVICES_SKIPPED = "BackstopServicesSkipped"
    # Stop actions: each step delivered or failed, escalations, what stopped the task.
    STOP_TASKS_SENT = "StopTasksSent"
    EXEC_SIGNALS_SENT = "ExecSignalsSent"
    SSM_SIGNALS_SENT = "SsmSignalsSent"
    EXECS_FAILED = "ExecsFailed"
    SSM_SIGNALS_FAILED = "SsmSignalsFailed"
    STOP_PREREQUISITES_MISSING = "StopPrerequisitesMissing"
    STOP_ESCALATIONS = "StopEscalations"
    STOPPED_BY_STOP_TASK = "StoppedByStopTask"
    STOPPED_BY_EXEC = "StoppedByExec"
    STOPPED_BY_SSM_SIGNAL = "StoppedBySsmSignal"
    #: Attempts of ExecuteCommand and SendCommand that AWS throttled (retried by botocore,
    #: whose adaptive mode then slows the client): their limits are not published, so
    #: this measures whether the assumed pace (EXEC_CALLS_PER_SECOND,
    #: SSM_COMMANDS_PER_SECOND) is too fast.
    SIGNAL_CALLS_THROTTLED = "SignalCallsThrottled"


def count(name: str, value: int = 1) -> None:
    """Add ``value`` to a count metric."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


#: The dimension of :attr:`Metric.DRAINS_BY_CAUSE`.
CAUSE_DIMENSION = "Cause"


def count_cause(cause: str) -> None:
    """Count one drain under its stop cause (``DrainsByCause``, dimension ``Cause``).

    A metric of its own (Powertools' single_metric): the function's other metrics keep
    their dimensions, this one adds the cause.
    """
    with single_metric(
        name=Metric.DRAINS_BY_CAUSE,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        metric.add_dimension(name=CAUSE_DIMENSION, value=str(cause))


def count_for_account(name: str, account: str, value: int = 1) -> None:
    """Add ``value`` to a count metric, and to its series for ``account`` (dimensions
    ``service`` and ``account``; the series without the account keeps its alarms)."""
    count(name, value)
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric:
        metric.add_dimension(name="account", value=account)


def account_of(arn: str) -> str:
    """The account an ARN names ("" when it names none)."""
    try:
        return scope_of(arn).account
    except ValueError:
        return ""


def observe_seconds(name: str, value: float) -> None:
    """Record a duration in seconds."""
    metrics.add_metric(name=name, unit=MetricUnit.Seconds, value=round(value, 3))


@contextmanager
def log_keys(**keys: object) -> Iterator[None]:
    """Add structured keys (e.g. task_arn, ecs_service) to every log line inside the block."""
    present = {k: v for k, v in keys.items() if v is not None}
    logger.append_keys(**present)
    try:
        yield
    finally:
        logger.remove_keys(list(present))


def record_keys(record: TaskRecord) -> dict[str, object]:
    """The log keys of one record, for ``extra=`` (a run's workers share the logger, so the
    keys go on each line rather than through :func:`log_keys`)."""
    return {
        "task_arn": record.task_arn,
        "ecs_service": record.service_name,
        "account": account_of(record.task_arn),
    }
