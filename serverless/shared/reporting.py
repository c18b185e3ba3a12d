"""How closed records are logged and counted, the same way whichever function closed them."""

from __future__ import annotations

from serverless.domain.model import Outcome, StopAction, TaskRecord
from serverless.observability import Metric, count, logger, observe_seconds, record_keys

__all__ = ["STOPPED_BY_METRICS", "report_closed"]

#: The count of confirmed early stops by the step that stopped the task.
STOPPED_BY_METRICS = {
    StopAction.STOP_TASK: Metric.STOPPED_BY_STOP_TASK,
    StopAction.EXEC: Metric.STOPPED_BY_EXEC,
    StopAction.SSM_SIGNAL: Metric.STOPPED_BY_SSM_SIGNAL,
}


def report_closed(record: TaskRecord, why: str | None = None) -> None:
    """Log and count a record that has just been closed (``why``: a drain that is not
    shortened, the reason it is left to ECS)."""
    extra: dict[str, object] = {
        **record_keys(record),
        "outcome": str(record.outcome),
        "observed_status": record.observed_status,
        "stopped_reason": record.stopped_reason,
        "stop_cause": record.cause,
    }
    if record.actions:
        extra["actions"] = [f"{a.action}:{a.outcome}" for a in record.actions]
    if record.outcome is Outcome.NOT_SHORTENED:
        count(Metric.CLOSED_WITHOUT_STOP)
        count(Metric.DRAINS_NOT_SHORTENED)
        logger.info("drain left to ECS: not shortened", extra={**extra, "why": why})
        return
    if record.outcome is Outcome.UNCONFIRMED:
        count(Metric.STOPS_UNCONFIRMED)
        logger.error(
            "early stop had no effect: the task kept draining after our last stop step",
            extra={**extra, "confirmation_seconds": record.confirmation_seconds},
        )
        return
    if record.outcome is Outcome.STOPPED_BY_TERMINATOR and record.last_stop_at is not None:
        count(Metric.STOPS_CONFIRMED)
        stopped_by = record.stopped_by
        if stopped_by is not None:
            count(STOPPED_BY_METRICS[stopped_by])
        if record.confirmation_seconds is not None:
            observe_seconds(Metric.STOP_CONFIRMATION, record.confirmation_seconds)
        logger.info(
            "early stop confirmed",
            extra={
                **extra,
                "seconds": record.confirmation_seconds,
                "stopped_by": str(stopped_by) if stopped_by else None,
            },
        )
        return
    if record.outcome is not Outcome.STOPPED_BY_TERMINATOR:
        count(Metric.CLOSED_WITHOUT_STOP)
    logger.info("task record closed", extra=extra)
