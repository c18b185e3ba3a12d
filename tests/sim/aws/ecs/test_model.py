"""The ECS model's worlds: StopTask on a draining task effective or ignored; a signal into
the container ends the task as the agent would; ECS Exec's preconditions."""

from __future__ import annotations

import pytest

from sim.aws.ecs.model import ESSENTIAL_CONTAINER_EXITED, Task, WorldRules
from sim.engine.observe import Kind
from sim.scenarios import ServiceSpec, TargetGroupSpec
from tests.sim.conftest import ModelWorld, build_world

REASON = "drain-terminator: load balancer target draining for 120s"


def _draining(world: ModelWorld, **spec: object) -> Task:
    """A service of two tasks whose deployment drains one; returns it while it drains."""
    service = world.add(
        ServiceSpec(
            "web",
            desired_count=2,
            target_groups=(TargetGroupSpec("web", deregistration_delay=300),),
            **spec,  # type: ignore[arg-type]
        )
    )
    world.deploy(service)
    world.loop.run(stop=lambda: any(t.draining for t in service.tasks))
    return next(t for t in service.tasks if t.draining)


def _run_to_stopped(world: ModelWorld, task: Task) -> None:
    world.loop.run(stop=lambda: task.last_status == "STOPPED")


def test_given_the_effective_world_when_stop_task_reaches_a_draining_task_then_it_stops_now(
    world: ModelWorld,
) -> None:
    task = _draining(world)
    at = world.loop.now

    world.model.stop_task(task.arn, REASON)

    assert task.last_status == "STOPPING"
    assert (task.stopped_by, task.stopped_with) == ("terminator", "stop-task")
    assert task.stop_code == "UserInitiated"
    assert task.stop_began_at == pytest.approx(at, abs=1e-3)


def test_given_the_ignored_world_when_stop_task_reaches_a_draining_task_then_only_its_reason() -> (
    None
):
    world = build_world(rules=WorldRules(stoptask_on_draining="ignored"))
    task = _draining(world)
    assert task.drain_started_at is not None
    version = task.version

    world.model.stop_task(task.arn, REASON)

    assert task.draining
    assert task.last_status == "RUNNING"
    assert task.version == version  # no state change, no event
    assert task.stopped_reason == REASON
    assert task.stop_code == "ServiceSchedulerInitiated"
    ignored = world.log.of_kind(Kind.ECS_STOP_IGNORED)
    assert [o.subject for o in ignored] == [task.arn]
    _run_to_stopped(world, task)
    assert task.stopped_by == "ecs"
    assert task.stop_began_at == pytest.approx(task.drain_started_at + 300, abs=1e-3)
    assert task.stopped_reason == REASON


def test_given_the_ignored_world_when_stop_task_reaches_a_task_not_draining_then_it_stops() -> None:
    world = build_world(rules=WorldRules(stoptask_on_draining="ignored"))
    service = world.add(ServiceSpec("web", desired_count=1))
    world.loop.run(stop=lambda: any(t.last_status == "RUNNING" for t in service.tasks))
    task = service.tasks[0]

    world.model.stop_task(task.arn, "user: stop")

    assert task.last_status == "STOPPING"
    assert not world.log.of_kind(Kind.ECS_STOP_IGNORED)


@pytest.mark.parametrize("stoptask", ["effective", "ignored"])
def test_given_a_draining_task_when_a_signal_reaches_its_container_then_the_agent_stops_it(
    stoptask: str,
) -> None:
    world = build_world(rules=WorldRules(stoptask_on_draining=stoptask))  # type: ignore[arg-type]
    task = _draining(world)
    at = world.loop.now

    assert world.model.signal_container(task, "exec")

    assert task.last_status == "RUNNING"  # the app is shutting down gracefully
    _run_to_stopped(world, task)
    assert (task.stopped_by, task.stopped_with) == ("terminator", "exec")
    assert task.stop_code == ESSENTIAL_CONTAINER_EXITED
    assert task.stop_began_at == task.signalled_at == pytest.approx(at, abs=1e-3)
    shutdown = task.timings["shutdown"]
    assert task.times["stoppingAt"] == pytest.approx(at + shutdown, abs=1e-2)
    assert task.times["stoppedAt"] > task.times["executionStoppedAt"] >= task.times["stoppingAt"]
    transitions = [
        o.data["last_status"]
        for o in world.log.of_kind(Kind.ECS_TRANSITION)
        if o.subject == task.arn and o.at >= at
    ]
    assert transitions == ["STOPPING", "DEPROVISIONING", "STOPPED"]


def test_given_a_task_already_stopping_when_a_signal_arrives_then_it_has_no_effect(
    world: ModelWorld,
) -> None:
    task = _draining(world)
    world.model.stop_task(task.arn, REASON)

    assert not world.model.signal_container(task, "exec")

    _run_to_stopped(world, task)
    assert task.stopped_with == "stop-task"
    [signal] = world.log.of_kind(Kind.CONTAINER_SIGNAL)
    assert signal.data["effective"] is False


def test_given_a_signal_shortly_before_ecs_deadline_when_ecs_stops_first_then_ecs_stopped_it() -> (
    None
):
    world = build_world(rules=WorldRules(stoptask_on_draining="ignored"))
    task = _draining(world)
    assert task.ecs_alone_at is not None
    world.loop.run_until(task.ecs_alone_at - 0.5)

    world.model.signal_container(task, "exec")
    _run_to_stopped(world, task)

    assert task.stopped_by == "ecs"
    assert task.stopped_with is None


def test_given_exec_preconditions_when_checked_then_ecs_refuses_what_it_would() -> None:
    world = build_world(
        rules=WorldRules(stoptask_on_draining="ignored", exec_refused_when_stopping=True)
    )
    task = _draining(world, enable_execute_command=True)
    model = world.model

    refused = model.exec_refusal(task, "web")
    assert refused is not None
    assert refused[0] == "InvalidParameterException"
    assert "being stopped" in refused[1]
    assert "undocumented" in refused[1]
    wrong = model.exec_refusal(task, "sidecar")
    assert wrong is not None
    assert "does not exist" in wrong[1]


def test_given_exec_not_enabled_when_checked_then_the_api_says_so(world: ModelWorld) -> None:
    task = _draining(world)

    refused = world.model.exec_refusal(task, "web")

    assert refused is not None
    assert "execute command was not enabled" in refused[1]


def test_given_exec_enabled_and_no_refusal_switch_when_checked_then_a_draining_task_accepts(
    world: ModelWorld,
) -> None:
    task = _draining(world, enable_execute_command=True)

    assert world.model.exec_refusal(task, "web") is None


def test_given_an_unknown_world_when_built_then_it_is_refused() -> None:
    with pytest.raises(ValueError, match="stoptask_on_draining"):
        WorldRules(stoptask_on_draining="sometimes")  # type: ignore[arg-type]
