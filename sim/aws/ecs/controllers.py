"""Deployment controllers other than the rolling update: ECS-native blue/green and task sets.

* **ECS-native blue/green** (``deploymentConfiguration.strategy`` BLUE_GREEN; ECS guide,
  "Amazon ECS blue/green deployments"): a new service revision scales up in the alternate
  target group, the lifecycle goes SCALE_UP → TEST_TRAFFIC_SHIFT → PRODUCTION_TRAFFIC_SHIFT
  (the listener moves; with an NLB ECS adds a 10-minute delay to traffic-shift stages) →
  BAKE_TIME → CLEAN_UP, where the old revision's tasks drain from the old group.
* **CODE_DEPLOY** (ECS guide, "CodeDeploy blue/green deployments"): a replacement task set
  in the other target group, traffic rerouted to it (it becomes PRIMARY), the original set
  deleted after ``terminationWaitTimeInMinutes``.
* **EXTERNAL**, the aws-samples "controlled scale-down" over an NLB (seed 003): a new task
  set on the non-production group, the listener swapped, then the old set scaled down by
  ``scaledown_decrement`` percent every ``scaledown_wait`` seconds, and deleted.

Each step is logged as ``Kind.DEPLOYMENT_STEP``; :class:`TaskSetControl` mirrors it in moto
so DescribeServices and DescribeTaskSets answer as ECS would. :class:`Controllers` is the
part of :class:`sim.aws.ecs.scheduler.ServiceScheduler` that runs them.
"""

from __future__ import annotations

import functools
import math
import random
from typing import Protocol

from sim.aws.ecs.model import Deployment, EcsModel, Service, TargetGroup, Task
from sim.aws.ecs.state import ServiceDeployment
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog

__all__ = ["BLUE_GREEN_STAGES", "Controllers", "ModelTaskSets", "TaskSetControl"]

#: ECS-native blue/green lifecycle stages after SCALE_UP, with how long each takes (None:
#: the spec's traffic shift or bake time). Stages with lifecycle hooks would wait for
#: them; these services have none.
BLUE_GREEN_STAGES: tuple[tuple[str, float | None], ...] = (
    ("POST_SCALE_UP", 1.0),
    ("TEST_TRAFFIC_SHIFT", 1.0),
    ("POST_TEST_TRAFFIC_SHIFT", 1.0),
    ("PRODUCTION_TRAFFIC_SHIFT", None),
    ("POST_PRODUCTION_TRAFFIC_SHIFT", 1.0),
    ("BAKE_TIME", None),
    ("CLEAN_UP", 0.0),
)


class TaskSetControl(Protocol):
    """Where task-set and listener changes are mirrored (moto in a run)."""

    def create_task_set(
        self, service: Service, task_definition_arn: str, group: TargetGroup | None
    ) -> tuple[str, str]:
        """CreateTaskSet: returns the set's id (``ecs-svc/<digits>``) and ARN."""
        ...

    def set_primary(self, service: Service, deployment: Deployment) -> None:
        """UpdateServicePrimaryTaskSet."""
        ...

    def scale(self, service: Service, deployment: Deployment) -> None:
        """UpdateTaskSet with the set's ``scale_percent``."""
        ...

    def delete(self, service: Service, deployment: Deployment) -> None:
        """DeleteTaskSet."""
        ...

    def forward(self, service: Service, groups: list[TargetGroup]) -> None:
        """The production listener now forwards to ``groups``."""
        ...


