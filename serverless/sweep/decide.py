"""What the sweeper does with one claimed record: a pure function of what it has seen.

:func:`decide` states every rule an early stop obeys, top to bottom, and returns a
:data:`Decision` value; :class:`serverless.sweep.batch.BatchWorker` applies it in one place
(writes, metrics, logs, the AWS call). Two values ask for a fact before the decision can be
made: :class:`CheckGuards` (target health and the stagger slot, read only for a task that
would otherwise be stopped) and :class:`DescribeAgain` (the task's state is older than the
bound a StopTask may follow). The worker gathers the fact and calls :func:`decide` again.

New stop causes, stop actions and per-account bounds extend the values (:class:`Seen`,
:class:`Limits`, the service's policy) and the rules below; the worker's loop stays as is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from serverless.domain.causes import classify, leave_reason, refine
from serverless.domain.errors import DrainTerminatorError, NotFoundError
from serverless.domain.lifecycle import outcome_for_observed, stop_reason, wait_raised
from serverless.domain.model import (
    Outcome,
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    ServiceSnapshot,
    StopAction,
    StopCause,
    TaskRecord,
    TaskState,
)

__all__ = [
    "GUARDS_PASSED",
    "CheckGuards",
    "Close",
    "Confirm",
    "Decision",
    "Deferral",
    "DescribeAgain",
    "DryRun",
    "GuardVerdict",
    "GuardsPassed",
    "Limits",
    "LookupFailed",
    "Release",
    "Seen",
    "Stop",
    "decide",
]


# -- inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deferral:
    """A guard holds the stop back: until when, and why."""

    until: float
    reason: str


@dataclass(frozen=True, slots=True)
class GuardsPassed:
    """Every guard of the service lets the stop go ahead."""


GUARDS_PASSED = GuardsPassed()

#: What the guards said: go ahead, wait (a deferral), or their read failed.
GuardVerdict = GuardsPassed | Deferral | DrainTerminatorError


@dataclass(frozen=True, slots=True)
class Seen:
    """What the worker knows of one claimed record when it decides.

    ``task``: the task's state as DescribeTasks showed it (sent at ``described_at``), None
    when the task no longer exists, or the error the call failed with. ``service``: the
    service's snapshot, the error its lookup failed with, or None (not looked up).
    ``guards``: None until :class:`CheckGuards` was answered. ``described_again``: the
    state comes from the second DescribeTasks (:class:`DescribeAgain`); there is no third.
    """

    record: TaskRecord
    task: TaskState | DrainTerminatorError | None
    described_at: float
    service: ServiceSnapshot | DrainTerminatorError | None
    guards: GuardVerdict | None = None
    described_again: bool = False


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds a StopTask is sent within (the run's settings and timing constants).

    ``task_state_max_age_seconds``: how old the DescribeTasks may be; ``tags_max_age_seconds``:
    how old the service's tags and desired count; ``lease_margin_seconds``: how long the
    lease must still hold; ``unit_seconds``: how much of the invocation must be left.
    """

    dry_run: bool
    task_state_max_age_seconds: float
    tags_max_age_seconds: float
    lease_margin_seconds: float
    unit_seconds: float


# -- decisions ----------------------------------------------------------------------------
# Every decision carries the record as the rules left it (e.g. with a raised wait): the one
# the worker writes.


@dataclass(frozen=True, slots=True)
class Confirm:
    """Our StopTask was sent: close the record from what ``task`` shows (None: gone)."""

    record: TaskRecord
    task: TaskState | None


@dataclass(frozen=True, slots=True)
class Close:
    """Nothing is left to do: close the record with ``outcome`` (``seen``: the task)."""

    record: TaskRecord
    outcome: Outcome
    seen: TaskState | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """Give the record back, due again at ``until``; ``deferred``: a guard held it back
    (counted in ``StopsDeferred``), else ``why`` says what kept the stop from being sent."""

    record: TaskRecord
    until: float
    why: str
    deferred: bool = False


@dataclass(frozen=True, slots=True)
class LookupFailed:
    """A read the decision needs failed: try again soon (counted in ``LookupsFailed``)."""

    record: TaskRecord
    what: str
    error: DrainTerminatorError


