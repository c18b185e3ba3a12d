"""Taking one stop step a :class:`~serverless.sweep.decide.Stop` decision asks for.

``stop-task`` goes through the ECS port as before; ``exec`` and ``ssm-signal`` through the
step's :class:`~serverless.domain.signals.SignalPort`. A signal step is marked STARTED in
the ledger before its call (a write conditional on the claim, extending the lease past the
port's ``time_bound``): without that write the call is not made, and with it no run takes
the step again, whatever happens to this one. Every result is written, counted per action
and logged with the action, its outcome and why.
"""

from __future__ import annotations

from serverless.domain.actions import (
    SENT,
    UNAVAILABLE,
    step_result,
    step_started,
    step_taken,
)
from serverless.domain.clock import Clock
from serverless.domain.errors import (
    AwsUnavailableError,
    DrainTerminatorError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.domain.lifecycle import close_record, confirmed, released
from serverless.domain.model import ActionTaken, Outcome, StopAction, TaskRecord
from serverless.domain.signals import SignalOutcome
from serverless.observability import Metric, count, logger, observe_seconds, record_keys
from serverless.ports import Ports
from serverless.settings import Settings
from serverless.sweep.decide import Stop
from serverless.sweep.report import SweepReport
from serverless.sweep.timing import (
    CLOCK_SKEW_SECONDS,
    MAX_STOP_ATTEMPTS,
    STOP_RETRY_SECONDS,
    TRANSIENT_RETRY_SECONDS,
)
from serverless.sweep.writes import RecordWriter

__all__ = ["FAILED_METRICS", "SENT_METRICS", "StepTaker"]

#: The count of each step delivered (StopTask accepted; signal sent or possibly sent).
SENT_METRICS = {
    StopAction.STOP_TASK: Metric.STOP_TASKS_SENT,
    StopAction.EXEC: Metric.EXEC_SIGNALS_SENT,
    StopAction.SSM_SIGNAL: Metric.SSM_SIGNALS_SENT,
}
#: The count of each signal step that failed (a StopTask failure: ``StopsFailed``).
FAILED_METRICS = {
    StopAction.EXEC: Metric.EXECS_FAILED,
    StopAction.SSM_SIGNAL: Metric.SSM_SIGNALS_FAILED,
}


class StepTaker:
    """Takes the stop steps of one sweeper run (safe to use from concurrent workers)."""

    def __init__(
        self,
        ports: Ports,
        writes: RecordWriter,
        settings: Settings,
        clock: Clock,
        report: SweepReport,
    ) -> None:
        self._ports = ports
        self._writes = writes
        self._settings = settings
        self._clock = clock
        self._report = report

    def take(self, stop: Stop, now: float) -> float | None:
        """Take ``stop``'s step; returns when it was delivered (the stagger slot's stop),
        else None."""
        record = stop.record
        if stop.note:
            logger.warning(stop.note, extra=record_keys(record))
        if record.last_stop_at is not None:
            count(Metric.STOP_ESCALATIONS)
            self._report.add("escalated", record.task_arn)
            logger.warning(
                "the task still drains after our last stop step: escalating",
                extra={
                    **record_keys(record),
                    "action": str(stop.action),
                    "actions_taken": [str(a.action) for a in record.actions],
                    "since_last_step_seconds": round(now - record.last_stop_at, 3),
                },
            )
        if stop.action is StopAction.STOP_TASK:
            return self._stop_task(stop, now)
        if stop.action in (StopAction.EXEC, StopAction.SSM_SIGNAL):
            return self._signal(stop, now)
        raise AssertionError(f"{stop.action} is a plan, not a step")

    # -- stop-task ----------------------------------------------------------------------

    def _stop_task(self, stop: Stop, now: float) -> float | None:
        """StopTask and record it; returns when the stop succeeded, or None."""
        record, reason = stop.record, stop.reason
        try:
            self._ports.ecs.stop_task(record.cluster_arn, record.task_arn, reason)
        except NotFoundError:
            self._writes.close(record, Outcome.TASK_GONE, now)
            return None
        except AwsUnavailableError:
            logger.warning(
                "StopTask unavailable after retries; trying again",
                extra={**record_keys(record), "action": str(StopAction.STOP_TASK)},
            )
            self._writes.write(record, released(record, now + TRANSIENT_RETRY_SECONDS))
            return None
        except PermanentAwsError as error:
            count(Metric.STOPS_FAILED)
            attempts = record.attempts + 1
            self._report.add("failed", record.task_arn)
            logger.error(
                "StopTask failed",
                extra={
                    **record_keys(record),
                    "action": str(StopAction.STOP_TASK),
                    "error": str(error),
                    "attempts": attempts,
                },
            )
            if attempts >= MAX_STOP_ATTEMPTS:
                self._writes.close(record, Outcome.STOP_FAILED, now, attempts=attempts)
            else:
                self._writes.write(
                    record, released(record, now + STOP_RETRY_SECONDS, attempts=attempts)
                )
            return None
        stopped_at = self._clock.now()
        taken = ActionTaken(StopAction.STOP_TASK, stopped_at, SENT)
        self._delivered(record, stop, taken, extra={"reason": reason})
        self._writes.write(record, self._after(record, taken, reason))
        return stopped_at

    # -- exec, ssm-signal ---------------------------------------------------------------

    def _signal(self, stop: Stop, now: float) -> float | None:
        """Mark the step started, signal the container, write how it went."""
        record, action = stop.record, stop.action
        port = self._ports.signals.get(action)
        if port is None or stop.target is None or stop.command is None:
            raise AssertionError(f"{action} decided without its port, target or command")
        hold_until = now + port.time_bound + CLOCK_SKEW_SECONDS
        marked = self._writes.put(record, step_started(record, action, now, hold_until))
        if marked is None:
            return None  # another run or a STOPPED event has the record: no signal
        keys = {
            **record_keys(record),
            "action": str(action),
            "container": stop.target.container_name,
        }
        try:
            result = port.signal(stop.target, stop.command)
        except DrainTerminatorError as error:
            unavailable = isinstance(error, AwsUnavailableError)
            if isinstance(error, AwsUnavailableError) and error.throttled:
                count(Metric.SIGNAL_CALLS_THROTTLED, error.throttled)
            taken = ActionTaken(
                action,
                now,
                UNAVAILABLE if unavailable else SignalOutcome.REFUSED.value,
                detail=str(error),
            )
        else:
            if result.throttled:
                count(Metric.SIGNAL_CALLS_THROTTLED, result.throttled)
            taken = ActionTaken(
                action,
                now,
                result.outcome.value,
                missing=result.missing.value if result.missing else None,
                detail=_detail(result.detail, result.exit_status),
            )
            keys |= {
                "exit_status": result.exit_status,
                "reference": result.reference,
                "elapsed_seconds": round(result.elapsed, 3),
                "throttled": result.throttled,
                "output": result.output[-512:],
            }
        finished = self._clock.now()
        if taken.delivered:
            self._delivered(record, stop, taken, extra=keys)
            self._writes.write(marked, self._after(marked, taken, stop.reason))
            return finished
        self._failed(marked, taken, finished, keys)
        return None

    def _failed(
        self, record: TaskRecord, taken: ActionTaken, now: float, keys: dict[str, object]
    ) -> None:
        """Record a signal step that did not reach the task: the next step follows at once;
        without one the record is closed (never the same step again)."""
        noted = step_result(record, taken)
        retention = self._settings.record_retention_seconds
        fields = {**keys, "outcome": taken.outcome, "missing": taken.missing}
        if taken.outcome == SignalOutcome.TASK_GONE.value:
            logger.info("the task is gone: nothing to signal", extra=fields)
            if record.stop_requested_at is not None:  # an earlier step stopped it
                closed = confirmed(
                    noted, None, now, retention, self._settings.confirm_after_seconds
                )
            else:
                closed = close_record(noted, Outcome.TASK_GONE, now, retention)
            self._writes.write_closed(record, closed)
            return
        missing = taken.outcome == SignalOutcome.PREREQUISITE_MISSING.value
        if missing:
            count(Metric.STOP_PREREQUISITES_MISSING)
            logger.error(
                f"{taken.action} cannot be taken: {taken.missing} is missing ({taken.detail})",
                extra=fields,
            )
        else:
            count(Metric.STOPS_FAILED)
            count(FAILED_METRICS[taken.action])
            logger.error(f"{taken.action} failed: {taken.detail}", extra=fields)
        self._report.add("failed", record.task_arn)
        if noted.next_step is not None:
            self._writes.write(record, self._after(noted, taken, ""))
            return
        # Nothing left to try: the task is left to ECS (its own deregistration delay).
        outcome = Outcome.PREREQUISITE_MISSING if missing else Outcome.STOP_FAILED
        self._writes.write_closed(record, close_record(noted, outcome, now, retention))

    # -- both -------------------------------------------------------------------------------

    def _after(self, record: TaskRecord, taken: ActionTaken, reason: str) -> TaskRecord:
        settings = self._settings
        return step_taken(
            record,
            taken,
            reason=reason,
            escalate_at=taken.at + settings.escalate_after_seconds,
            confirm_at=taken.at + settings.confirm_after_seconds,
        )

    def _delivered(
        self, record: TaskRecord, stop: Stop, taken: ActionTaken, extra: dict[str, object]
    ) -> None:
        """Count and log a delivered step; the first one of a record is the early stop."""
        count(SENT_METRICS[taken.action])
        fields = {**extra, "action": str(taken.action), "outcome": taken.outcome}
        if record.last_stop_at is not None:
            logger.info(f"escalated: {taken.action} delivered", extra=fields)
            return
        # Lateness against the deadline, or against the end of the last guard deferral.
        lateness = taken.at - (record.deadline if record.deferrals == 0 else record.due_at)
        count(Metric.TASKS_STOPPED)
        observe_seconds(Metric.STOP_LATENESS, max(0.0, lateness))
        self._report.add("stopped", record.task_arn)
        logger.info(
            "task stopped early",
            extra={
                **fields,
                "lateness_seconds": round(lateness, 3),
                "deadline": record.deadline,
                "plan": [str(step) for step in record.plan],
            },
        )


def _detail(detail: str, exit_status: int | None) -> str:
    """One line for the record: the port's words and the command's exit status."""
    line = " ".join(detail.split())[:300]
    return line if exit_status is None else f"{line} (exit status {exit_status})"
