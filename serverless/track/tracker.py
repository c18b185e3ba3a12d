"""Use case of the task-events function: keep the ledger in step with ECS events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from serverless.domain.causes import classify, leave_reason, refine
from serverless.domain.clock import Clock
from serverless.domain.early_start import EARLY_START_DEBOUNCE_SECONDS
from serverless.domain.errors import ConflictError, DrainTerminatorError
from serverless.domain.lifecycle import (
    close_record,
    new_drain_record,
    on_drain_event,
    on_stopped_event,
)
from serverless.domain.model import (
    Outcome,
    RecordStatus,
    ServiceSnapshot,
    StopCause,
    TaskEvent,
    TaskRecord,
)
from serverless.observability import (
    Metric,
    account_of,
    count,
    count_cause,
    count_for_account,
    logger,
)
from serverless.ports import LedgerPort, SweepTrigger
from serverless.settings import Settings
from serverless.shared.reporting import report_closed
from serverless.shared.services import ServiceDirectory

__all__ = ["DrainTracker", "TrackAction", "TrackResult"]

#: Optimistic-concurrency attempts before giving up (another writer keeps winning).
_MAX_ATTEMPTS = 5


class TrackAction(StrEnum):
    """What handling an event did to the ledger."""

    TRACKED = "tracked"  # a new drain is recorded
    UPDATED = "updated"  # an open record learned something (newer state, earlier start)
    CLOSED = "closed"  # the task stopped; its record is closed
    UNCHANGED = "unchanged"  # duplicate or stale: nothing to change
    IGNORED = "ignored"  # not a drain or stop of an opted-in service task


@dataclass(frozen=True, slots=True)
class TrackResult:
    """The outcome of one event, for the handler's return value and tests."""

    action: TrackAction
    reason: str
    task_arn: str