@dataclass(frozen=True, slots=True)
class DryRun:
    """The stop is due and allowed, but the run or the service is dry-run: close the record
    as ``dry_run`` and log when the stop would have happened."""

    record: TaskRecord
    seen: TaskState


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop the task now with ``action`` (StopTask ``reason``)."""

    record: TaskRecord
    action: StopAction
    reason: str


@dataclass(frozen=True, slots=True)
class CheckGuards:
    """The task would be stopped: evaluate the service's guards first (they may read target
    health and take the stagger slot), then decide again with their verdict."""

    record: TaskRecord
    policy: ServicePolicy
    info: ServiceInfo | None


@dataclass(frozen=True, slots=True)
class DescribeAgain:
    """The task's state is too old to stop on: describe the task again, then decide again."""

    record: TaskRecord


Decision = Confirm | Close | Release | LookupFailed | DryRun | Stop | CheckGuards | DescribeAgain


# -- the rules ----------------------------------------------------------------------------

_CAUSES = frozenset(cause.value for cause in StopCause)


def decide(seen: Seen, limits: Limits, now: float, time_left: float) -> Decision:
    """The next step for ``seen.record`` at ``now``, with ``time_left`` seconds of the
    invocation left for work. Never a :class:`Stop` before the record's deadline, never one
    on stale facts, never a second one for a record whose stop was requested."""
    record, task = seen.record, seen.task
    if isinstance(task, DrainTerminatorError):
        return LookupFailed(record, "DescribeTasks", task)
    if record.status is RecordStatus.STOP_REQUESTED:
        return Confirm(record, task)
    if task is None:
        return Close(record, Outcome.TASK_GONE)
    if not task.draining:
        return Close(
            record, outcome_for_observed(record, task.stopped_reason, task.last_status), task
        )
    service = seen.service
    if not isinstance(service, ServiceSnapshot):
        return LookupFailed(
            record, "DescribeServices", service or NotFoundError("service not looked up")
        )
    policy = service.policy
    if not policy.enabled:
        return Close(record, Outcome.OPTED_OUT, task)
    # The cause as ECS shows it now (a draining task may since have been interrupted by
    # Spot), on the service as it is now (its load balancers may be gone): a cause that
    # is left to ECS closes the record without a stop and without any ELB call.
    cause = classify(task.stop_code, task.stopped_reason)
    if cause is StopCause.OTHER and record.cause in _CAUSES:
        cause = StopCause(record.cause)  # ECS shows no reason now: the event's stands
    cause = refine(cause, task.started_by or record.started_by, service.info)
    if leave_reason(cause, policy) is not None:
        return Close(replace(record, cause=cause.value), Outcome.NOT_SHORTENED, task)
    if policy.wait_seconds > record.wait_seconds:
        # The effective wait is the larger of the recorded and the current one.
        record = wait_raised(record, policy.wait_seconds)
        if record.due_at > now:
            return Release(record, record.due_at, "wait raised during the drain; stop postponed")
    if now < record.deadline:
        # The ledger hands over only records that are due: this rule keeps "never before
        # drain start + wait" true of this function on its own.
        return Release(record, max(record.due_at, record.deadline), "stop not sent: too early")
    guards = seen.guards
    if guards is None:
        return CheckGuards(record, policy, service.info)
    if isinstance(guards, DrainTerminatorError):
        return LookupFailed(record, "guard", guards)
    if isinstance(guards, Deferral):
        return Release(record, guards.until, guards.reason, deferred=True)
    if limits.dry_run or policy.dry_run:
        return DryRun(record, task)
    stale = now - seen.described_at > limits.task_state_max_age_seconds
    if stale and not seen.described_again:
        return DescribeAgain(record)
    unsafe = _unsafe(record, stale, now - service.read_at, limits, now, time_left)
    if unsafe is not None:
        return Release(record, record.due_at, "stop not sent: " + unsafe)
    return Stop(record, StopAction.STOP_TASK, stop_reason(record.wait_seconds))


def _unsafe(
    record: TaskRecord,
    stale: bool,
    tags_age: float,
    limits: Limits,
    now: float,
    time_left: float,
) -> str | None:
    """Why a stop must not be sent now (None: it may)."""
    if record.lease_until is None or record.lease_until - now < limits.lease_margin_seconds:
        return "the lease would expire before StopTask could finish"
    if stale:
        return "the task state is too old"
    if tags_age > limits.tags_max_age_seconds:
        return "the service's tags are too old"
    if time_left < limits.unit_seconds:
        return "the invocation has too little time left"
    return None
