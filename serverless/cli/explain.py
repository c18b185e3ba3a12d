"""``explain``: a task's history from its ledger record, and the decision in words.

Everything here is derived from the record's own fields (see
:class:`serverless.domain.model.TaskRecord`) and, for a task without a record, from what ECS and
the service's tags say now. No AWS calls: the command gathers, this module words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from serverless.cli.model import ServiceView, TaskView, task_id
from serverless.cli.render import duration, iso, seconds, when
from serverless.domain.actions import SENT
from serverless.domain.lifecycle import REASON_PREFIX
from serverless.domain.model import Outcome, RecordStatus, StopAction, StopCause, TaskRecord
from serverless.domain.tags import PolicyResult

__all__ = [
    "Decision",
    "Explanation",
    "explain_record",
    "explain_untracked",
    "guard_of",
    "history",
    "is_tombstone",
]

#: Names of the guards as the tags call them.
MIN_HEALTHY = "min-healthy-percent"
STAGGER = "stagger (max-stops-per-minute)"


def guard_of(defer_reason: str | None) -> str | None:
    """Which guard deferred a stop, from the reason the sweeper recorded."""
    if not defer_reason:
        return None
    text = defer_reason.lower()
    if "healthy target" in text or "min-healthy" in text:
        return MIN_HEALTHY
    if "per minute" in text or "stagger" in text:
        return STAGGER
    return "guard"


@dataclass(frozen=True, slots=True)
class Decision:
    """The terminator's decision about a task: a stable ``kind`` and a sentence."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """What ``explain`` prints: the task, its history and the decision."""

    task_arn: str
    decision: Decision
    history: list[tuple[float, str]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "task_arn": self.task_arn,
            "decision": {"kind": self.decision.kind, "text": self.decision.text},
            "history": [{"at": iso(at), "event": text} for at, text in self.history],
            **self.facts,
        }

    def render(self) -> str:
        """Text form."""
        lines = [f"task {task_id(self.task_arn)}", f"  {self.task_arn}"]
        for key, value in self.facts.items():
            if value is not None and not isinstance(value, dict | list):
                lines.append(f"  {key.replace('_', ' ')}: {value}")
        if self.history:
            lines.append("history")
            lines.extend(f"  {when(at)}  {text}" for at, text in self.history)
        lines.append(f"decision ({self.decision.kind})")
        lines.append(f"  {self.decision.text}")
        return "\n".join(lines)


def is_tombstone(record: TaskRecord) -> bool:
    """A record written from a STOPPED event that arrived before any drain event.

    Its "drain start" is the STOPPED event's own time, so it is not before the stop.
    """
    return (
        record.status is RecordStatus.CLOSED
        and record.stop_requested_at is None
        and record.stopped_at is not None
        and record.drain_started_at >= record.stopped_at
    )


def history(record: TaskRecord) -> list[tuple[float, str]]:
    """The record's milestones, in time order, in words."""
    if is_tombstone(record):
        return [
            (
                record.drain_started_at,
                "STOPPED event arrived before any drain event: record kept only so that a "
                "late drain event cannot open it (a tombstone)",
            ),
            *(
                [(record.closed_at, f"record closed: {record.outcome.value}")]
                if record.closed_at is not None and record.outcome is not None
                else []
            ),
        ]
    began = (
        "operator drain began (drain-terminator drain: its targets deregistered, ECS still runs it)"
        if record.cause == StopCause.OPERATOR.value
        else f"drain began (first drain event seen, ECS version {record.version})"
    )
    events: list[tuple[float, str]] = [
        (
            record.drain_started_at,
            f"{began}; wait {record.wait_seconds} s, so no early stop before "
            f"{when(record.deadline)}",
        )
    ]
    if record.deferrals:
        guard = guard_of(record.defer_reason) or "a guard"
        events.append(
            (
                record.deadline,
                f"deadline reached; early stop deferred {record.deferrals} time(s) by "
                f"{guard}: {record.defer_reason}",
            )
        )
    if record.actions:
        events.extend(_steps(record))
    elif record.stop_requested_at is not None:
        late = record.stop_requested_at - record.deadline
        events.append(
            (
                record.stop_requested_at,
                f"StopTask sent, {seconds(record.stop_requested_at - record.drain_started_at)} "
                f"after drain start ({seconds(late)} after the deadline): "
                f"{record.stop_reason or '-'}",
            )
        )
    if record.attempts:
        events.append(
            (record.closed_at or record.due_at, f"StopTask refused {record.attempts} time(s)")
        )
    if record.stopping_at is not None:
        events.append((record.stopping_at, "task began stopping (STOPPING)"))
    if record.stopped_at is not None:
        events.append(
            (record.stopped_at, f"task STOPPED: {record.stopped_reason or 'no reason given'}")
        )
    if record.closed_at is not None and record.outcome is not None:
        events.append((record.closed_at, f"record closed: {record.outcome.value}"))
    return sorted(events, key=lambda e: e[0])


