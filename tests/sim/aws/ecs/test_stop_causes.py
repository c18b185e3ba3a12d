"""The ECS model's other stop causes, as ECS shows them: the events each one emits.

Fargate Spot interruptions, container instances set to DRAINING (bridge and awsvpc),
failing ELB health checks and tasks that never become healthy, services with no load
balancer, old-format task ARNs. Shapes follow the ECS developer guide ("Amazon ECS task
state change events"), the AWS Knowledge Center (Fargate Spot termination notices;
"Why is my Amazon ECS task stopped?") and the project's fixtures in tests/events.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from sim.aws.ecs.model import SPOT_REASON
from sim.scenarios import ServiceSpec, TargetGroupSpec
from tests.sim.conftest import START, ModelWorld

OPT_IN = (("drain-terminator:enabled", "true"),)


def _of(world: ModelWorld, arn: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in world.events if e["detail"]["taskArn"] == arn]


def test_given_a_spot_interruption_when_it_comes_then_sigterm_at_once_and_deregistered_at_stopped(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("batch", desired_count=2, max_percent=200, spot=True))
    task = service.tasks[0]
    world.loop.call_at(START + 30, lambda: world.model.spot_interrupt(task))

    world.loop.run()

    details = _of(world, task.arn)
    notice = details[0]
    assert (notice["lastStatus"], notice["desiredStatus"]) == ("RUNNING", "STOPPED")
    assert notice["stopCode"] == "SpotInterruption"
    assert notice["stoppedReason"] == SPOT_REASON == "Your Spot Task was interrupted."
    assert notice["capacityProviderName"] == "FARGATE_SPOT"
    assert details[1]["lastStatus"] == "STOPPING"  # SIGTERM right away, no drain
    assert float(task.times["stoppingAt"]) - (START + 30) < 2.0
    states = [
        (o.at, o.data["state"])
        for o in world.log.of_kind("elb.target_state")
        if o.subject == task.arn
    ]
    draining_at = next(at for at, state in states if state == "draining")
    assert draining_at >= task.times["stoppedAt"]  # registered until STOPPED
    assert task.cause == "spot-interruption"
    replacements = [t for t in service.tasks if t.live]
    assert len(replacements) == 2
    assert all(t.healthy for t in replacements)


def test_given_an_instance_set_to_draining_when_the_scheduler_acts_then_its_tasks_are_replaced(
    world: ModelWorld,
) -> None:
    bridge = world.add(
        ServiceSpec(
            "api", desired_count=4, launch_type="EC2", min_healthy_percent=50, max_percent=100
        )
    )
    awsvpc = world.add(
        ServiceSpec(
            "worker",
            desired_count=4,
            launch_type="EC2",
            network="awsvpc",
            target_groups=(TargetGroupSpec("worker", port=81),),
        )
    )
    instance = world.instances[0]
    on_it = {t.arn for t in bridge.tasks + awsvpc.tasks if t.instance is instance}
    world.loop.call_at(START + 30, lambda: world.scheduler.drain_instance(bridge))
    most_live = {bridge.name: 0, awsvpc.name: 0}
    fewest_healthy = {bridge.name: 99, awsvpc.name: 99}

    while world.loop.step():
        for service in (bridge, awsvpc):
            live = [t for t in service.tasks if t.live]
            most_live[service.name] = max(most_live[service.name], len(live))
            healthy = [t for t in live if t.healthy and t.desired_status == "RUNNING"]
            fewest_healthy[service.name] = min(fewest_healthy[service.name], len(healthy))

    drained = {t.arn for t in world.model.tasks.values() if t.drain_started_at is not None}
    assert drained == on_it
    assert len(on_it) == 4
    for arn in drained:
        detail = next(d for d in _of(world, arn) if d["desiredStatus"] == "STOPPED")
        service = world.model.find(arn).service.name
        assert detail["stopCode"] == "ServiceSchedulerInitiated"
        assert (
            detail["stoppedReason"] == f"Service {service}: container instance is in DRAINING state"
        )
        assert detail["containerInstanceArn"] == instance.arn
        if service == "worker":
            assert detail["attachments"][0]["type"] == "ElasticNetworkInterface"
            assert "networkInterfaces" in detail["containers"][0]
        else:
            assert detail["attachments"] == []
            assert detail["containers"][0]["networkBindings"][0]["hostPort"] >= 32768
    assert all(t.instance is not instance for t in world.model.tasks.values() if t.live)
    # Within maximumPercent: api (100 %) stops first; worker (200 %) starts its two first.
    assert most_live == {"api": 4, "worker": 6}
    assert fewest_healthy["api"] >= math.ceil(4 * 0.5)
    assert fewest_healthy["worker"] >= 4


def test_given_the_last_active_instance_when_asked_to_drain_then_it_stays_active(
    world: ModelWorld,
) -> None:
    world.add(ServiceSpec("api", desired_count=2, launch_type="EC2"))
    for instance in world.instances:
        world.model.drain_instance(instance)

    assert [i.status for i in world.instances] == ["DRAINING", "DRAINING", "ACTIVE"]


def test_given_fargate_services_beside_when_the_last_instance_is_asked_to_drain_then_it_stays(
    world: ModelWorld,
) -> None:
    world.add(ServiceSpec("api", desired_count=2, launch_type="EC2"))
    web = world.add(ServiceSpec("web", desired_count=2))
    # A Fargate service's draws (as sim/aws/infra.py makes them) stand for no instance.
    web.instances = [replace(i, arn=i.arn + "f") for i in world.instances]
    for instance in world.instances:
        world.model.drain_instance(instance)

    assert [i.status for i in world.instances] == ["DRAINING", "DRAINING", "ACTIVE"]


def test_given_a_target_failing_health_checks_when_seen_then_ecs_drains_and_replaces_it(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("web", desired_count=2, max_percent=200))
    task = service.tasks[0]
    world.loop.call_at(START + 30, lambda: world.model.fail_health_checks(task))

    world.loop.run()

    group = service.target_groups[0]
    states = [
        o.data["state"] for o in world.log.of_kind("elb.target_state") if o.subject == task.arn
    ]
    assert states[-3:] == ["unhealthy", "draining", "unused"]
    detail = next(d for d in _of(world, task.arn) if d["desiredStatus"] == "STOPPED")
    assert detail["stopCode"] == "ServiceSchedulerInitiated"
    assert detail["stoppedReason"] == f"Task failed ELB health checks in (target-group {group.arn})"
    assert task.cause == "unhealthy"
    assert task.ecs_alone_at == task.drain_started_at + 300  # drained for the delay
    assert sum(1 for t in service.tasks if t.live and t.healthy) == 2


def test_given_a_task_that_never_becomes_healthy_when_it_runs_then_it_is_drained_and_replaced(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("web", desired_count=2, max_percent=200, never_healthy=(2,)))
    world.deploy(service)

    world.loop.run()

    never = service.tasks[2]
    assert never.healthy is False
    assert never.cause == "unhealthy"
    assert never.drain_started_at is not None
    assert service.primary.completed_at is not None
    assert sum(1 for t in service.tasks if t.live and t.healthy) == 2


def test_given_a_service_without_a_load_balancer_when_it_deploys_then_ecs_stops_tasks_at_once(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("mesh", desired_count=2, target_groups=()))
    world.deploy(service)

    world.loop.run()

    drained = [t for t in service.tasks if t.drain_started_at is not None]
    assert len(drained) == 2
    assert all(not t.targets and t.ecs_alone_at == t.drain_started_at for t in drained)
    assert not world.log.of_kind("elb.target_state")


def test_given_tasks_started_before_long_arns_when_they_drain_then_events_carry_old_arns(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("web", desired_count=2, old_arn_tasks=1))
    world.deploy(service)

    world.loop.run()

    old, new = service.tasks[0], service.tasks[1]
    assert old.arn == f"arn:aws:ecs:us-east-1:123456789012:task/{old.id}"
    assert new.arn.endswith(f":task/demo/{new.id}")
    detail = next(d for d in _of(world, old.arn) if d["desiredStatus"] == "STOPPED")
    assert detail["clusterArn"].endswith(":cluster/demo")
    container = detail["containers"][0]["containerArn"]
    assert container.split(":container/")[1].count("/") == 0  # container/<uuid>
    assert all(t.arn.count("/") == 2 for t in service.tasks[2:])  # replacements: long ARNs
