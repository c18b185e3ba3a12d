"""Each stop cause end to end on moto: the event, the ledger, the sweeper's stop or none.

Events follow the documented format (tests/events/); the stopCode and stoppedReason texts
are those serverless/domain/causes.py cites.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from handlers import sweeper, task_events
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import World, load_event

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
SCALING = "Scaling activity initiated by (deployment ecs-svc/4790528617301924468)"
SPOT = "Your Spot Task was interrupted."
DRAINING_INSTANCE = "Service web: container instance is in DRAINING state"


def handle(world: World, event: dict[str, Any]) -> dict[str, str]:
    return task_events.handler(event, FakeContext(world.clock))  # type: ignore[arg-type]


def sweep(world: World, request_id: str = "run") -> dict[str, Any]:
    context = FakeContext(world.clock, 180.0, request_id)
    return sweeper.handler(SCHEDULED, context)  # type: ignore[arg-type]


def elb_calls(world: World) -> collections.Counter[str]:
    """Every Elastic Load Balancing call the functions make from now on, by operation."""
    calls: collections.Counter[str] = collections.Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    service = world.elbv2.meta.service_model.service_id.hyphenize()
    world.elbv2.meta.events.register(f"before-call.{service}", count)
    return calls


def drain_event(
    world: World,
    task: str,
    at: float,
    stop_code: str | None,
    reason: str | None,
    last: str = "DEACTIVATING",
    service: str = "web",
) -> dict[str, Any]:
    event = world.event(task, last, "STOPPED", 4, at, service=service)
    detail = event["detail"]
    for key, value in (("stopCode", stop_code), ("stoppedReason", reason)):
        if value is None:
            detail.pop(key, None)
        else:
            detail[key] = value
    world.set_task(task, last, "STOPPED", reason, stop_code)
    return event


@pytest.mark.parametrize(
    ("stop_code", "reason", "cause"),
    [
        pytest.param("ServiceSchedulerInitiated", SCALING, "deployment", id="deployment"),
        pytest.param(
            "ServiceSchedulerInitiated", DRAINING_INSTANCE, "instance-draining", id="instance"
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            "Task failed ELB health checks in (elb web-clb)",
            "health-check",
            id="unhealthy",
        ),
        pytest.param("UserInitiated", "Task stopped by user", "user-initiated", id="user"),
    ],
)
def test_given_a_drain_with_a_cause_to_shorten_when_its_wait_is_over_then_stopped_once(
    world: World, clock: ManualClock, stop_code: str, reason: str, cause: str
) -> None:
    task = world.start_task("web")
    began = clock.now()
    result = handle(world, drain_event(world, task, began, stop_code, reason))
    assert result["action"] == "tracked"
    record = world.record(task)
    assert record is not None
    assert record["cause"] == cause

    clock.advance(100)  # the run waits inside itself for the deadline 20 s later
    assert sweep(world)["stopped"] == [task]
    assert [stop.task_arn for stop in world.stops] == [task]
    assert world.stops[0].at >= began + 120  # never before the deadline


def test_given_ec2_bridge_task_on_a_draining_instance_when_handled_then_instance_draining(
    world: World,
) -> None:
    # The EC2/bridge fixture (container instance, host port) with the instance's reason.
    world.add_service("api", {"drain-terminator:enabled": "true"})
    event = load_event("ec2-bridge-drain.json")
    event["detail"]["clusterArn"] = world.cluster_arn
    event["detail"]["stoppedReason"] = "Service api: container instance is in DRAINING state"

    assert handle(world, event)["action"] == "tracked"
    record = world.record(event["detail"]["taskArn"])
    assert record is not None
    assert record["cause"] == "instance-draining"


@pytest.mark.parametrize("stop_code", ["SpotInterruption", "TerminationNotice"])
def test_given_spot_interruption_when_handled_and_swept_then_closed_counted_and_never_stopped(
    world: World, clock: ManualClock, capsys: pytest.CaptureFixture[str], stop_code: str
) -> None:
    task = world.start_task("web")
    calls = elb_calls(world)

    result = handle(world, drain_event(world, task, clock.now(), stop_code, SPOT, last="RUNNING"))

    assert result["action"] == "closed"
    record = world.record(task)
    assert record is not None
    assert (record["status"], record["outcome"], record["cause"]) == (
        "closed",
        "not_shortened",
        "spot-interruption",
    )
    assert "sweep_key" not in record
    clock.advance(600)
    sweep(world)
    assert world.stops == []  # no StopTask, ever
    assert calls == {}
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["DrainsNotShortened"] == [1.0]
    assert metrics["DrainsByCause"] == [1.0]


def test_given_spot_interrupts_a_recorded_drain_when_swept_then_closed_without_stop(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    handle(world, drain_event(world, task, clock.now(), "ServiceSchedulerInitiated", SCALING))
    # The interruption's own event was lost; DescribeTasks shows it at the deadline.
    world.set_task(task, "RUNNING", "STOPPED", SPOT, "SpotInterruption")

    clock.advance(121)
    report = sweep(world)

    assert report["stopped"] == []
    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert (record["outcome"], record["cause"]) == ("not_shortened", "spot-interruption")


def test_given_service_without_load_balancer_when_drain_handled_then_closed_and_no_elb_call(
    world: World, clock: ManualClock
) -> None:
    world.add_service(
        "worker",
        {"drain-terminator:enabled": "true", "drain-terminator:min-healthy-percent": "50"},
        load_balanced=False,
    )
    task = world.start_task("worker")
    calls = elb_calls(world)

    event = drain_event(world, task, clock.now(), "ServiceSchedulerInitiated", SCALING)
    event["detail"]["group"] = "service:worker"
    result = handle(world, event)

    assert result["action"] == "closed"
    record = world.record(task)
    assert record is not None
    assert (record["outcome"], record["cause"]) == ("not_shortened", "no-target-group")
    clock.advance(600)
    sweep(world)
    assert world.stops == []
    assert calls == {}


def test_given_unhealthy_tag_leave_when_unhealthy_drain_handled_then_left_to_ecs(
    world: World, clock: ManualClock
) -> None:
    world.tag_service("web", {"drain-terminator:unhealthy": "leave"})
    task = world.start_task("web")

    result = handle(
        world,
        drain_event(
            world,
            task,
            clock.now(),
            "ServiceSchedulerInitiated",
            "Task failed container health checks",
        ),
    )

    assert result["action"] == "closed"
    clock.advance(600)
    sweep(world)
    assert world.stops == []


def test_given_old_format_task_arn_when_drained_then_recorded_under_it_and_stopped(
    world: World, clock: ManualClock
) -> None:
    # Started before the account enabled long task ARNs: task/<id>, no cluster in it.
    world.ecs.put_account_setting(name="taskLongArnFormat", value="disabled")
    task = world.start_task("web")
    assert task.split(":task/", 1)[1].count("/") == 0

    result = handle(
        world, drain_event(world, task, clock.now(), "ServiceSchedulerInitiated", SCALING)
    )

    assert result["action"] == "tracked"
    record = world.record(task)
    assert record is not None
    assert record["cluster_arn"] == world.cluster_arn
    clock.advance(121)
    assert sweep(world)["stopped"] == [task]
    assert [stop.task_arn for stop in world.stops] == [task]


@pytest.mark.parametrize(
    ("fixture", "last", "action", "cause"),
    [
        ("fargate-drain-deactivating.json", "DEACTIVATING", "tracked", "deployment"),
        ("fargate-elb-unhealthy.json", "DEACTIVATING", "tracked", "health-check"),
        ("ec2-instance-draining.json", "RUNNING", "tracked", "instance-draining"),
        ("fargate-spot-interruption.json", "RUNNING", "closed", "spot-interruption"),
    ],
)
def test_given_a_documented_event_fixture_when_handled_then_recorded_with_its_cause(
    world: World, clock: ManualClock, fixture: str, last: str, action: str, cause: str
) -> None:
    task = world.start_task("web")
    world.set_task(task, last, "STOPPED")

    result = handle(world, world.event(task, last, "STOPPED", 4, clock.now(), fixture))

    assert result["action"] == action
    record = world.record(task)
    assert record is not None
    assert record["cause"] == cause
