"""How closed records are logged and counted, the same way whichever function closed them."""

from __future__ import annotations

from serverless.domain.model import Outcome, TaskRecord
from serverless.observability import Metric, count, logger, observe_seconds, record_keys

__all__ = ["report_closed"]


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
    if record.outcome is Outcome.NOT_SHORTENED:
        count(Metric.CLOSED_WITHOUT_STOP)
        count(Metric.DRAINS_NOT_SHORTENED)
        logger.info("drain left to ECS: not shortened", extra={**extra, "why": why})
        return
    if record.outcome is Outcome.UNCONFIRMED:
        count(Metric.STOPS_UNCONFIRMED)
        logger.error(
            "early stop had no effect: the task kept draining after our StopTask",
            extra={**extra, "confirmation_seconds": record.confirmation_seconds},
        )
        return
    if record.outcome is Outcome.STOPPED_BY_TERMINATOR and record.stop_requested_at is not None:
        count(Metric.STOPS_CONFIRMED)
        if record.confirmation_seconds is not None:
            observe_seconds(Metric.STOP_CONFIRMATION, record.confirmation_seconds)
        logger.info("early stop confirmed", extra={**extra, "seconds": record.confirmation_seconds})
        return
    if record.outcome is not Outcome.STOPPED_BY_TERMINATOR:
        count(Metric.CLOSED_WITHOUT_STOP)
    logger.info("task record closed", extra=extra)
