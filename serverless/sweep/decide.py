"""What the sweeper does with one claimed record: a pure function of what it has seen.

:func:`decide` states every rule an early stop obeys, top to bottom, and returns a
:data:`Decision` value; :class:`serverless.sweep.batch.BatchWorker` applies it in one place
(writes, metrics, logs, the AWS call). Two values ask for a fact before the decision can be
made: :class:`CheckGuards` (target health and the stagger slot, read only for a task that
would otherwise be stopped) and :class:`DescribeAgain` (the task's state is older than the
bound a StopTask may follow). The worker gathers the fact and calls :func:`decide` again.
A third, :class:`Settle`, records a StopTask of ours that reached the task but that no
run recorded (the task shows our stop reason); the worker logs it and decides again.

New stop causes, stop actions and per-account bounds extend the values (:class:`Seen`,
:class:`Limits`, the service's policy) and the rules below; the worker's loop stays as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from serverless.domain.actions import SIGNAL_ACTIONS, container_for, plan_for, stop_task_found
from serverless.domain.causes import classify, leave_reason, refine
from serverless.domain.errors import DrainTerminatorError, NotFoundError
from serverless.domain.lifecycle import (
    REASON_PREFIX,
    in_drain,
    outcome_for_observed,
    stop_reason,
    wait_raised,
)
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
from serverless.domain.signals import DEFAULT_SIGNAL, SignalCommand, SignalTarget

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
    "Settle",
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
    #: The steps the deployment may take (StopTask always; a signal step with its port).
    enabled_actions: frozenset[StopAction] = frozenset({StopAction.STOP_TASK})
    #: The longest a signal step's call can take (its port's ``time_bound``): it is started
    #: only with ``unit_seconds`` plus this much of the invocation left.
    action_seconds: Mapping[StopAction, float] = field(default_factory=dict)
    #: The signal and command of a service whose tags name none (the module's settings).
    stop_signal: str = DEFAULT_SIGNAL
    stop_command: str | None = None
    #: When a delivered step is followed by the plan's next one, or its effect confirmed
    #: (the settings' ``escalate_after_seconds`` and ``confirm_after_seconds``).
    escalate_after_seconds: float = 20.0
    confirm_after_seconds: float = 60.0


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
    (counted in ``StopsDeferred``), else ``why`` says what kept the stop from being sent.
    ``hand_over``: this run lacks the time for the step: it takes no more work and hands
    over to a new run, which has the time."""

    record: TaskRecord
    until: float
    why: str
    deferred: bool = False
    hand_over: bool = False


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
    """Take the step ``action`` now (``stop-task``, ``exec`` or ``ssm-signal``).

    ``reason``: the StopTask reason (a signal step's: what it sends, for the record).
    ``target`` and ``command``: what a signal step signals. ``note``: why the record's plan
    is not what the service asked for (logged as a warning), if it is not.
    """

    record: TaskRecord
    action: StopAction
    reason: str
    target: SignalTarget | None = None
    command: SignalCommand | None = None
    note: str = ""


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


@dataclass(frozen=True, slots=True)
class Settle:
    """The draining task shows our stop reason, yet no StopTask is recorded: the run that
    sent it died before recording it, or its write failed. ``record`` has it as sent now
    (never sent again); decide again on it (escalation or confirmation as usual)."""

    record: TaskRecord


Decision = (
    Confirm | Close | Release | LookupFailed | DryRun | Stop | CheckGuards | DescribeAgain | Settle
)


# -- the rules ----------------------------------------------------------------------------

_CAUSES = frozenset(cause.value for cause in StopCause)
_NO_TIME = "the invocation has too little time left"


