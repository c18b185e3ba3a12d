"""Use case of the sweeper function: stop due tasks precisely, once, and confirm the effect."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from serverless.clock import Clock
from serverless.errors import AwsUnavailableError, ConflictError, NotFoundError, PermanentAwsError
from serverless.guards import Guards
from serverless.model import Outcome, RecordStatus, TaskRecord, TaskState
from serverless.observability import Metric, count, log_keys, logger, observe_seconds
from serverless.policy import (
    claimed,
    close_record,
    on_stopped_event,
    outcome_for_observed,
    released,
    stop_reason,
    stop_requested,
)
from serverless.ports import Ports
from serverless.reporting import report_closed
from serverless.services import ServiceDirectory
from serverless.settings import Settings

__all__ = ["SAFETY_MARGIN_SECONDS", "SweepReport", "Sweeper"]

#: Time kept in reserve at the end of an invocation (finish writes, flush metrics).
SAFETY_MARGIN_SECONDS = 10.0
#: A permanently failing StopTask is retried this often before the record is given up.
MAX_STOP_ATTEMPTS = 5
STOP_RETRY_SECONDS = 30.0
#: How often a run re-reads the ledger while records are open (deadlines it already knows
#: are met exactly; this bounds how late it notices a record written after it started).
POLL_SECONDS = 5.0
#: After a transient failure that outlived botocore's retries, look again this much later.
TRANSIENT_RETRY_SECONDS = 1.0


@dataclass(slots=True)
class SweepReport:
    """What one sweeper run did (returned by the handler, asserted by tests)."""

    stopped: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    dry_run: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    conflicts: int = 0
    polls: int = 0

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly summary."""
        return {
            "stopped": list(self.stopped),
            "closed": list(self.closed),
            "deferred": list(self.deferred),
            "dry_run": list(self.dry_run),
            "failed": list(self.failed),
            "conflicts": self.conflicts,
            "polls": self.polls,
        }