def _steps(record: TaskRecord) -> list[tuple[float, str]]:
    """One history line per stop step taken (stop-task, exec, ssm-signal)."""
    lines = []
    plan = ", ".join(str(step) for step in record.plan) or "-"
    for number, step in enumerate(record.actions):
        after = seconds(step.at - record.drain_started_at)
        late = seconds(step.at - record.deadline)
        head = (
            f"stop action {step.action}: {step.outcome}, {after} after drain start "
            f"({late} after the deadline)"
        )
        if number == 0:
            head += f"; plan {plan}"
        if step.action is StopAction.STOP_TASK and step.outcome == SENT:
            head += f": {record.stop_reason or '-'}"
        if step.missing:
            head += f"; missing {step.missing}"
        if step.detail:
            head += f" ({step.detail})"
        lines.append((step.at, head))
    return lines


def _steps_taken(record: TaskRecord) -> str:
    """``stop-task SENT, exec SIGNALLED``: the steps in one phrase."""
    return ", ".join(f"{step.action} {step.outcome}" for step in record.actions)


def _left_to_ecs(record: TaskRecord) -> Decision:
    outcome = record.outcome
    if is_tombstone(record):
        reason = f" ({record.stopped_reason})" if record.stopped_reason else ""
        return Decision(
            "left-to-ecs",
            "left to ECS: the task had stopped before any drain event reached the "
            f"terminator{reason}",
        )
    if outcome is Outcome.STOPPED_BY_ECS:
        why = "ECS stopped the task itself"
        if record.deferrals:
            why += f" while the early stop was deferred by {guard_of(record.defer_reason)}"
        elif (
            record.stop_requested_at is None
            and record.closed_at is not None
            and record.closed_at < record.deadline
        ):
            why += " before the terminator's deadline"
        reason = f" ({record.stopped_reason})" if record.stopped_reason else ""
        return Decision("left-to-ecs", f"left to ECS: {why}{reason}")
    if outcome is Outcome.NOT_DRAINING:
        return Decision(
            "left-to-ecs",
            f"left to ECS: the task was no longer draining when checked "
            f"(last status {record.observed_status or 'unknown'})",
        )
    if outcome is Outcome.TASK_GONE:
        return Decision("left-to-ecs", "left to ECS: the task no longer existed when checked")
    if outcome is Outcome.PREREQUISITE_MISSING:
        missing = next((step for step in reversed(record.actions) if step.missing), None)
        what = f"{missing.action} lacks {missing.missing}" if missing else "a step lacks it"
        return Decision(
            "prerequisite-missing",
            f"left to ECS: {what} (steps: {_steps_taken(record) or '-'}); not retried "
            "(see docs/operations.md, StopPrerequisitesMissing)",
        )
    if outcome is Outcome.OPTED_OUT:
        return Decision(
            "left-to-ecs",
            "left to ECS: the service no longer opted in when the deadline came "
            "(tags re-read just before the stop)",
        )
    return Decision("left-to-ecs", f"left to ECS ({outcome})")


def _at_deadline(dry_run: bool | None) -> str:
    """What the sweeper does once the deadline has passed, as far as the tags tell."""
    if dry_run:
        return (
            "the service is in dry-run: the next sweeper pass only logs that it would stop "
            "it and closes the record as dry_run (StopTask is not called; ECS ends the drain)"
        )
    if dry_run is None:
        return (
            "the next sweeper pass stops it (if the service or the functions are in dry-run, "
            "it only logs that it would)"
        )
    return "the next sweeper pass stops it"