class DrainTracker:
    """Records drains of opted-in service tasks and closes records when tasks stop."""

    def __init__(
        self,
        ledger: LedgerPort,
        services: ServiceDirectory,
        settings: Settings,
        clock: Clock,
        trigger: SweepTrigger | None = None,
    ) -> None:
        self._ledger = ledger
        self._services = services
        self._settings = settings
        self._clock = clock
        self._trigger = trigger
        self._last_early_start = float("-inf")

    def handle(self, event: TaskEvent) -> TrackResult:
        """Apply one parsed event to the ledger (idempotent, order-independent)."""
        service = event.service_name
        if service is None:
            return TrackResult(TrackAction.IGNORED, "not a service task", event.task_arn)
        if event.is_drain:
            return self._retry(lambda: self._drain(event, service))
        if event.is_stopped:
            return self._retry(lambda: self._stopped(event, service))
        return TrackResult(
            TrackAction.IGNORED,
            f"neither draining nor stopped ({event.last_status}/{event.desired_status})",
            event.task_arn,
        )

    def _retry(self, attempt: Callable[[], TrackResult]) -> TrackResult:
        for number in range(1, _MAX_ATTEMPTS + 1):
            try:
                return attempt()
            except ConflictError:
                if number == _MAX_ATTEMPTS:
                    raise
                logger.debug("ledger record changed while handling the event; re-reading")
        raise AssertionError("unreachable")  # pragma: no cover

    def _now(self) -> float:
        return self._clock.now()

    def _drain(self, event: TaskEvent, service: str) -> TrackResult:
        record = self._ledger.get(event.task_arn)
        if record is None:
            view = self._snapshot(event.cluster_arn, service)
            policy = view.policy
            if not policy.enabled:
                return TrackResult(TrackAction.IGNORED, "service not opted in", event.task_arn)
            cause = self._cause(event, view)
            new = new_drain_record(event, service, policy, cause)
            leave = leave_reason(cause, policy)
            if leave is not None:
                return self._not_shortened(new, event, cause, leave)
            written = self._ledger.put(new, expected_rev=None)
            count(Metric.DRAINS_TRACKED)
            count_cause(cause)
            logger.info(
                "drain tracked",
                extra={
                    "drain_started_at": written.drain_started_at,
                    "wait_seconds": written.wait_seconds,
                    "due_at": written.due_at,
                    "event_version": event.version,
                    "stop_cause": cause.value,
                },
            )
            self._maybe_start_early(written)
            return TrackResult(TrackAction.TRACKED, f"drain began ({cause})", event.task_arn)
        if record.status is RecordStatus.DRAINING:
            cause = classify(event.stop_code, event.stopped_reason)
            if cause is StopCause.SPOT_INTERRUPTION:
                # Spot reclaimed a task that was already draining: ECS stops it now anyway.
                policy = self._snapshot(record.cluster_arn, record.service_name).policy
                leave = leave_reason(cause, policy) or ""
                return self._not_shortened(record, event, cause, leave, expected_rev=record.rev)
        changed = on_drain_event(record, event)
        if changed is None:
            why = "duplicate or stale drain event"
            if record.status is not RecordStatus.DRAINING:
                why = f"record already {record.status.value}"
            return TrackResult(TrackAction.UNCHANGED, why, event.task_arn)
        self._ledger.put(changed, expected_rev=record.rev)
        if changed.drain_started_at < record.drain_started_at:
            logger.info(
                "earlier drain event moved the drain start back",
                extra={"drain_started_at": changed.drain_started_at, "due_at": changed.due_at},
            )
        return TrackResult(TrackAction.UPDATED, "drain record updated", event.task_arn)

    @staticmethod
    def _cause(event: TaskEvent, view: ServiceSnapshot) -> StopCause:
        return refine(classify(event.stop_code, event.stopped_reason), event.started_by, view.info)

    def _not_shortened(
        self,
        record: TaskRecord,
        event: TaskEvent,
        cause: StopCause,
        why: str,
        expected_rev: int | None = None,
    ) -> TrackResult:
        """Close ``record`` at once: its cause leaves nothing to shorten (or the service's
        tags leave it to ECS). No StopTask is ever sent for it; no ELB call is made."""
        closed = close_record(
            replace(record, cause=cause.value),
            Outcome.NOT_SHORTENED,
            self._now(),
            self._settings.record_retention_seconds,
            seen=event,
        )
        self._ledger.put(closed, expected_rev=expected_rev)
        count_cause(cause)
        report_closed(closed, why=why)
        return TrackResult(TrackAction.CLOSED, f"not shortened ({cause}): {why}", event.task_arn)

    def _snapshot(self, cluster_arn: str, service: str) -> ServiceSnapshot:
        """The service's snapshot; a failed lookup is counted in ``LookupsFailed`` with the
        account and raised (Lambda tries the event again)."""
        try:
            return self._services.snapshot(cluster_arn, service)
        except DrainTerminatorError as error:
            account = account_of(cluster_arn)
            count_for_account(Metric.LOOKUPS_FAILED, account)
            logger.error(
                "DescribeServices failed; the event is tried again",
                extra={"account": account, "ecs_service": service, "error": str(error)},
            )
            raise

    def _maybe_start_early(self, record: TaskRecord) -> None:
        """Start a sweeper run now when the deadline may come before the next scheduled one.

        A scheduled run that has already returned cannot meet a near deadline recorded after
        it. Early starts are at most one per ``EARLY_START_DEBOUNCE_SECONDS`` per warm
        container: an early run reads the ledger again that long after it started, so it also
        finds the drains recorded meanwhile.
        """
        now = self._now()
        below = self._settings.early_start_below_seconds
        if self._trigger is None or below <= 0 or record.due_at - now >= below:
            return
        if now - self._last_early_start < EARLY_START_DEBOUNCE_SECONDS:
            return
        try:
            self._trigger.start()
        except DrainTerminatorError as error:
            # The schedule still covers the drain, only less precisely.
            logger.warning("could not start a sweeper run early", extra={"error": str(error)})
            return
        self._last_early_start = now
        logger.info("sweeper run started early", extra={"due_at": record.due_at})

    def _stopped(self, event: TaskEvent, service: str) -> TrackResult:
        now = self._now()
        record = self._ledger.get(event.task_arn)
        retention = self._settings.record_retention_seconds
        if record is None:
            # A tombstone keeps a late drain event from opening a record for a task that has
            # already stopped. Only opted-in services get one, to keep writes proportional.
            policy = self._snapshot(event.cluster_arn, service).policy
            if not policy.enabled:
                return TrackResult(TrackAction.IGNORED, "service not opted in", event.task_arn)
            cause = classify(event.stop_code, event.stopped_reason)
            closed = on_stopped_event(
                new_drain_record(event, service, policy, cause),
                event,
                now,
                retention,
                self._settings.confirm_after_seconds,
            )
            assert closed is not None
            self._ledger.put(closed, expected_rev=None)
            logger.info("task stopped before any drain event arrived; tombstone written")
            return TrackResult(TrackAction.CLOSED, "stopped (no drain seen)", event.task_arn)
        closed = on_stopped_event(
            record, event, now, retention, self._settings.confirm_after_seconds
        )
        if closed is None:
            return TrackResult(TrackAction.UNCHANGED, "record already closed", event.task_arn)
        self._ledger.put(closed, expected_rev=record.rev)
        if record.status is not RecordStatus.CLOSED:
            report_closed(closed)
        return TrackResult(TrackAction.CLOSED, f"stopped: {closed.outcome}", event.task_arn)
