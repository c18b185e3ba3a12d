"""The backstop on moto: drains whose events were lost are found, recorded never early, and
stopped once their wait is over; what one run costs.

moto's tagging backend knows no ECS services, so the world answers GetResources from its
ECS services' tags (tests/support/world.py); moto's ListTasks ignores ``serviceName``, so
the tasks of other services are listed too and the backstop's own group check drops them.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from handlers import sweeper, task_events
from serverless.backstop.plan import BACKSTOP_EVENT
from tests.support.clock import FakeContext, ManualClock
from tests.support.world import World

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
SCALING = "Scaling activity initiated by (deployment ecs-svc/4790528617301924468)"


@pytest.fixture
def backstop_world(world: World) -> World:
    world.install_app(tagging=world.tagging(), backstop_round_minutes=1)
    return world


def backstop(world: World) -> dict[str, Any]:
    return sweeper.handler(dict(BACKSTOP_EVENT), FakeContext(world.clock))  # type: ignore[arg-type]


def sweep(world: World) -> dict[str, Any]:
    return sweeper.handler(SCHEDULED, FakeContext(world.clock))  # type: ignore[arg-type]


def lose_drain(world: World, task: str) -> None:
    """ECS starts draining the task; every event of it is lost."""
    world.set_task(task, "DEACTIVATING", "STOPPED", SCALING, "ServiceSchedulerInitiated")


def calls_of(*clients: Any) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for client in clients:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}", count)
    return calls


def test_given_a_drain_whose_events_were_lost_when_the_backstop_runs_then_stopped_never_early(
    backstop_world: World, clock: ManualClock
) -> None:
    world = backstop_world
    task = world.start_task("web")
    lose_drain(world, task)  # the drain really began long before anyone looks
    clock.advance(300)
    looked_at = clock.now()

    report = backstop(world)

    assert report["found"] == [task]
    record = world.record(task)
    assert record is not None
    assert record["found_by"] == "backstop"
    assert record["cause"] == "deployment"
    # The earliest start the evidence supports: the moment ECS's answer showed it draining.
    started = float(record["drain_started_at"])
    assert started >= looked_at
    assert float(record["due_at"]) == started + 120

    clock.advance(100)
    assert sweep(world)["stopped"] == [task]
    assert world.stops[0].at >= started + 120


def test_given_the_lost_event_arrives_late_when_handled_then_it_moves_the_start_back(
    backstop_world: World, clock: ManualClock
) -> None:
    world = backstop_world
    task = world.start_task("web")
    lose_drain(world, task)
    began = clock.now()
    clock.advance(60)
    backstop(world)

    late = world.event(task, "DEACTIVATING", "STOPPED", 4, began)
    result = task_events.handler(late, FakeContext(clock))  # type: ignore[arg-type]

    assert result["action"] == "updated"
    record = world.record(task)
    assert record is not None
    assert float(record["drain_started_at"]) == pytest.approx(began, abs=0.001)


def test_given_recorded_drains_and_operator_deregistration_when_run_then_left_alone(
    backstop_world: World, clock: ManualClock
) -> None:
    world = backstop_world
    recorded = world.start_task("web")
    world.set_task(recorded, "DEACTIVATING", "STOPPED")
    event = world.event(recorded, "DEACTIVATING", "STOPPED", 4, clock.now())
    task_events.handler(event, FakeContext(clock))  # type: ignore[arg-type]
    # An operator's DeregisterTargets leaves the task RUNNING/RUNNING: nothing to find.
    standby = world.start_task("web")
    stopped = world.start_task("web")
    world.set_task(stopped, "STOPPED", "STOPPED")

    report = backstop(world)

    assert report["found"] == []
    assert world.record(standby) is None
    assert world.record(stopped) is None


def test_given_spot_interruption_found_when_run_then_closed_and_never_stopped(
    backstop_world: World, clock: ManualClock
) -> None:
    world = backstop_world
    task = world.start_task("web")
    world.set_task(
        task, "RUNNING", "STOPPED", "Your Spot Task was interrupted.", "SpotInterruption"
    )

    report = backstop(world)
    clock.advance(600)
    sweep(world)

    assert report["not_shortened"] == [task]
    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert (record["outcome"], record["cause"]) == ("not_shortened", "spot-interruption")


def test_given_three_opted_in_services_when_one_run_visits_them_then_its_calls_are_bounded(
    backstop_world: World, clock: ManualClock
) -> None:
    world = backstop_world
    world.add_service("api", OPTED_IN)
    world.add_service("jobs", OPTED_IN)
    world.add_service("legacy", {"drain-terminator:enabled": "false"})
    lost = world.start_task("api")
    lose_drain(world, lost)
    for _ in range(3):
        world.set_task(world.start_task("web"), "STOPPED", "STOPPED")
    calls = calls_of(world.ecs, world.dynamodb)

    report = backstop(world)

    assert report["found"] == [lost]
    assert report["opted_in"] == 3  # legacy's tag is not "true"
    assert report["calls"] == {
        "GetResources": 1,
        "ListTasks": 3,  # one page per opted-in service
        "BatchGetItem": 3,
        "DescribeTasks": 3,  # only the tasks the ledger does not know
        "DescribeServices": 1,  # only for the service with a lost drain
    }
    # What reached AWS agrees with the run's own count (plus the ledger's writes and the
    # token buckets' updates).
    assert calls["ListTasks"] == 3
    assert calls["DescribeTasks"] == 3
    assert calls["BatchGetItem"] == 3
