"""A model-only world for the simulator's own tests (no moto, no handlers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from sim.aws.ecs.events import task_event
from sim.aws.ecs.model import (
    ContainerInstance,
    Deployment,
    EcsModel,
    Service,
    TargetGroup,
    Task,
    WorldRules,
)
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.engine.loop import EventLoop
from sim.engine.observe import ObservationLog
from sim.scenarios import ServiceSpec

START = 1_767_603_600.0  # 2026-01-05T09:00:00Z
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass
class ModelWorld:
    """The ECS model and scheduler on a loop, collecting every published event."""

    loop: EventLoop
    log: ObservationLog
    model: EcsModel
    scheduler: ServiceScheduler
    events: list[dict[str, Any]] = field(default_factory=list)
    #: The cluster's container instances, shared by its EC2 services.
    instances: list[ContainerInstance] = field(
        default_factory=lambda: [
            ContainerInstance(
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/demo/{n:032x}",
                f"i-0123456789abcdef{n}",
                f"10.0.{n}.5",
            )
            for n in range(3)
        ]
    )

    def add(self, spec: ServiceSpec) -> Service:
        cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/demo"
        service = Service(
            spec=spec,
            arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/demo/{spec.name}",
            cluster_arn=cluster_arn,
            cluster_name="demo",
            target_groups=[
                TargetGroup(
                    tg,
                    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/"
                    f"{tg.name}/0123456789abcdef",
                )
                for tg in spec.target_groups
            ],
            deployments=[
                Deployment(
                    "ecs-svc/1111111111111111111",
                    f"{cluster_arn[:-12]}task-definition/{spec.name}:1",
                    self.loop.now,
                )
            ],
            desired_count=spec.desired_count,
            subnets=[(f"{REGION}a", "subnet-aaaa"), (f"{REGION}b", "subnet-bbbb")],
            instances=self.instances,
            next_task_definition_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{spec.name}:2",
        )
        self.model.add_service(service)
        self.scheduler.start(service)
        return service

    def deploy(self, service: Service, at: float = 30.0) -> None:
        self.loop.call_at(
            START + at,
            lambda: self.scheduler.deploy(
                service, "ecs-svc/2222222222222222222", service.next_task_definition_arn
            ),
        )


def build_world(seed: int = 1, rules: WorldRules | None = None) -> ModelWorld:
    loop = EventLoop(START)
    log = ObservationLog()
    events: list[dict[str, Any]] = []
    counter = iter(range(1, 10**9))

    def publish(task: Task) -> None:
        events.append(task_event(task, event_id=uuid.UUID(int=next(counter)), at=loop.now))

    model = EcsModel(
        loop, log, seed=seed, account=ACCOUNT, region=REGION, publish=publish, rules=rules
    )
    world = ModelWorld(loop, log, model, ServiceScheduler(loop, log, model), events)
    return world


@pytest.fixture
def world() -> ModelWorld:
    return build_world()