def decide(seen: Seen, limits: Limits, now: float, time_left: float) -> Decision:
    """The next step for ``seen.record`` at ``now``, with ``time_left`` seconds of the
    invocation left for work. Never a :class:`Stop` before the record's deadline (an
    escalation: before its due time), never one on stale facts, never a step of the plan
    twice, never a step after the last one."""
    record, task = seen.record, seen.task
    if isinstance(task, DrainTerminatorError):
        return LookupFailed(record, "DescribeTasks", task)
    if record.status is RecordStatus.STOP_REQUESTED:
        if task is not None and in_drain(record, task) and now < record.due_at:
            # A StopTask found (Settle) is confirmed at its time, like any other's.
            return Release(record, record.due_at, "stop requested; confirmed later")
        return Confirm(record, task)
    # A step was taken before: this is an escalation to the plan's next step, taken only
    # if the task still drains (a delivered step's effect is confirmed otherwise).
    escalating = bool(record.actions)
    if escalating and (task is None or not in_drain(record, task) or record.next_step is None):
        return Confirm(record, task)
    if task is None:
        return Close(record, Outcome.TASK_GONE)
    if not in_drain(record, task):
        # An operator drain's task is RUNNING with desired RUNNING: that is its drain.
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
    if not escalating and (task.stopped_reason or "").startswith(REASON_PREFIX):
        # StopTask sets the task's stop reason whether or not it cuts the drain short, so a
        # draining task showing ours got a StopTask no run recorded: recorded now, never
        # sent twice. Without our reason none reached it, and it is sent: never lost.
        plan, _ = plan_for(
            policy, limits.enabled_actions, task, container_for(policy, service.info)
        )
        if plan[0] is StopAction.STOP_TASK:
            found = stop_task_found(
                replace(record, plan=plan),
                now,
                task.stopped_reason or "",
                escalate_at=now + limits.escalate_after_seconds,
                confirm_at=now + limits.confirm_after_seconds,
            )
            return Settle(found)
    if (
        not escalating
        and cause is not StopCause.OPERATOR
        and policy.wait_seconds > record.wait_seconds
    ):
        # The effective wait is the larger of the recorded and the current one (an
        # operator drain keeps the wait the operator chose when starting it).
        record = wait_raised(record, policy.wait_seconds)
        if record.due_at > now:
            return Release(record, record.due_at, "wait raised during the drain; stop postponed")
    if now < record.deadline:
        # The ledger hands over only records that are due: this rule keeps "never before
        # drain start + wait" true of this function on its own.
        return Release(record, max(record.due_at, record.deadline), "stop not sent: too early")
    if escalating and now < record.due_at:
        # Likewise for an escalation: never before ESCALATE_AFTER_SECONDS after the step.
        return Release(record, record.due_at, "next stop step not sent: too early")
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
    container = container_for(policy, service.info)
    note = ""
    planned = record
    if escalating:
        step = record.next_step
        assert step is not None  # checked above
        if step not in limits.enabled_actions or (step in SIGNAL_ACTIONS and container is None):
            # The module no longer enables it, or the service no longer names a container.
            return Close(record, Outcome.PREREQUISITE_MISSING, task)
    else:
        # The plan is chosen at the first stop and kept: a released record chooses again.
        plan, note = plan_for(policy, limits.enabled_actions, task, container)
        planned, step = replace(record, plan=plan), plan[0]
    unsafe = _unsafe(record, step, stale, now - service.read_at, limits, now, time_left)
    if unsafe is not None:
        # Due again at once: for the next run, when this one lacks the time for the step.
        return Release(
            record, record.due_at, "stop not sent: " + unsafe, hand_over=unsafe == _NO_TIME
        )
    reason = stop_reason(record.wait_seconds)
    if step not in SIGNAL_ACTIONS or container is None:
        return Stop(planned, step, reason, note=note)
    command = SignalCommand(
        signal=policy.stop_signal or limits.stop_signal,
        command=policy.stop_command or limits.stop_command,
    )
    target = SignalTarget(record.cluster_arn, record.task_arn, container)
    return Stop(planned, step, f"{step}: {command.shell_command}", target, command, note)


def _unsafe(
    record: TaskRecord,
    step: StopAction,
    stale: bool,
    tags_age: float,
    limits: Limits,
    now: float,
    time_left: float,
) -> str | None:
    """Why ``step`` must not be taken now (None: it may). A signal step's lease is extended
    past its time bound by the write that marks it started (conditional on the claim)."""
    if record.lease_until is None or record.lease_until - now < limits.lease_margin_seconds:
        return "the lease would expire before StopTask could finish"
    if stale:
        return "the task state is too old"
    if tags_age > limits.tags_max_age_seconds:
        return "the service's tags are too old"
    if time_left < limits.unit_seconds + limits.action_seconds.get(step, 0.0):
        return _NO_TIME
    return None
