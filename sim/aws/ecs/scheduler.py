"""The ECS service scheduler, reduced to what deployments, scale-in and replacements do.

Rules (ECS rolling update, "ECS" deployment controller):

* tasks that are not STOPPED count towards ``maximumPercent`` of the desired count,
  draining ones included, which is why slow drains make deployments slow;
* an old task is drained only while the healthy tasks left stay at or above
  ``minimumHealthyPercent`` (new tasks count once all their targets are healthy);
* a scale-in drains the surplus at once (minimumHealthyPercent does not apply);
* service tasks on a container instance set to DRAINING are replaced like old tasks,
  within the same minimum and maximum percent (ECS guide, "Container instance draining");
* a task whose targets fail their health checks is stopped and replaced (AWS Knowledge
  Center, "Why is my Amazon ECS task stopped?");
* a deployment is complete when only its own tasks are left, as many as desired, all
  healthy.

Other controllers (ECS-native blue/green, CODE_DEPLOY and EXTERNAL task sets) are run by
:class:`sim.aws.ecs.controllers.Controllers`, which the scheduler extends.

The scheduler reacts a couple of seconds after each change, as the real one works in
cycles rather than instantly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.aws.ecs.controllers import (
    BLUE_GREEN_STAGES,
    Controllers,
    ModelTaskSets,
    TaskSetControl,
)
from sim.aws.ecs.model import (
    HEALTH_CHECK_REASON,
    INSTANCE_DRAINING_REASON,
    Deployment,
    EcsModel,
    Service,
    Task,
)
from sim.engine.loop import EventLoop, Handle
from sim.engine.observe import Kind, ObservationLog

__all__ = [
    "BLUE_GREEN_STAGES",
    "SCHEDULER_DELAY_SECONDS",
    "ModelTaskSets",
    "ServiceScheduler",
    "TaskSetControl",
]

#: Seconds between a change and the scheduler acting on it.
SCHEDULER_DELAY_SECONDS = 2.0


class ServiceScheduler(Controllers):
    """Keeps each service converging on its primary deployment and desired count."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        model: EcsModel,
        control: TaskSetControl | None = None,
    ) -> None:
        self.loop = loop
        self.log = log
        self.model = model
        self.control: TaskSetControl = control or ModelTaskSets(model.seed)
        self._pending: dict[str, Handle] = {}
        #: Called when a deployment completes and whenever a service is steady again
        #: (every task its deployment's, as many as desired, all healthy).
        self.on_complete: list[Callable[[Service], None]] = []
        model.on_change.append(self._task_changed)

    # -- set-up ---------------------------------------------------------------------------

    def start(self, service: Service) -> None:
        """Launch the service's initial tasks, already running and healthy."""
        first = service.deployments[0]
        groups = service.target_groups
        if service.spec.task_sets:
            first.target_groups = groups[:1]
            if first.task_set_arn is None:
                first.id, first.task_set_arn = self.control.create_task_set(
                    service, first.task_definition_arn, groups[0] if groups else None
                )
                self.control.set_primary(service, first)
            service.serving = list(groups[:1])
        elif service.spec.blue_green:
            first.target_groups = groups[:1]
            first.revision_arn = first.revision_arn or self._revision_arn(service)
            service.revisions[first.revision_arn] = list(groups[:1])
            service.serving = list(groups[:1])
        else:
            service.serving = list(groups)
        for _ in range(service.desired_count):
            self.model.launch(service, warm=True)
        first.completed_at = self.loop.now

    # -- actions --------------------------------------------------------------------------

    def deploy(self, service: Service, deployment_id: str, task_definition_arn: str) -> None:
        """A new deployment of ``task_definition_arn``: UpdateService (rolling, blue/green),
        or the controller's new task set (CODE_DEPLOY, EXTERNAL)."""
        if service.spec.task_sets:
            self._deploy_task_set(service, task_definition_arn)
            return
        deployment = Deployment(deployment_id, task_definition_arn, self.loop.now)
        if service.spec.blue_green:
            self._deploy_blue_green(service, deployment)
        service.deployments.append(deployment)
        self.log.record(
            self.loop.now,
            Kind.DEPLOYMENT_STARTED,
            service.arn,
            service=service.name,
            deployment=deployment.id,
            action="deploy",
        )
        self.poke(service)

    def scale(self, service: Service, desired_count: int, deployment_id: str) -> None:
        """UpdateService with a new desired count (scale-in or scale-out)."""
        service.desired_count = desired_count
        current = service.primary
        if service.spec.task_sets:
            # A task set's computedDesiredCount follows the service's desired count.
            self.log.record(
                self.loop.now,
                Kind.DEPLOYMENT_STARTED,
                service.arn,
                service=service.name,
                deployment=current.id,
                action="scale",
                desired_count=desired_count,
            )
            current.completed_at = None
            self.poke(service)
            return
        service.deployments.append(
            Deployment(
                deployment_id,
                current.task_definition_arn,
                self.loop.now,
                target_groups=current.target_groups,
                revision_arn=current.revision_arn,
            )
        )
        # A scaling activity keeps the running tasks: they now belong to the new record.
        for task in service.tasks:
            if task.deployment is current:
                task.deployment = service.primary
        self.log.record(
            self.loop.now,
            Kind.DEPLOYMENT_STARTED,
            service.arn,
            service=service.name,
            deployment=deployment_id,
            action="scale",
            desired_count=desired_count,
        )
        self.poke(service)

    def drain_instance(self, service: Service) -> None:
        """Set the container instance of ``service``'s first live task to DRAINING."""
        live = [t for t in service.tasks if t.live and t.instance is not None]
        if live and live[0].instance is not None:
            self.model.drain_instance(live[0].instance)

    def poke(self, service: Service) -> None:
        """Reconcile ``service`` soon (coalesced)."""
        if service.arn in self._pending:
            return
        self._pending[service.arn] = self.loop.call_later(
            SCHEDULER_DELAY_SECONDS, lambda: self._reconcile(service), priority=1
        )

    def _task_changed(self, task: Task) -> None:
        self.poke(task.service)

    # -- reconcile ------------------------------------------------------------------------

    def _replace_unhealthy(self, service: Service, live: list[Task]) -> None:
        for task in live:
            if (
                task.failing
                and task.desired_status == "RUNNING"
                and any(target.state == "unhealthy" for _, target in task.targets)
            ):
                group = next(g for g, t in task.targets if t.state == "unhealthy")
                self.model.drain(task, HEALTH_CHECK_REASON.format(arn=group.arn), cause="unhealthy")

    def _reconcile(self, service: Service) -> None:
        self._pending.pop(service.arn, None)
        live = [t for t in service.tasks if t.live]
        self._replace_unhealthy(service, live)
        if service.spec.task_sets:
            self._reconcile_task_sets(service, live)
        elif service.spec.blue_green and service.service_deployments:
            self._reconcile_blue_green(service, live)
        if not (service.spec.task_sets or self._blue_green_busy(service)):
            self._reconcile_rolling(service)
        self._check_complete(service)

    def _blue_green_busy(self, service: Service) -> bool:
        records = service.service_deployments
        return bool(records) and records[-1].status == "IN_PROGRESS"

    def _reconcile_rolling(self, service: Service) -> None:
        spec, desired = service.spec, service.desired_count
        primary = service.primary
        live = [t for t in service.tasks if t.live]
        running = [t for t in live if t.desired_status == "RUNNING"]
        evicted = [t for t in running if t.instance is not None and t.instance.status == "DRAINING"]
        new = [t for t in running if t.deployment is primary and t not in evicted]
        old = [t for t in running if t.deployment is not primary and t not in evicted]
        max_total = math.floor(desired * spec.max_percent / 100)
        min_healthy = math.ceil(desired * spec.min_healthy_percent / 100)
        reason = f"Scaling activity initiated by (deployment {primary.id})"

        # Scale-in: drain the surplus of the primary deployment at once.
        if len(new) > desired and not old:
            for task in new[desired:]:
                self.model.drain(task, reason, cause="scale-in")
            new = new[:desired]

        # Start replacements as far as maximumPercent allows.
        for _ in range(max(0, min(desired - len(new), max_total - len(live)))):
            new.append(self.model.launch(service))
            live.append(new[-1])

        # Drain old (and evicted) tasks while enough healthy tasks remain.
        healthy = sum(1 for t in new + old + evicted if t.healthy)
        leaving = old + evicted
        for task in [t for t in leaving if not t.healthy] + [t for t in leaving if t.healthy]:
            if task.healthy:
                if healthy - 1 < min_healthy:
                    break
                healthy -= 1
            if task in evicted:
                text = INSTANCE_DRAINING_REASON.format(service=service.name)
                self.model.drain(task, text, cause="instance-drain")
            else:
                self.model.drain(task, reason, cause="deployment")

    def _check_complete(self, service: Service) -> None:
        primary = service.primary
        live = [t for t in service.tasks if t.live]
        count = (
            self._set_count(service, primary) if service.spec.task_sets else service.desired_count
        )
        steady = (
            all(t.deployment is primary and t.desired_status == "RUNNING" for t in live)
            and len(live) == count
            and all(t.healthy for t in live)
            and not self._blue_green_busy(service)
            and all(t.instance is None or t.instance.status == "ACTIVE" for t in live)
        )
        if not steady:
            return
        if primary.completed_at is None:
            primary.completed_at = self.loop.now
            self.log.record(
                self.loop.now,
                Kind.DEPLOYMENT_COMPLETED,
                service.arn,
                service=service.name,
                deployment=primary.id,
                seconds=self.loop.now - primary.started_at,
            )
        for callback in self.on_complete:
            callback(service)
