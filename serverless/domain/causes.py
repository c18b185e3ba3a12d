"""Stop causes: why ECS is stopping a task, read from the event, and the policy for each.

:func:`classify` reads ``stopCode`` and ``stoppedReason`` (events and DescribeTasks carry
both); :func:`refine` tells a deployment from a scale-in by the task's ``startedBy`` and
the service's primary deployment or task set, and marks services without any load
balancer; :func:`leave_reason` is the policy: None when the drain is shortened (stopped
once its wait is over), else why it is left to ECS. The table, in words, is in the README
("What it guarantees") and docs/contracts.md.

What is recognised, and where the texts come from (``stopCode`` is an enum of the ECS API,
``stoppedReason`` free text that AWS does not promise to keep; aws/containers-roadmap #612
asks for a stop code for health-check failures because the text is the only sign):

- ``stopCode`` values: ``TaskFailedToStart``, ``EssentialContainerExited``,
  ``UserInitiated``, ``ServiceSchedulerInitiated``, ``SpotInterruption``,
  ``TerminationNotice`` (ECS API reference, ``Task.stopCode``; the same enum is in
  botocore's service model, ``TaskStopCode``).
- ``"Scaling activity initiated by (deployment ecs-svc/<id>)"`` with
  ``ServiceSchedulerInitiated``: the service scheduler scaling a deployment down, in a
  rolling update (the old deployment) and a scale-in (the primary one) alike. AWS
  Knowledge Center "Why is my Amazon ECS task stopped?" ("Service scaling event
  triggered"); publicly recorded events show the reason naming the task's own
  ``startedBy``, so the reason alone does not tell the two apart: :func:`refine` does.
- ``"Task failed ELB health checks in (elb <name>)"`` / ``"... in (target-group <arn>)"``
  and ``"Task failed container health checks"``: the same Knowledge Center page ("Failed
  Elastic Load Balancing (ELB) health checks", "Failed container health checks"). A task
  that never became healthy is stopped with the same texts: they cannot be told apart.
- ``"... container instance is in DRAINING state"``: service tasks on an EC2 container
  instance set to DRAINING (manually, by an ASG lifecycle hook, by capacity-provider
  managed draining); public EventBridge filters match it as
  ``*container instance is in DRAINING state*``. The ECS guide ("Container instance
  draining") says RUNNING service tasks "are transitioned to a STOPPED state" and
  replaced within the service's minimum and maximum percent.
- ``stopCode`` ``SpotInterruption`` or ``TerminationNotice``, ``stoppedReason``
  ``"Your Spot Task was interrupted."``: Fargate Spot's two-minute warning (ECS guide,
  "Amazon ECS task state change events", whose example carries ``TerminationNotice``;
  AWS Knowledge Center, Fargate Spot termination notices: such tasks "may not be
  deregistered from the load balancer target group until the task transitions to the
  STOPPED state").
- ``"ECS is performing maintenance on the underlying infrastructure hosting the task"``:
  task retirement (Knowledge Center, "Underlying infrastructure maintenance").
- ``UserInitiated`` (``"Task stopped by user"`` when no reason was given): a StopTask by
  someone else; since February 2023 ECS deregisters a service task before stopping it.

:attr:`StopCause.OPERATOR` is never read from ECS: only ``drain-terminator drain TASK``
writes it (:func:`serverless.domain.lifecycle.operator_drain_record`); it is shortened.
"""

from __future__ import annotations

from serverless.domain.model import ServiceInfo, ServicePolicy, StopCause, UnhealthyAction

__all__ = [
    "INTERRUPTION_STOP_CODES",
    "LEFT_TO_ECS",
    "classify",
    "leave_reason",
    "refine",
]

#: stopCodes of an interruption: the task already got SIGTERM and keeps its target
#: registered until it is STOPPED, so there is no drain to cut short.
INTERRUPTION_STOP_CODES = frozenset({"SpotInterruption", "TerminationNotice"})
SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
USER_INITIATED = "UserInitiated"

#: Lower-cased fragments of stoppedReason, checked in this order (the first match wins).
_REASONS: tuple[tuple[str, StopCause], ...] = (
    ("your spot task was interrupted", StopCause.SPOT_INTERRUPTION),
    ("failed elb health checks", StopCause.HEALTH_CHECK),
    ("failed container health checks", StopCause.HEALTH_CHECK),
    ("container instance is in draining state", StopCause.INSTANCE_DRAINING),
    ("performing maintenance on the underlying infrastructure", StopCause.MAINTENANCE),
    ("scaling activity initiated by", StopCause.SERVICE_SCHEDULER),
)

#: Why a cause is never shortened, whatever the service's tags.
LEFT_TO_ECS: dict[StopCause, str] = {
    StopCause.SPOT_INTERRUPTION: (
        "Spot interruption: the task already got SIGTERM and stays registered until it "
        "is STOPPED; there is no drain to cut short"
    ),
    StopCause.NO_TARGET_GROUP: (
        "the service has no load balancer: there is no deregistration delay to shorten"
    ),
}


def classify(stop_code: str | None, stopped_reason: str | None) -> StopCause:
    """The cause a task is being stopped for, from its ``stopCode`` and ``stoppedReason``."""
    if stop_code in INTERRUPTION_STOP_CODES:
        return StopCause.SPOT_INTERRUPTION
    reason = (stopped_reason or "").lower()
    for fragment, cause in _REASONS:
        if fragment in reason:
            return cause
    if stop_code == SERVICE_SCHEDULER_INITIATED:
        return StopCause.SERVICE_SCHEDULER
    if stop_code == USER_INITIATED:
        return StopCause.USER_INITIATED
    return StopCause.OTHER


def refine(cause: StopCause, started_by: str | None, info: ServiceInfo | None) -> StopCause:
    """``cause`` made precise with what DescribeServices shows of the task's service.

    A service without any load balancer: :attr:`StopCause.NO_TARGET_GROUP` (a Spot
    interruption stays one). A scheduler stop of a task whose ``startedBy`` is the
    service's primary deployment or primary task set: a scale-in; of any other: a
    deployment replacing it. Unknown (no ``startedBy``, no primary): unchanged.
    """
    if info is None:
        return cause
    if not info.load_balanced and cause is not StopCause.SPOT_INTERRUPTION:
        return StopCause.NO_TARGET_GROUP
    if cause is not StopCause.SERVICE_SCHEDULER or not started_by:
        return cause
    primary = next((s.task_set_id for s in info.task_sets if s.status == "PRIMARY"), None)
    primary = primary or info.primary_deployment_id
    if primary is None:
        return cause
    return StopCause.SCALE_IN if started_by == primary else StopCause.DEPLOYMENT


def leave_reason(cause: StopCause, policy: ServicePolicy) -> str | None:
    """Why a drain of ``cause`` is left to ECS (closed at once, never stopped), or None
    when it is shortened like any drain."""
    fixed = LEFT_TO_ECS.get(cause)
    if fixed is not None:
        return fixed
    if cause is StopCause.HEALTH_CHECK and policy.unhealthy is UnhealthyAction.LEAVE:
        return "failed health checks, and the service's tags leave such drains to ECS"
    return None
