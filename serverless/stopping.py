"""One batch of due records: claim, re-check, decide, stop — each record on its own.

Everything a StopTask is decided on is current when it is sent: the record was claimed
moments before (a lease that outlives the longest possible StopTask call), the task's state
was read at most :data:`TASK_STATE_MAX_AGE_SECONDS` before (described again when the checks
took longer), and the service's tags, desired count and health are at most
``DECISION_MAX_AGE_SECONDS`` old. A failure of one lookup defers only the records that
needed it (counted in ``LookupsFailed``, logged at ERROR with the service); the others go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from serverless.clock import Clock
from serverless.errors import (
    AwsUnavailableError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.guards import Guards
from serverless.model import DueEntry, Outcome, RecordStatus, TaskRecord, TaskState
from serverless.observability import Metric, count, logger, observe_seconds
from serverless.pacing import (
    DESCRIBE_SERVICES,
    DESCRIBE_TASKS,
    ECS_CALL_MAX_SECONDS,
    ELB_DESCRIBE,
    LEDGER_CALL_MAX_SECONDS,
    STOP_TASK,
    Pacer,
)
from serverless.policy import (
    close_record,
    on_stopped_event,
    outcome_for_observed,
    released,
    stop_reason,
    stop_requested,
    wait_raised,
)
from serverless.ports import Ports
from serverless.record_writes import (
    LOOKUP_RETRY_SECONDS,
    TRANSIENT_LOOKUP_RETRY_SECONDS,
    RecordWriter,
    log_keys,
)
from serverless.services import ServiceDirectory, ServiceView
from serverless.settings import Settings

if TYPE_CHECKING:
    from serverless.sweeper import SweepReport

__all__ = [
    "CLAIM_BATCH",
    "LEASE_MARGIN_SECONDS",
    "LOOKUP_RETRY_SECONDS",
    "MAX_STOP_ATTEMPTS",
    "STOP_RETRY_SECONDS",
    "TASK_STATE_MAX_AGE_SECONDS",
    "TRANSIENT_LOOKUP_RETRY_SECONDS",
    "TRANSIENT_RETRY_SECONDS",
    "WORKERS",
    "BatchWorker",
]

#: Records claimed together, right before they are checked and stopped.
CLAIM_BATCH = 10
#: Batches worked on at once: enough to keep StopTask at its account rate (40/s) when a
#: batch of ten takes up to half a second per stop. Throttling and 5xx make botocore back
#: off: under the chaos suite's faults a batch took that long, and with 8 workers a run
#: stopped about 6 tasks a second, too few to clear a 1,000-drain burst in time.
WORKERS = 16

#: A StopTask is sent only while the run's lease has at least this long left: the longest
#: possible call plus a second of clock difference between invocations. Another run can
#: therefore never claim the record while our StopTask may still be in flight.
LEASE_MARGIN_SECONDS = ECS_CALL_MAX_SECONDS + 1.0
#: A StopTask is first sent at most this long after the DescribeTasks that showed the task
#: draining was sent (or ``DECISION_MAX_AGE_SECONDS``, if lower); when the checks between
#: the two took longer (guards' reads, retries), the task is described again. ECS may still
#: begin stopping the task itself inside this window; the StopTask is then a no-op.
TASK_STATE_MAX_AGE_SECONDS = 2.0
#: A permanently failing StopTask is retried this often before the record is given up.
MAX_STOP_ATTEMPTS = 5
STOP_RETRY_SECONDS = 30.0
#: A claim or StopTask is started only with time for it and the write after it.
_UNIT_SECONDS = LEDGER_CALL_MAX_SECONDS + ECS_CALL_MAX_SECONDS
#: After a StopTask that stayed unavailable through botocore's retries, look again this late.
TRANSIENT_RETRY_SECONDS = 1.0


class BatchWorker:
    """Works on batches of due records for one sweeper run (safe to run concurrently)."""

    def __init__(
        self,
        ports: Ports,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
        run_id: str,
        pacer: Pacer,
        report: SweepReport,
        time_left: Callable[[], float],
    ) -> None:
        self._ports = ports
        self._ledger = ports.ledger
        self._ecs = ports.ecs
        self._services = services
        self._settings = settings
        self._clock = clock
        self._run_id = run_id
        self._pacer = pacer
        self._report = report
        self._time_left = time_left
        self._writes = RecordWriter(ports.ledger, settings, clock, report)
        self._guards = Guards(
            ports.ledger, ports.health, clock, lambda: pacer.acquire(ELB_DESCRIBE)
        )

    def process(self, ready: Sequence[DueEntry]) -> int:
        """Work on ``ready`` in batches of :data:`CLAIM_BATCH`, :data:`WORKERS` at once;
        returns how many records were claimed."""
        batches = [list(ready[i : i + CLAIM_BATCH]) for i in range(0, len(ready), CLAIM_BATCH)]
        return sum(self._ports.concurrency.map(self._batch, batches, WORKERS))

    # -- one batch ------------------------------------------------------------------------

    def _batch(self, entries: list[DueEntry]) -> int:
        if self._time_left() < _UNIT_SECONDS:
            return 0
        mine: list[TaskRecord] = []
        for entry in entries:
            if self._time_left() < _UNIT_SECONDS:
                break
            now = self._clock.now()
            try:
                record = self._ledger.claim(
                    entry.task_arn, self._run_id, now, now + self._settings.lease_seconds
                )
            except DrainTerminatorError as error:
                logger.warning(
                    "claim failed", extra={"task_arn": entry.task_arn, "error": str(error)}
                )
                continue
            if record is None:
                self._report.conflict()
            else:
                mine.append(record)
        # StopTask tokens for the drains this run now holds, before their tasks are described
        # (the stops then follow the checks without a pause). Taken after the claims: tokens
        # taken for records another run claimed first would be spent on nothing, and the
        # shared bucket would then pace the account's stops at a fraction of its rate.
        drains = [record for record in mine if record.status is RecordStatus.DRAINING]
        work = mine
        try:
            self._pacer.acquire(STOP_TASK, len(drains))
        except DrainTerminatorError as error:
            # No StopTask without tokens: the drains go back for a look in a few seconds
            # (left to their leases, two such failures in a row once cost a drain its
            # stop); confirmations need no token and go on.
            for record in drains:
                self._writes.lookup_failed(record, "StopTask tokens", error)
            work = [record for record in mine if record.status is not RecordStatus.DRAINING]
        by_cluster: dict[str, list[TaskRecord]] = defaultdict(list)
        for record in work:
            by_cluster[record.cluster_arn].append(record)
        for cluster, records in by_cluster.items():
            self._cluster(cluster, records)
        return len(mine)

    def _cluster(self, cluster: str, records: list[TaskRecord]) -> None:
        if self._time_left() < ECS_CALL_MAX_SECONDS:
            return  # the leases expire; a later run takes the records over
        try:
            states, described_at = self._describe(cluster, [r.task_arn for r in records])
        except DrainTerminatorError as error:
            for record in records:
                self._writes.lookup_failed(record, "DescribeTasks", error)
            return
        names = [
            r.service_name
            for r in records
            if r.status is RecordStatus.DRAINING
            and (state := states.get(r.task_arn)) is not None
            and state.draining
        ]
        # Views at most half the bound old: the other half is for working the batch, so the
        # tags are still within the bound at its last StopTask.
        views = self._services.fresh(
            cluster,
            names,
            self._settings.decision_max_age_seconds / 2,
            lambda: self._pacer.acquire(DESCRIBE_SERVICES),
        )
        for record in records:
            self._decide(
                record, states.get(record.task_arn), views.get(record.service_name), described_at
            )

    # -- one record -----------------------------------------------------------------------

    def _decide(
        self,
        record: TaskRecord,
        state: TaskState | None,
        view: ServiceView | DrainTerminatorError | None,
        described_at: float,
    ) -> None:
        if record.status is RecordStatus.STOP_REQUESTED:
            self._confirm(record, state)
            return
        now = self._clock.now()
        if self._closed_unless_draining(record, state, now):
            return
        if not isinstance(view, ServiceView):
            error = view or NotFoundError("service not looked up")
            self._writes.lookup_failed(record, "DescribeServices", error)
            return
        policy = view.policy
        if not policy.enabled:
            self._writes.close(record, Outcome.OPTED_OUT, now, seen=state)
            return
        if policy.wait_seconds > record.wait_seconds:
            # The effective wait is the larger of the recorded and the current one.
            longer = wait_raised(record, policy.wait_seconds)
            if longer.due_at > now:
                logger.info(
                    "wait raised during the drain; stop postponed",
                    extra={**log_keys(record), "wait_seconds": policy.wait_seconds},
                )
                self._writes.write(record, released(longer, longer.due_at))
                return
            record = longer
        try:
            deferral = self._guards.min_healthy(policy, view.info, now) or self._guards.stagger(
                record, policy, now
            )
        except DrainTerminatorError as error:
            self._writes.lookup_failed(record, "guard", error)
            return
        if deferral is not None:
            count(Metric.STOPS_DEFERRED)
            self._report.add("deferred", record.task_arn)
            logger.info(
                "early stop deferred",
                extra={**log_keys(record), "until": deferral.until, "why": deferral.reason},
            )
            self._writes.write(
                record, released(record, deferral.until, deferred_because=deferral.reason)
            )
            return
        if self._settings.dry_run or policy.dry_run:
            count(Metric.DRY_RUN_STOPS)
            logger.info(
                "dry run: would have stopped the task now",
                extra={**log_keys(record), "would_stop_at": now, "deadline": record.deadline},
            )
            self._report.add("dry_run", record.task_arn)
            self._guards.settle(record, now, now)
            self._writes.close(record, Outcome.DRY_RUN, now, seen=state)
            return
        now = self._clock.now()
        if now - described_at > self._state_max_age():
            # The checks took a while (guard reads, retries): read the task's state again,
            # so that the StopTask follows a current one.
            fresh = self._describe_again(record)
            now = self._clock.now()
            if fresh is None or self._closed_unless_draining(record, fresh[0], now):
                self._guards.settle(record, None, now)
                return
            described_at = fresh[1]
        unsafe = self._unsafe(record, view, described_at, now)
        if unsafe is not None:
            logger.info("stop not sent: " + unsafe, extra=log_keys(record))
            self._guards.settle(record, None, now)
            self._writes.write(record, released(record, record.due_at))
            return
        stopped_at = self._stop(record, now)
        self._guards.settle(record, stopped_at, self._clock.now())

    def _closed_unless_draining(
        self, record: TaskRecord, state: TaskState | None, now: float
    ) -> bool:
        """Close ``record`` when its task is gone or no longer draining; True if closed."""
        if state is None:
            self._writes.close(record, Outcome.TASK_GONE, now)
            return True
        if not state.draining:
            outcome = outcome_for_observed(record, state.stopped_reason, state.last_status)
            self._writes.close(record, outcome, now, seen=state)
            return True
        return False

    def _state_max_age(self) -> float:
        return min(TASK_STATE_MAX_AGE_SECONDS, float(self._settings.decision_max_age_seconds))

    def _describe(self, cluster: str, task_arns: list[str]) -> tuple[dict[str, TaskState], float]:
        """DescribeTasks, paced; the states and when the call was sent (they are no older)."""
        self._pacer.acquire(DESCRIBE_TASKS)
        asked_at = self._clock.now()
        return self._ecs.describe_tasks(cluster, task_arns), asked_at

    def _describe_again(self, record: TaskRecord) -> tuple[TaskState | None, float] | None:
        """The task's current state and when it was asked for; None when it could not be read."""
        try:
            states, asked_at = self._describe(record.cluster_arn, [record.task_arn])
        except DrainTerminatorError as error:
            self._writes.lookup_failed(record, "DescribeTasks", error)
            return None
        return states.get(record.task_arn), asked_at

    def _unsafe(
        self, record: TaskRecord, view: ServiceView, described_at: float, now: float
    ) -> str | None:
        """Why a StopTask must not be sent now (None: it may)."""
        max_age = self._settings.decision_max_age_seconds
        if record.lease_until is None or record.lease_until - now < LEASE_MARGIN_SECONDS:
            return "the lease would expire before StopTask could finish"
        if now - described_at > self._state_max_age():
            return "the task state is too old"
        if now - view.read_at > max_age:
            return "the service's tags are too old"
        if self._time_left() < _UNIT_SECONDS:
            return "the invocation has too little time left"
        return None

    def _stop(self, record: TaskRecord, now: float) -> float | None:
        """StopTask and record it; returns when the stop succeeded, or None."""
        reason = stop_reason(record.wait_seconds)
        try:
            self._ecs.stop_task(record.cluster_arn, record.task_arn, reason)
        except NotFoundError:
            self._writes.close(record, Outcome.TASK_GONE, now)
            return None
        except AwsUnavailableError:
            logger.warning(
                "StopTask unavailable after retries; trying again", extra=log_keys(record)
            )
            self._writes.write(record, released(record, now + TRANSIENT_RETRY_SECONDS))
            return None
        except PermanentAwsError as error:
            count(Metric.STOPS_FAILED)
            attempts = record.attempts + 1
            self._report.add("failed", record.task_arn)
            logger.error(
                "StopTask failed",
                extra={**log_keys(record), "error": str(error), "attempts": attempts},
            )
            if attempts >= MAX_STOP_ATTEMPTS:
                self._writes.close(record, Outcome.STOP_FAILED, now, attempts=attempts)
            else:
                self._writes.write(
                    record, released(record, now + STOP_RETRY_SECONDS, attempts=attempts)
                )
            return None
        stopped_at = self._clock.now()
        # Lateness against the deadline, or against the end of the last guard deferral.
        lateness = stopped_at - (record.deadline if record.deferrals == 0 else record.due_at)
        count(Metric.TASKS_STOPPED)
        observe_seconds(Metric.STOP_LATENESS, max(0.0, lateness))
        self._report.add("stopped", record.task_arn)
        logger.info(
            "task stopped early",
            extra={
                **log_keys(record),
                "reason": reason,
                "lateness_seconds": round(lateness, 3),
                "deadline": record.deadline,
            },
        )
        confirm_at = stopped_at + self._settings.confirm_after_seconds
        self._writes.write(record, stop_requested(record, stopped_at, reason, confirm_at))
        return stopped_at

    def _confirm(self, record: TaskRecord, state: TaskState | None) -> None:
        now = self._clock.now()
        retention = self._settings.record_retention_seconds
        if state is not None and state.draining:
            closed = close_record(record, Outcome.UNCONFIRMED, now, retention, seen=state)
        elif state is None:
            closed = close_record(record, Outcome.STOPPED_BY_TERMINATOR, now, retention)
        else:
            # The check runs at the confirmation deadline: a task seen stopping is confirmed
            # even when ECS did not report when it started stopping.
            window = (
                float("inf") if state.stopping_at is None else self._settings.confirm_after_seconds
            )
            closed = on_stopped_event(record, state, now, retention, window) or record
        self._writes.write_closed(record, closed)
