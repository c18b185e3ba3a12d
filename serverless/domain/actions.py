"""Stop actions as a plan of steps: which steps a task gets, in which order, and how a
record remembers each step it took (so none is taken twice).

A plan is chosen once, at a record's first stop, from the service's policy, the steps the
deployment enables and what the task allows (a container to signal; a container instance
for ``ssm-signal``). The stated order: ``stop-task``, then ``exec``, then ``ssm-signal``.
Pure functions over frozen values; the sweeper writes what they return.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import replace

from serverless.domain.model import (
    ActionTaken,
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    StopAction,
    TaskRecord,
    TaskState,
)

__all__ = [
    "SENT",
    "SIGNAL_ACTIONS",
    "STARTED",
    "UNAVAILABLE",
    "Plan",
    "container_for",
    "plan_for",
    "step_result",
    "step_started",
    "step_taken",
    "stop_task_found",
]

#: ``ActionTaken.outcome`` of a StopTask ECS accepted.
SENT = "SENT"
#: ``ActionTaken.outcome`` written before a signal step's call (replaced by its result).
STARTED = "STARTED"
#: ``ActionTaken.outcome`` of a signal step whose AWS call stayed unavailable.
UNAVAILABLE = "UNAVAILABLE"
#: The steps that go through a :class:`serverless.domain.signals.SignalPort`.
SIGNAL_ACTIONS = frozenset({StopAction.EXEC, StopAction.SSM_SIGNAL})

_WANTED: dict[StopAction, tuple[StopAction, ...]] = {
    StopAction.STOP_TASK: (StopAction.STOP_TASK,),
    StopAction.EXEC: (StopAction.EXEC, StopAction.SSM_SIGNAL),
    StopAction.SSM_SIGNAL: (StopAction.SSM_SIGNAL,),
    StopAction.STOP_TASK_THEN_EXEC: (
        StopAction.STOP_TASK,
        StopAction.EXEC,
        StopAction.SSM_SIGNAL,
    ),
}

#: A plan and, when it is not what the policy asked for, why (logged as a warning).
Plan = tuple[tuple[StopAction, ...], str]


def container_for(policy: ServicePolicy, info: ServiceInfo | None) -> str | None:
    """The container a signal step signals: the tag's, else the load balancer's."""
    if policy.exec_container:
        return policy.exec_container
    return info.lb_container_name if info is not None else None


def plan_for(
    policy: ServicePolicy,
    enabled: Set[StopAction],
    task: TaskState,
    container: str | None,
) -> Plan:
    """The steps a task of this service gets, in order, each at most once.

    ``ssm-signal`` follows ``exec`` only with the service's ``ssm-fallback`` tag; it needs
    a container instance (EC2). A step the deployment does not enable (``enabled``) or the
    task does not allow is left out; when none is left, the plan is ``stop-task`` (today's
    behaviour) and the second value says why.
    """
    reasons: list[str] = []

    def allowed(step: StopAction) -> bool:
        if step not in enabled:
            reasons.append(f"{step} is not enabled in the module")
            return False
        if step is StopAction.STOP_TASK:
            return True
        if container is None:
            reasons.append(f"{step} has no container to signal (no load balancer container)")
            return False
        if step is StopAction.SSM_SIGNAL:
            if policy.stop_action is not StopAction.SSM_SIGNAL and not policy.ssm_fallback:
                return False  # a fallback the service did not allow: not a problem
            if task.container_instance_arn is None:
                reasons.append(f"{step} needs the EC2 launch type")
                return False
        return True

    plan = tuple(step for step in _WANTED[policy.stop_action] if allowed(step))
    if plan:
        return plan, ""
    why = "; ".join(reasons) or "no step allowed"
    return (StopAction.STOP_TASK,), f"stop action {policy.stop_action}: {why}; stop-task instead"


def _with(actions: tuple[ActionTaken, ...], taken: ActionTaken) -> tuple[ActionTaken, ...]:
    """``actions`` with ``taken`` replacing its STARTED entry, or appended (once)."""
    kept = tuple(
        a for a in actions if a != taken and not (a.action is taken.action and a.outcome == STARTED)
    )
    return (*kept, taken)


def step_result(record: TaskRecord, taken: ActionTaken) -> TaskRecord:
    """``record`` with the result of a step (replacing the step's STARTED mark)."""
    return replace(record, actions=_with(record.actions, taken))


def step_started(
    record: TaskRecord, action: StopAction, at: float, hold_until: float
) -> TaskRecord:
    """``record`` with a signal step marked STARTED at ``at``, written before its call: the
    lease (and the due time, should the run die) extended to ``hold_until``, past the
    call's time bound. The step then counts as taken whatever happens to the run."""
    return replace(
        record,
        actions=(*record.actions, ActionTaken(action, at, STARTED)),
        lease_until=hold_until,
        due_at=hold_until,
    )


def step_taken(
    record: TaskRecord,
    taken: ActionTaken,
    *,
    reason: str,
    escalate_at: float,
    confirm_at: float,
) -> TaskRecord:
    """``record`` after a step that was delivered, or that failed with a step left.

    With a next step: still ``draining``, due at ``escalate_at`` (after a delivered step:
    the escalation is taken only if the task still drains then) or at once (after a failed
    one). Without: ``stop_requested``, due for confirmation at ``confirm_at``. The first
    delivered step sets ``stop_requested_at`` and ``stop_reason``.
    """
    changed = replace(
        record, actions=_with(record.actions, taken), lease_owner=None, lease_until=None
    )
    if taken.delivered and changed.stop_requested_at is None:
        changed = replace(changed, stop_requested_at=taken.at, stop_reason=reason)
    if changed.next_step is not None:
        due = escalate_at if taken.delivered else taken.at
        return replace(changed, status=RecordStatus.DRAINING, due_at=due)
    return replace(changed, status=RecordStatus.STOP_REQUESTED, due_at=confirm_at)


def stop_task_found(
    record: TaskRecord, at: float, reason: str, *, escalate_at: float, confirm_at: float
) -> TaskRecord:
    """``record`` with a StopTask that reached its task but was never recorded (the run that
    sent it died, or its write failed), as sent at ``at`` with ``reason``: then as after any
    delivered step (due for escalation or confirmation), the claim kept."""
    taken = ActionTaken(StopAction.STOP_TASK, at, SENT)
    found = step_taken(record, taken, reason=reason, escalate_at=escalate_at, confirm_at=confirm_at)
    return replace(found, lease_owner=record.lease_owner, lease_until=record.lease_until)
