"""Writes of a claimed record's next state: a failure stays with its record.

The sweeper's workers release, defer and close the records they hold through
:class:`RecordWriter`; a conflicting or failed write never escapes to the run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from serverless.clock import Clock
from serverless.errors import AwsUnavailableError, ConflictError, DrainTerminatorError
from serverless.model import Outcome, TaskRecord, TaskState
from serverless.observability import Metric, count, logger
from serverless.policy import close_record, released
from serverless.ports import LedgerPort
from serverless.reporting import report_closed
from serverless.settings import Settings

if TYPE_CHECKING:
    from serverless.sweeper import SweepReport

__all__ = [
    "LOOKUP_RETRY_SECONDS",
    "TRANSIENT_LOOKUP_RETRY_SECONDS",
    "RecordWriter",
    "log_keys",
]

#: A record whose lookup failed (DescribeTasks, DescribeServices, target health, stagger
#: slot) is looked at again this much later: soon when AWS was only unavailable
#: (throttling, 5xx, time-outs that outlived botocore's retries), later when it refused.
TRANSIENT_LOOKUP_RETRY_SECONDS = 5.0
LOOKUP_RETRY_SECONDS = 15.0


def log_keys(record: TaskRecord) -> dict[str, object]:
    """The log keys of one record (workers run side by side: keys go on each line)."""
    return {"task_arn": record.task_arn, "ecs_service": record.service_name}


class RecordWriter:
    """Writes over records a run has claimed, counting and logging what it could not write."""

    def __init__(
        self, ledger: LedgerPort, settings: Settings, clock: Clock, report: SweepReport
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._clock = clock
        self._report = report

    def lookup_failed(self, record: TaskRecord, what: str, error: DrainTerminatorError) -> None:
        """Defer ``record`` after a failed lookup (counted in ``LookupsFailed``, ERROR log)."""
        retry = (
            TRANSIENT_LOOKUP_RETRY_SECONDS
            if isinstance(error, AwsUnavailableError)
            else LOOKUP_RETRY_SECONDS
        )
        count(Metric.LOOKUPS_FAILED)
        self._report.add("lookup_failed", record.task_arn)
        logger.error(
            f"{what} failed; stop deferred",
            extra={**log_keys(record), "error": str(error), "retry_in": retry},
        )
        self.write(record, released(record, self._clock.now() + retry))

    def close(
        self,
        record: TaskRecord,
        outcome: Outcome,
        now: float,
        *,
        seen: TaskState | None = None,
        attempts: int | None = None,
    ) -> None:
        """Close ``record`` with ``outcome``."""
        retention = self._settings.record_retention_seconds
        closed = close_record(record, outcome, now, retention, seen=seen, attempts=attempts)
        self.write_closed(record, closed)

    def write_closed(self, record: TaskRecord, closed: TaskRecord) -> None:
        """Write the closed form of ``record``, then log and count it."""
        if self.write(record, closed):
            self._report.add("closed", record.task_arn)
            report_closed(closed)

    def write(self, record: TaskRecord, new: TaskRecord) -> bool:
        """Write ``new`` over the claimed ``record``; False when it could not be written."""
        try:
            self._ledger.put(new, expected_rev=record.rev)
        except ConflictError:
            # Only a STOPPED event can have changed a record we hold: it is closed already.
            self._report.conflict()
            return False
        except DrainTerminatorError as error:
            # The lease expires by itself; a later run picks the record up again.
            logger.warning(
                "could not write the record; its lease expires by itself",
                extra={**log_keys(record), "error": str(error)},
            )
            return False
        return True
