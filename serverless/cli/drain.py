"""``drain TASK``: retire one running service task gracefully, through the sweeper.

:meth:`Drainer.plan` reads the task, the ledger, the service (the functions' own adapters
and :func:`serverless.domain.tags.parse_policy`), the groups that serve traffic now (the
sweeper's ``Guards.serving``) and their targets, and lets
:mod:`serverless.cli.drain_plan` refuse or plan. :meth:`Drainer.apply` deregisters the
task's targets and records an operator drain (cause ``operator``) whose wait runs from the
moment the last DeregisterTargets answered; from there the sweeper treats it as any drain:
guards, the service's stop action, confirmation. A drain that cannot be recorded is
undone (RegisterTargets), so a task is never left out of rotation with nothing to stop it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from serverless.cli.aws.ecs import TargetGroupReader
from serverless.cli.aws.session import AwsAccess
from serverless.cli.aws.targets import TargetAdmin, task_addresses
from serverless.cli.drain_plan import (
    DrainPlan,
    GroupFacts,
    Removal,
    check_record,
    check_service,
    check_task,
    plan_drain,
    task_not_found,
)
from serverless.domain.arns import cluster_name_of
from serverless.domain.clock import Clock
from serverless.domain.errors import DrainTerminatorError, NotFoundError, PermanentAwsError
from serverless.domain.lifecycle import operator_drain_record
from serverless.domain.model import StopAction
from serverless.domain.tags import parse_policy
from serverless.ports import Ports
from serverless.sweep.guards import Guards

__all__ = ["DrainFailed", "Drainer"]


class DrainFailed(DrainTerminatorError):
    """The drain could not be completed (the message says what was undone, or how to)."""


def _register_command(removals: Sequence[Removal]) -> str:
    commands = []
    for removal in removals:
        targets = " ".join(
            shlex.quote(f"Id={t.id}" + (f",Port={t.port}" if t.port is not None else ""))
            for t in removal.targets
        )
        commands.append(
            f"aws elbv2 register-targets --target-group-arn {removal.group.arn} --targets {targets}"
        )
    return "; ".join(commands)


class Drainer:
    """Plans and applies one operator drain."""

    def __init__(
        self,
        access: AwsAccess,
        ports: Ports,
        clock: Clock,
        *,
        prefix: str,
        default_wait: int,
        default_action: StopAction = StopAction.STOP_TASK,
    ) -> None:
        self._access = access
        self._ports = ports
        self._clock = clock
        self._prefix = prefix
        self._default_wait = default_wait
        self._default_action = default_action
        self._targets = TargetAdmin(access)

    def plan(self, task_ref: str, cluster: str, wait: int | None) -> DrainPlan:
        """The drain of the task, or :class:`DrainRefused` (nothing changed)."""
        addresses = task_addresses(self._access, cluster, task_ref)
        if addresses is None:
            raise task_not_found(task_ref, cluster)
        cluster_arn = addresses.cluster_arn or cluster
        task = self._ports.ecs.describe_tasks(cluster_arn, [addresses.task_arn]).get(
            addresses.task_arn
        )
        service_name = check_task(task_ref, task, cluster)
        assert task is not None  # check_task refuses a missing task
        check_record(self._ports.ledger.get(task.task_arn))
        info = self._ports.ecs.describe_services(cluster_arn, [service_name]).get(service_name)
        result = parse_policy(
            info.tags if info else {}, self._prefix, self._default_wait, self._default_action
        )
        cluster_name = cluster_name_of(task.task_arn) or cluster_arn.rsplit("/", 1)[-1]
        check_service(info, service_name, cluster_name, result, self._prefix)
        assert info is not None  # check_service refuses a missing service
        guards = Guards(self._ports.ledger, self._ports.health, self._clock, ecs=self._ports.ecs)
        serving = guards.serving(info, task.started_by, self._clock.now())
        reader = TargetGroupReader(self._access)
        protocols = reader.protocols(serving.target_group_arns)
        groups = []
        for arn in serving.target_group_arns:
            try:
                delay: int | None = reader.deregistration_delay(arn)
            except (NotFoundError, PermanentAwsError):
                delay = None
            groups.append(
                GroupFacts(arn, protocols.get(arn, ""), delay, tuple(self._targets.targets(arn)))
            )
        return plan_drain(task, addresses, cluster_arn, service_name, result, serving, groups, wait)

    def apply(self, plan: DrainPlan) -> float:
        """Deregister the task's targets, then record the drain; returns its start (when the
        last DeregisterTargets answered). Undone when the record cannot be written."""
        done: list[Removal] = []
        for removal in plan.removals:
            try:
                self._targets.deregister(removal.group.arn, removal.targets)
            except DrainTerminatorError as error:
                raise self._undo(done, f"DeregisterTargets failed ({error})") from error
            done.append(removal)
        started_at = self._clock.now()
        record = operator_drain_record(
            plan.task, plan.cluster_arn, plan.service_name, started_at, plan.wait_seconds
        )
        ledger = self._ports.ledger
        try:
            existing = ledger.get(plan.task_arn)
            if existing is None or not existing.is_open:
                ledger.put(record, None if existing is None else existing.rev)
                return started_at
        except DrainTerminatorError as error:
            raise self._undo(done, f"the drain could not be recorded ({error})") from error
        # ECS began stopping the task meanwhile and task-events recorded its drain: the
        # targets stay out (ECS deregisters them anyway), the drain is that one.
        raise DrainFailed(
            f"ECS began stopping the task meanwhile and its drain is in the ledger "
            f"({existing.cause or 'cause unknown'}): that drain goes on; see "
            f"drain-terminator explain {plan.task_arn}"
        )

    def _undo(self, done: Sequence[Removal], why: str) -> DrainFailed:
        """Register ``done``'s targets again; the error to raise, saying what happened."""
        if not done:
            return DrainFailed(f"{why}: nothing changed")
        try:
            for removal in done:
                self._targets.register(removal.group.arn, removal.targets)
        except DrainTerminatorError as error:
            return DrainFailed(
                f"{why}, and registering the targets again failed too ({error}): the task "
                f"is out of rotation with nothing to stop it; put it back with "
                f"{_register_command(done)}, or stop it with aws ecs stop-task"
            )
        return DrainFailed(f"{why}: its targets were registered again, nothing changed")
