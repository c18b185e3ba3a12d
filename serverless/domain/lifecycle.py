"""The record lifecycle: how a drain record is opened, changed, released, stopped and closed.

Pure functions over frozen :class:`TaskRecord` values (changed with ``replace``); the use
cases write what they return.
"""

from __future__ import annotations

from dataclasses import replace

from serverless.domain.model import (
    Outcome,
    RecordStatus,
    ServicePolicy,
    StopCause,
    TaskEvent,
    TaskRecord,
    TaskState,
)

__all__ = [
    "REASON_PREFIX",
    "claimed",
    "close_record",
    "confirmed",
    "found_drain_record",
    "in_drain",
    "new_drain_record",
    "observed",
    "on_drain_event",
    "on_stopped_event",
    "operator_drain_record",
    "outcome_for_observed",
    "released",
    "stop_reason",
    "stop_requested",
    "wait_raised",
]

#: Every StopTask reason of ours starts with this: how a stop is told apart from ECS's own.
REASON_PREFIX = "drain-terminator:"
MAX_REASON_LENGTH = 255


def stop_reason(wait_seconds: int) -> str:
    """The human-readable StopTask reason (<= 255 characters, starts with the prefix)."""
    reason = (
        f"{REASON_PREFIX} load balancer target draining for {wait_seconds}s "
        "(deregistration delay not awaited)"
    )
    return reason[:MAX_REASON_LENGTH]


def new_drain_record(
    event: TaskEvent,
    service_name: str,
    policy: ServicePolicy,
    cause: StopCause | None = None,
) -> TaskRecord:
    """The first record of a task; the wait runs from the event's own time, never from now."""
    return TaskRecord(
        task_arn=event.task_arn,
        cluster_arn=event.cluster_arn,
        service_name=service_name,
        status=RecordStatus.DRAINING,
        version=event.version,
        drain_started_at=event.time,
        wait_seconds=policy.wait_seconds,
        due_at=event.time + policy.wait_seconds,
        observed_status=event.last_status,
        cause=None if cause is None else cause.value,
        started_by=event.started_by,
    )


def found_drain_record(
    task: TaskState,
    cluster_arn: str,
    service_name: str,
    policy: ServicePolicy,
    seen_at: float,
    cause: StopCause,
) -> TaskRecord:
    """The record of a drain no event reported, found draining by the backstop.

    The drain began at or before ``seen_at`` (when the DescribeTasks answer that showed it
    arrived) and nothing reliable tells how much earlier, so the wait runs from
    ``seen_at``: the stop may come later than the wait asks, never earlier. A drain event
    arriving late moves the start back (:func:`on_drain_event`): the event is evidence.
    """
    return TaskRecord(
        task_arn=task.task_arn,
        cluster_arn=cluster_arn,
        service_name=service_name,
        status=RecordStatus.DRAINING,
        version=task.version,
        drain_started_at=seen_at,
        wait_seconds=policy.wait_seconds,
        due_at=seen_at + policy.wait_seconds,
        observed_status=task.last_status,
        cause=cause.value,
        started_by=task.started_by,
        found_by="backstop",
    )


def operator_drain_record(
    task: TaskState,
    cluster_arn: str,
    service_name: str,
    deregistered_at: float,
    wait_seconds: int,
) -> TaskRecord:
    """The record of a drain an operator started (``drain TASK``): the task's targets were
    deregistered at ``deregistered_at`` (when the last DeregisterTargets answered, so the
    wait is never shorter than asked) while ECS still runs it (desired RUNNING).
    """
    return TaskRecord(
        task_arn=task.task_arn,
        cluster_arn=cluster_arn,
        service_name=service_name,
        status=RecordStatus.DRAINING,
        version=task.version,
        drain_started_at=deregistered_at,
        wait_seconds=wait_seconds,
        due_at=deregistered_at + wait_seconds,
        observed_status=task.last_status,
        cause=StopCause.OPERATOR.value,
        started_by=task.started_by,
    )


def in_drain(record: TaskRecord, task: TaskState) -> bool:
    """Whether ``task`` is still in the drain ``record`` tracks: draining as ECS shows it
    (desired STOPPED, not yet stopping) or, for an operator drain, still RUNNING with
    desired RUNNING (ECS does not know its targets were deregistered)."""
    if task.draining:
        return True
    return (
        record.cause == StopCause.OPERATOR.value
        and task.last_status == "RUNNING"
        and task.desired_status == "RUNNING"
    )


def on_drain_event(record: TaskRecord, event: TaskEvent) -> TaskRecord | None:
    """Apply a (possibly duplicate or late) drain event; None when nothing changes.

    A drain event never re-opens a record that is no longer draining. An older event with
    an earlier time moves the drain start back to the true first event; a newer one only
    updates the observed state.
    """
    if record.status is not RecordStatus.DRAINING:
        return None
    if record.actions:
        return None  # a stop step was taken: the deadline is history
    changed = record
    if event.version > record.version:
        changed = replace(changed, version=event.version, observed_status=event.last_status)
    if event.time < record.drain_started_at:
        changed = replace(changed, drain_started_at=event.time)
        # Keep any guard deferral: only the wait-based part of the deadline moves.
        if record.deferrals == 0:
            changed = replace(changed, due_at=event.time + record.wait_seconds)
    return None if changed == record else changed


