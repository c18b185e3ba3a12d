"""Writes of a claimed record's next state: a failure stays with its record.

The sweeper's workers release, defer and close the records they hold through
:class:`RecordWriter`; a conflicting or failed write never escapes to the run.
"""

from __future__ import annotations

import threading

from serverless.domain.clock import Clock
from serverless.domain.errors import AwsUnavailableError, ConflictError, DrainTerminatorError
from serverless.domain.lifecycle import close_record, released
from serverless.domain.model import Outcome, TaskRecord, TaskState
from serverless.observability import Metric, account_of, count_for_account, logger, record_keys
from serverless.ports import LedgerPort
from serverless.settings import Settings
from serverless.shared.reporting import report_closed
from serverless.sweep.report import SweepReport
from serverless.sweep.timing import LOOKUP_RETRY_SECONDS, TRANSIENT_LOOKUP_RETRY_SECONDS

__all__ = ["RecordWriter"]


class RecordWriter:
    """Writes over records a run has claimed, counting and logging what it could not write."""

    def __init__(
        self, ledger: LedgerPort, settings: Settings, clock: Clock, report: SweepReport
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._clock = clock
        self._report = report
        self._lock = threading.Lock()
        #: Each record's state as last written by this writer (the run's view of it).
        self._written: dict[str, TaskRecord] = {}

    def lookup_failed(self, record: TaskRecord, what: str, error: DrainTerminatorError) -> None:
        """Defer ``record`` after a failed lookup (counted in ``LookupsFailed``, ERROR log)."""
        retry = (
            TRANSIENT_LOOKUP_RETRY_SECONDS
            if isinstance(error, AwsUnavailableError)
            else LOOKUP_RETRY_SECONDS
        )
        count_for_account(Metric.LOOKUPS_FAILED, account_of(record.task_arn))
        self._report.add("lookup_failed", record.task_arn)
        logger.error(
            f"{what} failed; stop deferred",
            extra={**record_keys(record), "error": str(error), "retry_in": retry},
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
        return self.put(record, new) is not None

    def put(self, record: TaskRecord, new: TaskRecord) -> TaskRecord | None:
        """Write ``new`` over the claimed ``record``: the record as written (its new
        ``rev``), or None when it could not be written."""
        self.forget(record.task_arn)  # until this write lands, the run does not know
        try:
            written = self._ledger.put(new, expected_rev=record.rev)
        except ConflictError:
            # Only a STOPPED event can have changed a record we hold: it is closed already.
            self._report.conflict()
            return None
        except DrainTerminatorError as error:
            # The lease expires by itself; a later run picks the record up again.
            logger.warning(
                "could not write the record; its lease expires by itself",
                extra={**record_keys(record), "error": str(error)},
            )
            return None
        with self._lock:
            self._written[written.task_arn] = written
        return written

    def last_written(self, task_arn: str) -> TaskRecord | None:
        """The state this writer last wrote for ``task_arn`` (None: none written)."""
        with self._lock:
            return self._written.get(task_arn)

    def forget(self, task_arn: str) -> None:
        """Drop what was written for ``task_arn`` (the record was claimed anew)."""
        with self._lock:
            self._written.pop(task_arn, None)