class ModelTaskSets:
    """A :class:`TaskSetControl` with nothing to mirror: ids from a seeded stream."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}:task-sets")

    def create_task_set(
        self, service: Service, task_definition_arn: str, group: TargetGroup | None
    ) -> tuple[str, str]:
        set_id = f"ecs-svc/{self.rng.randrange(10**18, 10**19)}"
        arn = service.arn.replace(":service/", ":task-set/") + "/" + set_id
        return set_id, arn

    def set_primary(self, service: Service, deployment: Deployment) -> None:
        return None

    def scale(self, service: Service, deployment: Deployment) -> None:
        return None

    def delete(self, service: Service, deployment: Deployment) -> None:
        return None

    def forward(self, service: Service, groups: list[TargetGroup]) -> None:
        return None


class Controllers:
    """Blue/green and task-set deployments, for the scheduler (its ``poke`` reconciles)."""

    loop: EventLoop
    log: ObservationLog
    model: EcsModel
    control: TaskSetControl

    def poke(self, service: Service) -> None:
        """Reconcile ``service`` soon (the scheduler's)."""
        raise NotImplementedError

    def _step(self, service: Service, step: str, **data: object) -> None:
        self.log.record(
            self.loop.now,
            Kind.DEPLOYMENT_STEP,
            service.arn,
            service=service.name,
            step=step,
            **data,
        )

    def _forward(self, service: Service, groups: list[TargetGroup]) -> None:
        service.serving = list(groups)
        self.control.forward(service, groups)
        self.log.record(
            self.loop.now,
            Kind.SERVING,
            service.arn,
            service=service.name,
            target_groups=[g.spec.name for g in groups],
        )

    def _revision_arn(self, service: Service) -> str:
        number = len(service.revisions) + 1
        base = service.arn.replace(":service/", ":service-revision/")
        return f"{base}/{4_000_000_000_000_000_000 + number}"

    # -- ECS-native blue/green ------------------------------------------------------------

    def _deploy_blue_green(self, service: Service, deployment: Deployment) -> None:
        current = service.primary
        source = current.revision_arn or ""
        used = set(map(id, service.groups_of(current)))
        other = [g for g in service.target_groups if id(g) not in used] or service.target_groups
        deployment.target_groups = other[:1]
        deployment.revision_arn = self._revision_arn(service)
        service.revisions[deployment.revision_arn] = other[:1]
        number = 5_000_000_000_000_000_000 + len(service.service_deployments) + 1
        arn = service.arn.replace(":service/", ":service-deployment/") + f"/{number}"
        service.service_deployments.append(
            ServiceDeployment(
                arn, [source], deployment.revision_arn, self.loop.now, stage="SCALE_UP"
            )
        )
        self._step(service, "SCALE_UP", deployment=arn, revision=deployment.revision_arn)

    def _blue_green_next(self, service: Service, record: ServiceDeployment, index: int) -> None:
        stage, seconds = BLUE_GREEN_STAGES[index]
        record.stage = stage
        self._step(service, stage, deployment=record.arn)
        if stage == "PRODUCTION_TRAFFIC_SHIFT":
            self._forward(service, service.revisions[record.target_revision_arn])
            seconds = float(service.spec.traffic_shift_seconds)
        elif stage == "BAKE_TIME":
            seconds = float(service.spec.bake_seconds)
        if stage == "CLEAN_UP":
            self.poke(service)
            return
        self.loop.call_later(
            seconds or 0.0, lambda: self._blue_green_next(service, record, index + 1)
        )

    def _reconcile_blue_green(self, service: Service, live: list[Task]) -> None:
        record = service.service_deployments[-1] if service.service_deployments else None
        primary = service.primary
        if record is None or record.status != "IN_PROGRESS":
            return
        new = [t for t in live if t.deployment is primary and t.desired_status == "RUNNING"]
        old = [t for t in live if t.deployment is not primary and t.desired_status == "RUNNING"]
        if record.stage == "SCALE_UP":
            # The green revision scales up to the full desired count beside blue.
            for _ in range(max(0, service.desired_count - len(new))):
                self.model.launch(service)
            if len(new) >= service.desired_count and all(t.healthy for t in new):
                record.stage = "SCALE_UP_DONE"
                self._blue_green_next(service, record, 0)
        elif record.stage == "CLEAN_UP":
            reason = f"Scaling activity initiated by (deployment {primary.id})"
            for task in old:
                self.model.drain(task, reason, cause="blue-green")
            if not [t for t in live if t.deployment is not primary]:
                record.status, record.finished_at = "SUCCESSFUL", self.loop.now
                self._step(service, "SUCCESSFUL", deployment=record.arn)

    # -- task sets (CODE_DEPLOY, EXTERNAL) ------------------------------------------------

    def _deploy_task_set(self, service: Service, task_definition_arn: str) -> None:
        current = service.primary
        used = set(map(id, service.groups_of(current)))
        other = [g for g in service.target_groups if id(g) not in used] or service.target_groups
        set_id, arn = self.control.create_task_set(
            service, task_definition_arn, other[0] if other else None
        )
        deployment = Deployment(
            set_id,
            task_definition_arn,
            self.loop.now,
            target_groups=other[:1],
            task_set_arn=arn,
            task_set_status="ACTIVE",
        )
        service.deployments.append(deployment)
        self.log.record(
            self.loop.now,
            Kind.DEPLOYMENT_STARTED,
            service.arn,
            service=service.name,
            deployment=set_id,
            action="deploy",
        )
        self._step(service, "task set created", task_set=arn)
        self.poke(service)

    def _set_count(self, service: Service, deployment: Deployment) -> int:
        if deployment.task_set_status == "DRAINING":
            return 0
        return math.ceil(service.desired_count * deployment.scale_percent / 100)

    def _reconcile_task_sets(self, service: Service, live: list[Task]) -> None:
        for deployment in service.deployments:
            mine = [t for t in live if t.deployment is deployment and t.desired_status == "RUNNING"]
            count = self._set_count(service, deployment)
            reason = f"Scaling activity initiated by (deployment {deployment.id})"
            for task in sorted(mine, key=lambda t: t.healthy)[: max(0, len(mine) - count)]:
                self.model.drain(task, reason, cause="task-set")
            for _ in range(max(0, count - len(mine))):
                self.model.launch(service, deployment=deployment)
            if deployment.task_set_status == "DRAINING" and not any(
                t.deployment is deployment for t in live
            ):
                deployment.task_set_status = "DELETED"
                self._step(service, "task set deleted", task_set=deployment.task_set_arn)
        replacement = service.deployments[-1]
        if replacement.task_set_status != "ACTIVE" or replacement.completed_at is not None:
            return
        mine = [t for t in live if t.deployment is replacement and t.desired_status == "RUNNING"]
        if len(mine) >= self._set_count(service, replacement) and all(t.healthy for t in mine):
            self._reroute(service, replacement)

    def _reroute(self, service: Service, replacement: Deployment) -> None:
        """The replacement set is healthy: move traffic to it, then retire the others."""
        originals = [
            d
            for d in service.deployments
            if d is not replacement and d.task_set_status != "DELETED"
        ]
        replacement.task_set_status = "PRIMARY"
        for original in originals:
            original.task_set_status = "ACTIVE"
        self.control.set_primary(service, replacement)
        self._forward(service, service.groups_of(replacement))
        self._step(service, "primary task set", task_set=replacement.task_set_arn)
        if service.spec.controller == "CODE_DEPLOY":
            wait = float(service.spec.termination_wait_seconds)
            for original in originals:
                self.loop.call_later(wait, functools.partial(self._delete_set, service, original))
        else:
            for original in originals:
                self.loop.call_later(
                    float(service.spec.scaledown_wait_seconds),
                    functools.partial(self._scale_down, service, original),
                )

    def _scale_down(self, service: Service, deployment: Deployment) -> None:
        """One step of the aws-samples controlled scale-down (UpdateTaskSet scale)."""
        deployment.scale_percent = max(
            0.0, deployment.scale_percent - service.spec.scaledown_decrement
        )
        self.control.scale(service, deployment)
        self._step(
            service,
            "task set scaled",
            task_set=deployment.task_set_arn,
            percent=deployment.scale_percent,
        )
        self.poke(service)
        if deployment.scale_percent > 0:
            self.loop.call_later(
                float(service.spec.scaledown_wait_seconds),
                lambda: self._scale_down(service, deployment),
            )
        else:
            self.loop.call_later(
                float(service.spec.scaledown_wait_seconds),
                lambda: self._delete_set(service, deployment),
            )

    def _delete_set(self, service: Service, deployment: Deployment) -> None:
        """DeleteTaskSet: ECS stops what is left of it (draining each task)."""
        deployment.task_set_status = "DRAINING"
        deployment.scale_percent = 0.0
        self.control.delete(service, deployment)
        self._step(service, "task set deleting", task_set=deployment.task_set_arn)
        self.poke(service)