def wait_raised(record: TaskRecord, wait_seconds: int) -> TaskRecord:
    """``record`` with a longer wait (the service's tag was raised during the drain).

    The deadline moves to drain start + the new wait; a guard deferral ending later stays.
    """
    return replace(
        record,
        wait_seconds=wait_seconds,
        due_at=max(record.due_at, record.drain_started_at + wait_seconds),
    )


def claimed(record: TaskRecord, owner: str, until: float) -> TaskRecord:
    """``record`` leased to the sweeper run ``owner`` until ``until``."""
    return replace(record, lease_owner=owner, lease_until=until)


def released(
    record: TaskRecord,
    due_at: float,
    *,
    attempts: int | None = None,
    deferred_because: str | None = None,
) -> TaskRecord:
    """``record`` without its lease, due again at ``due_at``.

    ``attempts``: failed StopTask attempts so far; ``deferred_because``: a guard deferred
    the stop (counted in ``deferrals``).
    """
    released_record = replace(record, lease_owner=None, lease_until=None, due_at=due_at)
    if attempts is not None:
        released_record = replace(released_record, attempts=attempts)
    if deferred_because is not None:
        released_record = replace(
            released_record, deferrals=record.deferrals + 1, defer_reason=deferred_because
        )
    return released_record


def stop_requested(record: TaskRecord, at: float, reason: str, confirm_at: float) -> TaskRecord:
    """``record`` after our StopTask succeeded at ``at``: confirm the effect at ``confirm_at``."""
    return replace(
        record,
        status=RecordStatus.STOP_REQUESTED,
        stop_requested_at=at,
        stop_reason=reason,
        due_at=confirm_at,
        lease_owner=None,
        lease_until=None,
    )


def outcome_for_observed(
    record: TaskRecord, stopped_reason: str | None, last_status: str | None
) -> Outcome:
    """Who stopped a task that is no longer draining: us, ECS, or nobody yet."""
    if record.status is RecordStatus.STOP_REQUESTED or record.last_stop_at is not None:
        return Outcome.STOPPED_BY_TERMINATOR
    if stopped_reason and stopped_reason.startswith(REASON_PREFIX):
        return Outcome.STOPPED_BY_TERMINATOR
    if last_status in {"STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"}:
        return Outcome.STOPPED_BY_ECS
    return Outcome.NOT_DRAINING


def observed(record: TaskRecord, seen: TaskEvent | TaskState) -> TaskRecord:
    """``record`` annotated with what an event or DescribeTasks showed of its task."""
    annotated = replace(
        record,
        observed_status=seen.last_status,
        stopped_reason=seen.stopped_reason,
        stopping_at=seen.stopping_at,
        stopped_at=seen.stopped_at,
    )
    if isinstance(seen, TaskEvent):
        annotated = replace(annotated, version=max(record.version, seen.version))
    return annotated


def close_record(
    record: TaskRecord,
    outcome: Outcome,
    now: float,
    retention_seconds: int,
    *,
    seen: TaskEvent | TaskState | None = None,
    attempts: int | None = None,
) -> TaskRecord:
    """A closed copy of ``record`` that expires ``retention_seconds`` from ``now``.

    ``seen``: the task as last observed; ``attempts``: failed StopTask attempts.
    """
    closed = replace(
        record if seen is None else observed(record, seen),
        status=RecordStatus.CLOSED,
        outcome=outcome,
        closed_at=now,
        lease_owner=None,
        lease_until=None,
        expires_at=int(now + retention_seconds),
    )
    if attempts is not None:
        closed = replace(closed, attempts=attempts)
    return closed


def on_stopped_event(
    record: TaskRecord,
    event: TaskEvent | TaskState,
    now: float,
    retention_seconds: int,
    confirm_after_seconds: float,
) -> TaskRecord | None:
    """Close (or annotate) a record when its task has left the draining states.

    After our stop step, a task that took longer than ``confirm_after_seconds`` to start
    stopping is closed as ``unconfirmed``: the early stop demonstrably did not take effect.
    """
    if record.status is RecordStatus.CLOSED:
        if record.stopped_at is not None or event.stopped_at is None:
            return None
        return observed(record, event)
    outcome = outcome_for_observed(record, event.stopped_reason, event.last_status)
    closed = close_record(record, outcome, now, retention_seconds, seen=event)
    last_stop = record.last_stop_at
    if last_stop is not None:
        # Measured from the latest delivered step (escalation: the one that stopped it).
        reached = event.stopping_at or event.stopped_at or now
        took = max(0.0, reached - last_stop)
        closed = replace(closed, confirmation_seconds=took)
        if took > confirm_after_seconds:
            closed = replace(closed, outcome=Outcome.UNCONFIRMED)
    return closed


def confirmed(
    record: TaskRecord,
    task: TaskState | None,
    now: float,
    retention_seconds: int,
    confirm_after_seconds: float,
) -> TaskRecord:
    """``record`` (our StopTask was sent) closed at its confirmation check, from what
    DescribeTasks shows of its task at ``now`` (None: the task is gone). A task still in
    its drain (:func:`in_drain`: an operator drain's task still RUNNING after a signal
    step) is unconfirmed.
    """
    if task is not None and in_drain(record, task):
        return close_record(record, Outcome.UNCONFIRMED, now, retention_seconds, seen=task)
    if task is None:
        return close_record(record, Outcome.STOPPED_BY_TERMINATOR, now, retention_seconds)
    # The check runs at the confirmation deadline: a task seen stopping is confirmed even
    # when ECS did not report when it started stopping.
    window = float("inf") if task.stopping_at is None else confirm_after_seconds
    return on_stopped_event(record, task, now, retention_seconds, window) or record
