"""The sweeper entry point on moto: precise, single, re-checked stops."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import sweeper, task_events
from serverless import app as app_module
from serverless.app import App
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import World

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
REASON = (
    "drain-terminator: load balancer target draining for 120s (deregistration delay not awaited)"
)


def drain(world: World, task: str, at: float, version: int = 4, service: str = "web") -> None:
    world.set_task(task, "DEACTIVATING", "STOPPED")
    event = world.event(task, "DEACTIVATING", "STOPPED", version, at, service=service)
    result = task_events.handler(event, FakeContext(world.clock))  # type: ignore[arg-type]
    assert result["action"] in {"tracked", "unchanged", "updated"}


def sweep(world: World, timeout: float = 180.0, request_id: str = "run-1") -> dict[str, Any]:
    context = FakeContext(world.clock, timeout, request_id)
    return sweeper.handler(SCHEDULED, context)  # type: ignore[arg-type]


def test_given_due_drain_when_sweeper_runs_then_task_stopped_once_with_reason(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 130)  # the wait ended 10 s ago

    report = sweep(world)

    assert report["stopped"] == [task]
    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, REASON)]
    assert world.task_status(task)[0] == "STOPPED"  # moto: StopTask jumps straight to STOPPED
    assert len(REASON) <= 255
    # The confirmation deadline (60 s) fell inside the run: it saw the task stopped.
    record = world.record(task)
    assert record is not None
    assert record["stop_reason"] == REASON
    assert record["status"] == "closed"
    assert record["outcome"] == "stopped_by_terminator"
    assert float(record["stop_requested_at"]) == pytest.approx(world.stops[0].at)

    # Later runs have nothing left to do.
    clock.advance(61)
    sweep(world, request_id="run-2")
    assert len(world.stops) == 1


def test_given_drain_not_due_before_horizon_when_sweeper_runs_then_left_alone(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now())  # due in 120 s, beyond the 90 s horizon

    report = sweep(world)

    assert world.stops == []
    assert report["stopped"] == []
    record = world.record(task)
    assert record is not None
    assert record["status"] == "draining"
    assert "lease_owner" not in record


def test_given_deadline_inside_next_minute_when_sweeper_runs_then_stop_within_one_second_not_early(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    start = clock.now() - 120 + 42.3  # deadline 42.3 s after the run starts
    drain(world, task, start)

    sweep(world)

    assert len(world.stops) == 1
    lateness = world.stops[0].at - (start + 120)
    assert 0 <= lateness <= 1.0


def test_given_several_deadlines_in_horizon_when_sweeper_runs_then_each_met_in_order(
    world: World, clock: ManualClock
) -> None:
    now = clock.now()
    offsets = [5.0, 30.5, 88.0]
    tasks = []
    for offset in offsets:
        task = world.start_task("web")
        drain(world, task, now - 120 + offset)
        tasks.append(task)

    sweep(world)

    assert [s.task_arn for s in world.stops] == tasks
    for stop, offset in zip(world.stops, offsets, strict=True):
        assert 0 <= stop.at - (now + offset) <= 1.0


def test_given_service_opted_out_after_drain_began_when_due_then_not_stopped(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)
    service_arn = world.cluster_arn.replace(":cluster/", ":service/") + "/web"
    world.ecs.tag_resource(
        resourceArn=service_arn, tags=[{"key": "drain-terminator:enabled", "value": "false"}]
    )
    app_module.install(world.install_app())  # a new container: the tag cache is empty

    sweep(world)

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "opted_out"


def test_given_task_already_stopped_by_ecs_when_due_then_closed_not_stopped(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)
    world.set_task(
        task, "STOPPED", "STOPPED", "Scaling activity initiated by (deployment ecs-svc/1)"
    )

    sweep(world)

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert record["status"] == "closed"
    assert record["outcome"] == "stopped_by_ecs"
    assert record["observed_status"] == "STOPPED"


def test_given_task_no_longer_draining_when_due_then_closed_with_observed_state(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)
    world.set_task(task, "RUNNING", "RUNNING")  # e.g. the drain was cancelled

    sweep(world)

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "not_draining"
    assert record["observed_status"] == "RUNNING"


def test_given_task_already_stopping_when_due_then_not_stopped_again(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)
    world.set_task(task, "STOPPING", "STOPPED")

    sweep(world)

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "stopped_by_ecs"


def test_given_two_overlapping_runs_when_both_see_due_task_then_stopped_once(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 120 + 20)
    second_run: dict[str, Any] = {}
    # The second run starts while the first one is waiting for the deadline.
    clock.at(clock.now() + 10, lambda: second_run.update(sweep(world, request_id="run-2")))

    sweep(world, request_id="run-1")

    assert len(world.stops) == 1
    assert second_run  # it ran, and found nothing left to stop


def test_given_run_killed_between_claim_and_stop_when_rerun_then_task_stopped_once(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)

    class Killed(BaseException):
        """Stands in for the Lambda runtime killing the invocation."""

    def die(**_: object) -> None:
        raise Killed

    # The runtime kills the invocation as it is about to send StopTask.
    world.ecs.meta.events.register_first("provide-client-params.ecs.StopTask", die)
    with pytest.raises(Killed):
        sweep(world, request_id="run-1")
    world.ecs.meta.events.unregister("provide-client-params.ecs.StopTask", die)
    record = world.record(task)
    assert record is not None
    assert record["lease_owner"] == "run-1"  # claimed, never stopped
    assert world.stops == []

    # Within the lease nobody else acts; after it expires a new run stops the task.
    sweep(world, timeout=15.0, request_id="run-2")  # a short run that ends inside the lease
    assert world.stops == []
    clock.advance(31)
    sweep(world, request_id="run-3")
    assert [s.task_arn for s in world.stops] == [task]


def test_given_invocation_nearly_out_of_time_when_deadline_later_then_run_returns_in_time(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 120 + 60)  # due in 60 s
    started = clock.now()

    sweep(world, timeout=30.0)  # only 30 s left: 10 s reserve

    assert world.stops == []
    assert clock.now() - started <= 20.0 + 1.0


def test_given_no_open_records_when_sweeper_runs_then_returns_at_once(
    world: World, clock: ManualClock
) -> None:
    started = clock.now()
    report = sweep(world)
    assert report["polls"] == 1
    assert clock.now() == started


def test_given_global_dry_run_when_due_then_logged_counted_and_not_stopped(
    world: World, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = world.install_app(dry_run=True)
    assert isinstance(app, App)
    task = world.start_task("web")
    drain(world, task, clock.now() - 121)

    report = sweep(world)

    assert world.stops == []
    assert report["dry_run"] == [task]
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "dry_run"
    assert emf_metrics(capsys.readouterr().out)["DryRunStops"] == [1.0]
