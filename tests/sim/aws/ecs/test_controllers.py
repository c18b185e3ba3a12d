"""Task sets and ECS-native blue/green: each task in its own deployment's target group,
traffic moving between groups, and the old tasks drained from the group they were in."""

from __future__ import annotations

import itertools

from sim.aws.ecs.scheduler import BLUE_GREEN_STAGES
from sim.scenarios import ServiceSpec, TargetGroupSpec
from tests.sim.conftest import ModelWorld

TWO = (
    TargetGroupSpec("blue", port=80, deregistration_delay=300),
    TargetGroupSpec("green", port=80, deregistration_delay=300),
)


def _groups(world: ModelWorld, arn: str) -> set[str]:
    return {
        str(o.data["target_group"])
        for o in world.log.of_kind("elb.target_state")
        if o.subject == arn
    }


def _serving(world: ModelWorld) -> list[tuple[float, list[str]]]:
    return [(o.at, list(o.data["target_groups"])) for o in world.log.of_kind("elb.serving")]


def test_given_a_blue_green_deployment_when_run_then_the_lifecycle_moves_traffic_before_draining(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "shop",
        desired_count=2,
        strategy="BLUE_GREEN",
        target_groups=TWO,
        traffic_shift_seconds=600,
        bake_seconds=120,
    )
    service = world.add(spec)
    world.deploy(service)

    world.loop.run()

    old, new = service.tasks[:2], service.tasks[2:]
    assert len(new) == 2
    assert all(_groups(world, t.arn) == {"blue"} for t in old)
    assert all(_groups(world, t.arn) == {"green"} for t in new)
    steps = [str(o.data["step"]) for o in world.log.of_kind("deployment.step")]
    assert steps == ["SCALE_UP", *(stage for stage, _ in BLUE_GREEN_STAGES), "SUCCESSFUL"]
    shifted_at = _serving(world)[0][0]
    assert _serving(world) == [(shifted_at, ["green"])]
    # Old tasks drain only at CLEAN_UP: after the 10-minute shift and the bake time.
    assert all(t.drain_started_at is not None for t in old)
    assert min(t.drain_started_at or 0 for t in old) >= shifted_at + 600 + 120
    assert all(t.cause == "blue-green" for t in old)
    record = service.service_deployments[-1]
    assert record.status == "SUCCESSFUL"
    assert service.revisions[record.target_revision_arn] == [service.target_groups[1]]
    assert service.primary.completed_at is not None


def test_given_two_blue_green_deployments_when_run_then_the_second_moves_back_to_blue(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "shop", desired_count=1, strategy="BLUE_GREEN", target_groups=TWO, traffic_shift_seconds=60
    )
    service = world.add(spec)
    world.deploy(service, at=30)
    world.loop.run()
    world.scheduler.deploy(service, "ecs-svc/3333333333333333333", service.next_task_definition_arn)

    world.loop.run()

    assert [groups for _, groups in _serving(world)] == [["green"], ["blue"]]
    assert _groups(world, service.tasks[-1].arn) == {"blue"}


def test_given_a_codedeploy_service_when_deployed_then_the_original_set_is_deleted_after_the_wait(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "checkout",
        desired_count=2,
        controller="CODE_DEPLOY",
        target_groups=TWO,
        termination_wait_seconds=300,
    )
    service = world.add(spec)
    original = service.deployments[0]
    world.deploy(service)

    world.loop.run()

    replacement = service.deployments[1]
    assert original.task_set_status == "DELETED"
    assert replacement.task_set_status == "PRIMARY"
    old = [t for t in service.tasks if t.deployment is original]
    new = [t for t in service.tasks if t.deployment is replacement]
    assert all(_groups(world, t.arn) == {"blue"} for t in old)
    assert all(_groups(world, t.arn) == {"green"} for t in new)
    rerouted_at = _serving(world)[0][0]
    assert all((t.drain_started_at or 0) >= rerouted_at + 300 for t in old)
    assert all(t.cause == "task-set" for t in old)
    # Each task's startedBy is its task set's id.
    assert {t.deployment.id for t in new} == {replacement.id}
    assert replacement.id.startswith("ecs-svc/")
    assert replacement.task_set_arn
    assert replacement.task_set_arn.endswith(f"/checkout/{replacement.id}")


def test_given_the_external_controlled_scale_down_when_run_then_one_step_a_minute(
    world: ModelWorld,
) -> None:
    spec = ServiceSpec(
        "stream",
        desired_count=4,
        controller="EXTERNAL",
        target_groups=TWO,
        scaledown_decrement=25,
        scaledown_wait_seconds=60,
    )
    service = world.add(spec)
    world.deploy(service)

    world.loop.run()

    original = service.deployments[0]
    starts = sorted(t.drain_started_at or 0 for t in service.tasks if t.deployment is original)
    assert len(starts) == 4
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(55 <= gap <= 65 for gap in gaps), gaps
    scaled = [
        o.data["percent"] for o in world.log.of_kind("deployment.step") if "percent" in o.data
    ]
    assert scaled == [75.0, 50.0, 25.0, 0.0]
    assert original.task_set_status == "DELETED"
