"""The service scheduler: rolling deployments respect min/max percent; ECS alone drains."""

from __future__ import annotations

import math

import pytest

from sim.scenarios import ServiceSpec, TargetGroupSpec
from tests.sim.conftest import START, ModelWorld


def _run_checking(world: ModelWorld, spec: ServiceSpec) -> tuple[int, int]:
    """Run to the end; returns the most live tasks and the fewest healthy ones seen."""
    service = world.add(spec)
    world.deploy(service)
    most_live, fewest_healthy = 0, 10**6
    while world.loop.step():
        live = [t for t in service.tasks if t.live]
        healthy = [t for t in live if t.healthy and t.desired_status == "RUNNING"]
        most_live = max(most_live, len(live))
        fewest_healthy = min(fewest_healthy, len(healthy))
    assert service.primary.completed_at is not None
    return most_live, fewest_healthy


@pytest.mark.parametrize(
    ("desired", "min_pct", "max_pct"), [(4, 100, 150), (4, 50, 100), (6, 100, 200), (5, 60, 120)]
)
def test_given_a_rolling_deployment_when_ecs_alone_drains_then_min_and_max_percent_hold(
    world: ModelWorld, desired: int, min_pct: int, max_pct: int
) -> None:
    spec = ServiceSpec(
        "web", desired_count=desired, min_healthy_percent=min_pct, max_percent=max_pct
    )

    most_live, fewest_healthy = _run_checking(world, spec)

    assert most_live <= math.floor(desired * max_pct / 100)
    assert fewest_healthy >= math.ceil(desired * min_pct / 100)
    service = next(iter(world.model.services.values()))
    new = [t for t in service.tasks if t.deployment is service.primary]
    assert len(new) == desired
    assert all(t.live and t.healthy for t in new)
    assert all(not t.live for t in service.tasks if t.deployment is not service.primary)


def test_given_a_draining_task_when_nobody_stops_it_then_ecs_stops_it_when_the_delay_ends(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "web",
        desired_count=2,
        max_percent=200,
        target_groups=(TargetGroupSpec("web", deregistration_delay=300),),
    )

    _run_checking(world, spec)

    drained = [t for t in world.model.tasks.values() if t.drain_started_at is not None]
    assert len(drained) == 2
    for task in drained:
        assert task.drain_started_at is not None
        assert task.stopped_by == "ecs"
        assert task.stop_began_at == pytest.approx(task.drain_started_at + 300, abs=1e-3)
        assert task.stop_code == "ServiceSchedulerInitiated"
        assert (
            task.stopped_reason
            == "Scaling activity initiated by (deployment ecs-svc/2222222222222222222)"
        )
        assert task.times["stoppedAt"] > task.times["executionStoppedAt"] > task.times["stoppingAt"]


def test_given_two_target_groups_when_draining_then_ecs_waits_for_the_longest_delay(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "edge",
        desired_count=1,
        target_groups=(
            TargetGroupSpec("a", deregistration_delay=120),
            TargetGroupSpec("b", port=81, deregistration_delay=600),
        ),
    )

    _run_checking(world, spec)

    (drained,) = [t for t in world.model.tasks.values() if t.drain_started_at is not None]
    assert drained.drain_started_at is not None
    assert drained.stop_began_at == pytest.approx(drained.drain_started_at + 600, abs=1e-3)


def test_given_a_scale_in_when_run_then_the_surplus_drains_at_once_and_the_rest_keep_running(
    world: ModelWorld,
) -> None:
    service = world.add(ServiceSpec("web", desired_count=6))
    world.loop.call_at(START + 30, lambda: world.scheduler.scale(service, 2, "ecs-svc/3"))

    world.loop.run()

    drained = [t for t in service.tasks if t.drain_started_at is not None]
    assert len(drained) == 4
    assert len({t.drain_started_at for t in drained}) == 1
    assert sum(1 for t in service.tasks if t.live) == 2
    assert service.primary.completed_at is not None


def test_given_the_same_seed_when_run_twice_then_the_transitions_are_identical() -> None:
    from tests.sim.conftest import build_world

    logs = []
    for _ in range(2):
        world = build_world(seed=42)
        world.deploy(world.add(ServiceSpec("web", desired_count=3, max_percent=150)))
        world.loop.run()
        logs.append([o.to_dict() for o in world.log])

    assert logs[0] == logs[1]
    assert len(logs[0]) > 20