def explain_record(record: TaskRecord, now: float, dry_run: bool | None = None) -> Decision:
    """The decision a record stands for, at ``now``.

    ``dry_run``: whether the service's tags put it in dry-run now (None: not known).
    """
    if record.status is RecordStatus.DRAINING:
        if record.deferrals:
            guard = guard_of(record.defer_reason)
            wait = record.due_at - now
            again = f"looks again in {duration(wait)}" if wait > 0 else "looks again now"
            backstop = (
                "the task stays out of rotation meanwhile (ECS does not stop it by itself)"
                if record.cause == StopCause.OPERATOR.value
                else "ECS still stops it at the end of the deregistration delay"
            )
            return Decision(
                "deferred", f"deferred by {guard} ({record.defer_reason}); {again}; {backstop}"
            )
        due_in = record.due_at - now
        step = record.next_step
        if record.actions and step is None:
            # The last step was marked started and its run ended before the result.
            return Decision(
                "awaiting-confirmation",
                f"steps: {_steps_taken(record)}; every step of the plan was taken; the next "
                f"sweeper pass confirms whether the task stopped (at {when(record.due_at)})",
            )
        if record.actions and step is not None:
            moment = f"at {when(record.due_at)}" if due_in > 0 else "now"
            return Decision(
                "escalating",
                f"steps so far: {_steps_taken(record)}; {step} follows {moment} if the task "
                "is still draining then",
            )
        if due_in > 0:
            dry = "; the service is in dry-run: then it is only logged" if dry_run else ""
            return Decision(
                "not-yet",
                f"not yet: due in {duration(due_in)} (at {when(record.due_at)}, "
                f"{record.wait_seconds} s after the drain began){dry}",
            )
        leased = " (a sweeper run holds it now)" if record.leased(now) else ""
        return Decision("due", f"due {duration(-due_in)} ago; {_at_deadline(dry_run)}{leased}")
    if record.status is RecordStatus.STOP_REQUESTED:
        steps = f" (steps: {_steps_taken(record)})" if record.actions else ""
        return Decision(
            "awaiting-confirmation",
            f"stopped at {when(record.stop_requested_at)} for reason "
            f"{record.stop_reason!r}{steps}; waiting for the task to leave draining "
            f"(checked at {when(record.due_at)})",
        )
    outcome = record.outcome
    if outcome is Outcome.STOPPED_BY_TERMINATOR:
        at = record.stop_requested_at
        if at is None:
            return Decision(
                "stopped",
                f"stopped by the terminator (reason {record.stopped_reason!r}); "
                "the ledger saw only the result",
            )
        confirmed = (
            f"; the task began stopping {seconds(record.confirmation_seconds)} later"
            if record.confirmation_seconds is not None
            else ""
        )
        by = record.stopped_by
        action = (
            f"; stopped by {by} (steps: {_steps_taken(record)})" if record.actions and by else ""
        )
        return Decision(
            "stopped",
            f"stopped at {when(at)} for reason {record.stop_reason!r}, "
            f"{seconds(at - record.drain_started_at)} after the drain began{confirmed}{action}",
        )
    if outcome is Outcome.UNCONFIRMED:
        sent = (
            f"stop steps {_steps_taken(record)}, the last at {when(record.last_stop_at)},"
            if record.actions
            else f"StopTask sent at {when(record.stop_requested_at)}"
        )
        return Decision(
            "unconfirmed",
            f"{sent} but the task was still draining when checked at "
            f"{when(record.closed_at)}: the early stop had no effect "
            "(see docs/operations.md, StopsUnconfirmed)",
        )
    if outcome is Outcome.STOP_FAILED:
        failed = record.actions[-1] if record.actions else None
        if failed is not None and failed.action is not StopAction.STOP_TASK:
            return Decision(
                "stop-failed",
                f"{failed.action} failed ({failed.outcome}: {failed.detail or '-'}), not "
                f"retried; steps: {_steps_taken(record)}; left to ECS "
                "(see the sweeper's log and docs/operations.md, StopsFailed)",
            )
        return Decision(
            "stop-failed",
            f"StopTask was refused {record.attempts} time(s); left to ECS "
            "(see the sweeper's log and docs/operations.md, StopsFailed)",
        )
    if outcome is Outcome.DRY_RUN:
        return Decision(
            "dry-run",
            f"dry run: would have stopped it at {when(record.closed_at)}; StopTask not called",
        )
    return _left_to_ecs(record)


def explain_untracked(
    task_ref: str,
    task: TaskView | None,
    service: ServiceView | None,
    policy: PolicyResult | None,
    prefix: str,
) -> Decision:
    """Why a task has no ledger record, from ECS and the tags as they are now."""
    if task is None:
        return Decision(
            "unknown",
            f"no ledger record and ECS does not know task {task_id(task_ref)} in that "
            "cluster (stopped tasks are kept about an hour; records expire through TTL)",
        )
    if task.service_name is None:
        return Decision(
            "not-a-service-task",
            f"not a service task (group {task.group!r}): the terminator only handles tasks "
            "of ECS services",
        )
    if service is None or policy is None:
        return Decision(
            "not-opted-in", f"service {task.service_name!r} no longer exists: not opted in"
        )
    tags = _prefixed(service.tags, prefix)
    shown = ", ".join(f"{k}={v}" for k, v in tags.items()) or "no such tags"
    if not policy.policy.enabled:
        return Decision(
            "not-opted-in",
            f"not opted in: service {service.name!r} has {shown} (tags read now; "
            f"{prefix}enabled=true opts it in)",
        )
    if task.draining:
        return Decision(
            "not-tracked",
            f"the task is draining and the service opts in now ({shown}) but no drain was "
            "recorded: the service may have opted in after the drain began, or the "
            "task-events function did not receive the event (check its errors and the DLQ)",
        )
    if task.last_status == "DEACTIVATING":
        return Decision(
            "deactivating",
            f"deactivating (last status DEACTIVATING, desired {task.desired_status}): its "
            "targets are being deregistered, but ECS has not set desiredStatus STOPPED, which "
            f"is what the terminator keys a drain on; the service opts in ({shown}), so the "
            "drain is tracked once it does",
        )
    if task.last_status in {"STOPPING", "DEPROVISIONING", "STOPPED"}:
        who = (
            "the terminator"
            if (task.stopped_reason or "").startswith(REASON_PREFIX)
            else "ECS or someone else"
        )
        return Decision(
            "left-to-ecs",
            f"stopped by {who} ({task.stopped_reason or 'no reason given'}); "
            "no record (expired through TTL, or the service opted in later)",
        )
    return Decision(
        "not-draining",
        f"not draining (last status {task.last_status}, desired {task.desired_status}); "
        f"the service opts in ({shown}), so a drain will be tracked when it begins",
    )


def _prefixed(tags: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {k: v for k, v in sorted(tags.items()) if k.startswith(prefix)}