class Sweeper:
    """Finds due records, re-checks their tasks and stops those still draining."""

    def __init__(
        self,
        ports: Ports,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
        run_id: str,
    ) -> None:
        self._ledger = ports.ledger
        self._ecs = ports.ecs
        self._services = services
        self._settings = settings
        self._clock = clock
        self._run_id = run_id
        self._guards = Guards(ports.ledger, ports.health, services, clock)
        self._report = SweepReport()

    def _now(self) -> float:
        return self._clock.now()

    def run(self, remaining_ms: Callable[[], int]) -> SweepReport:
        """Act on every deadline up to the horizon that fits in the invocation's time.

        Deadlines before the next scheduled run are waited for here, so each StopTask lands
        right after its deadline and never before: it sleeps exactly until the next known
        deadline. While records are open it also re-reads the ledger every ``POLL_SECONDS``,
        which catches drains recorded after it started (waits shorter than the horizon),
        guard deferrals and expired leases; with nothing open it returns at once.
        """
        start = self._now()
        horizon_end = start + self._settings.sweep_horizon_seconds
        while True:
            now = self._now()
            budget = remaining_ms() / 1000.0 - SAFETY_MARGIN_SECONDS
            act_until = min(horizon_end, now + budget)
            if budget <= 0 or now > act_until:
                break
            self._report.polls += 1
            # A live lease, even one of this run's (a release that failed), is left to expire.
            pending = [r for r in self._ledger.due(until=act_until) if not r.leased(now)]
            ready = [r for r in pending if r.due_at <= now]
            if ready and self._process(ready):
                continue
            if not pending and not self._ledger.has_open():
                break
            wake = now + POLL_SECONDS
            future = [r.due_at for r in pending if r.due_at > now]
            if future:
                wake = min(wake, future[0])
            if wake > act_until:
                break
            self._clock.sleep(wake - now)
        return self._report

    # -- one batch of due records -------------------------------------------------------

    def _process(self, ready: Iterable[TaskRecord]) -> int:
        """Claim, re-check and act on ``ready``; returns how many records were claimed."""
        now = self._now()
        mine: list[TaskRecord] = []
        for record in ready:
            lease = claimed(record, self._run_id, now + self._settings.lease_seconds)
            try:
                mine.append(self._ledger.put(lease, expected_rev=record.rev))
            except ConflictError:
                self._report.conflicts += 1
        by_cluster: dict[str, list[TaskRecord]] = defaultdict(list)
        for record in mine:
            by_cluster[record.cluster_arn].append(record)
        for cluster, records in by_cluster.items():
            try:
                states = self._ecs.describe_tasks(cluster, [r.task_arn for r in records])
            except AwsUnavailableError:
                logger.warning("DescribeTasks unavailable; releasing claims for a later pass")
                for record in records:
                    self._release(record, now + TRANSIENT_RETRY_SECONDS)
                continue
            for record in records:
                with log_keys(task_arn=record.task_arn, ecs_service=record.service_name):
                    self._act(record, states.get(record.task_arn))
        return len(mine)

    def _act(self, record: TaskRecord, state: TaskState | None) -> None:
        if record.status is RecordStatus.STOP_REQUESTED:
            self._confirm(record, state)
            return
        now = self._now()
        if state is None:
            self._close(record, Outcome.TASK_GONE, now)
            return
        if not state.draining:
            outcome = outcome_for_observed(record, state.stopped_reason, state.last_status)
            self._close(record, outcome, now, seen=state)
            return
        policy = self._services.policy(record.cluster_arn, record.service_name)
        if not policy.enabled:
            self._close(record, Outcome.OPTED_OUT, now, seen=state)
            return
        deferral = self._guards.min_healthy(record, policy, now) or self._guards.stagger(
            record, policy, now
        )
        if deferral is not None:
            self._defer(record, deferral.until, deferral.reason)
            return
        if self._settings.dry_run or policy.dry_run:
            count(Metric.DRY_RUN_STOPS)
            logger.info(
                "dry run: would have stopped the task now",
                extra={"would_stop_at": now, "deadline": record.deadline},
            )
            self._report.dry_run.append(record.task_arn)
            self._guards.settle(record, now, now)
            self._close(record, Outcome.DRY_RUN, now, seen=state)
            return
        stopped_at = self._stop(record, now)
        self._guards.settle(record, stopped_at, self._now())

    def _stop(self, record: TaskRecord, now: float) -> float | None:
        """StopTask and record it; returns when the stop succeeded, or None."""
        reason = stop_reason(record.wait_seconds)
        try:
            self._ecs.stop_task(record.cluster_arn, record.task_arn, reason)
        except NotFoundError:
            self._close(record, Outcome.TASK_GONE, now)
            return None
        except AwsUnavailableError:
            logger.warning("StopTask unavailable after retries; trying again shortly")
            self._release(record, now + TRANSIENT_RETRY_SECONDS)
            return None
        except PermanentAwsError as error:
            count(Metric.STOPS_FAILED)
            attempts = record.attempts + 1
            self._report.failed.append(record.task_arn)
            logger.error("StopTask failed", extra={"error": str(error), "attempts": attempts})
            if attempts >= MAX_STOP_ATTEMPTS:
                self._close(record, Outcome.STOP_FAILED, now, attempts=attempts)
            else:
                self._release(record, now + STOP_RETRY_SECONDS, attempts=attempts)
            return None
        stopped_at = self._now()
        # Lateness against the deadline, or against the end of the last guard deferral.
        lateness = stopped_at - (record.deadline if record.deferrals == 0 else record.due_at)
        count(Metric.TASKS_STOPPED)
        observe_seconds(Metric.STOP_LATENESS, max(0.0, lateness))
        self._report.stopped.append(record.task_arn)
        logger.info(
            "task stopped early",
            extra={
                "reason": reason,
                "lateness_seconds": round(lateness, 3),
                "deadline": record.deadline,
            },
        )
        requested = stop_requested(
            record, stopped_at, reason, stopped_at + self._settings.confirm_after_seconds
        )
        try:
            self._ledger.put(requested, expected_rev=record.rev)
        except ConflictError:
            # Only a STOPPED event can have changed a record we hold: it is closed already.
            self._report.conflicts += 1
        return stopped_at

    def _confirm(self, record: TaskRecord, state: TaskState | None) -> None:
        now = self._now()
        if state is not None and state.draining:
            closed = close_record(
                record,
                Outcome.UNCONFIRMED,
                now,
                self._settings.record_retention_seconds,
                seen=state,
            )
        elif state is None:
            closed = close_record(
                record, Outcome.STOPPED_BY_TERMINATOR, now, self._settings.record_retention_seconds
            )
        else:
            maybe = on_stopped_event(
                record,
                state,
                now,
                self._settings.record_retention_seconds,
                # The check runs at the confirmation deadline: a task seen stopping is
                # confirmed even when ECS did not report when it started stopping.
                float("inf") if state.stopping_at is None else self._settings.confirm_after_seconds,
            )
            assert maybe is not None
            closed = maybe
        self._write_closed(record, closed)

    # -- ledger writes --------------------------------------------------------------------

    def _close(
        self,
        record: TaskRecord,
        outcome: Outcome,
        now: float,
        *,
        seen: TaskState | None = None,
        attempts: int | None = None,
    ) -> None:
        closed = close_record(
            record,
            outcome,
            now,
            self._settings.record_retention_seconds,
            seen=seen,
            attempts=attempts,
        )
        self._write_closed(record, closed)

    def _write_closed(self, record: TaskRecord, closed: TaskRecord) -> None:
        try:
            self._ledger.put(closed, expected_rev=record.rev)
        except ConflictError:
            self._report.conflicts += 1
            return
        self._report.closed.append(record.task_arn)
        report_closed(closed)

    def _defer(self, record: TaskRecord, until: float, reason: str) -> None:
        count(Metric.STOPS_DEFERRED)
        self._report.deferred.append(record.task_arn)
        logger.info("early stop deferred", extra={"until": until, "why": reason})
        self._write_released(record, released(record, until, deferred_because=reason))

    def _release(self, record: TaskRecord, due_at: float, attempts: int | None = None) -> None:
        self._write_released(record, released(record, due_at, attempts=attempts))

    def _write_released(self, record: TaskRecord, release: TaskRecord) -> None:
        try:
            self._ledger.put(release, expected_rev=record.rev)
        except ConflictError:
            self._report.conflicts += 1
        except AwsUnavailableError:
            # The lease expires by itself; the record is picked up again after it.
            logger.warning("could not release the claim; it expires by itself")
