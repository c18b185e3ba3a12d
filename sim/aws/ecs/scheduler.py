"""The ECS service scheduler, reduced to what a rolling deployment and scale-in do.

Rules (ECS rolling update, "ECS" deployment controller):

* tasks that are not STOPPED count towards ``maximumPercent`` of the desired count,
  draining ones included, which is why slow drains make deployments slow;
* an old task is drained only while the healthy tasks left stay at or above
  ``minimumHealthyPercent`` (new tasks count once all their targets are healthy);
* a scale-in drains the surplus at once (minimumHealthyPercent does not apply);
* a deployment is complete when only its own tasks are left, as many as desired, all
  healthy.

The scheduler reacts a couple of seconds after each change, as the real one works in
cycles rather than instantly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.aws.ecs.model import Deployment, EcsModel, Service, Task
from sim.engine.loop import EventLoop, Handle
from sim.engine.observe import Kind, ObservationLog

__all__ = ["SCHEDULER_DELAY_SECONDS", "ServiceScheduler"]

#: Seconds between a change and the scheduler acting on it.
SCHEDULER_DELAY_SECONDS = 2.0


class ServiceScheduler:
    """Keeps each service converging on its primary deployment and desired count."""

    def __init__(self, loop: EventLoop, log: ObservationLog, model: EcsModel) -> None:
        self.loop = loop
        self.log = log
        self.model = model
        self._pending: dict[str, Handle] = {}
        self.on_complete: list[Callable[[Service], None]] = []
        model.on_change.append(self._task_changed)

    def start(self, service: Service) -> None:
        """Launch the service's initial tasks, already running and healthy."""
        for _ in range(service.desired_count):
            self.model.launch(service, warm=True)
        service.primary.completed_at = self.loop.now

    def deploy(self, service: Service, deployment_id: str, task_definition_arn: str) -> None:
        """UpdateService with a new task definition: a new primary deployment."""
        service.deployments.append(Deployment(deployment_id, task_definition_arn, self.loop.now))
        self.log.record(
            self.loop.now,
            Kind.DEPLOYMENT_STARTED,
            service.arn,
            service=service.name,
            deployment=deployment_id,
            action="deploy",
        )
        self.poke(service)

    def scale(self, service: Service, desired_count: int, deployment_id: str) -> None:
        """UpdateService with a new desired count (scale-in or scale-out)."""
        service.desired_count = desired_count
        current = service.primary
        service.deployments.append(
            Deployment(deployment_id, current.task_definition_arn, self.loop.now)
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

    def poke(self, service: Service) -> None:
        """Reconcile ``service`` soon (coalesced)."""
        if service.arn in self._pending:
            return
        self._pending[service.arn] = self.loop.call_later(
            SCHEDULER_DELAY_SECONDS, lambda: self._reconcile(service), priority=1
        )

    def _task_changed(self, task: Task) -> None:
        self.poke(task.service)

    def _reconcile(self, service: Service) -> None:
        self._pending.pop(service.arn, None)
        spec, desired = service.spec, service.desired_count
        primary = service.primary
        live = [t for t in service.tasks if t.live]
        new = [t for t in live if t.deployment is primary and t.desired_status == "RUNNING"]
        old = [t for t in live if t.deployment is not primary and t.desired_status == "RUNNING"]
        max_total = math.floor(desired * spec.max_percent / 100)
        min_healthy = math.ceil(desired * spec.min_healthy_percent / 100)
        reason = f"Scaling activity initiated by (deployment {primary.id})"

        # Scale-in: drain the surplus of the primary deployment at once.
        if len(new) > desired and not old:
            for task in new[desired:]:
                self.model.drain(task, reason)
            new = new[:desired]

        # Start replacements as far as maximumPercent allows.
        for _ in range(max(0, min(desired - len(new), max_total - len(live)))):
            new.append(self.model.launch(service))
            live.append(new[-1])

        # Drain old tasks while enough healthy tasks remain.
        healthy = sum(1 for t in new + old if t.healthy)
        unhealthy_old = [t for t in old if not t.healthy]
        for task in unhealthy_old + [t for t in old if t.healthy]:
            if task.healthy:
                if healthy - 1 < min_healthy:
                    break
                healthy -= 1
            self.model.drain(task, reason)

        if (
            primary.completed_at is None
            and all(t.deployment is primary and t.desired_status == "RUNNING" for t in live)
            and len(live) == desired
            and all(t.healthy for t in live)
        ):
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
