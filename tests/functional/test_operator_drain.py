"""`drain TASK` end to end on moto: the command takes the task out of rotation and records
it; the sweeper stops it after the wait (never before) with the service's stop action,
guards applied, and confirms the stop as for any drain."""

from __future__ import annotations

import io
from typing import Any

from moto.ecs.models import ecs_backends

from handlers import sweeper
from serverless.cli.app import main
from serverless.domain.lifecycle import stop_reason
from tests.support.clock import FakeContext, ManualClock
from tests.support.world import ACCOUNT, REGION, TABLE, World

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
API = {
    "drain-terminator:enabled": "true",
    "drain-terminator:wait-seconds": "120",
    "drain-terminator:min-healthy-percent": "50",
}


def sweep(world: World, request_id: str) -> dict[str, Any]:
    return sweeper.handler(SCHEDULED, FakeContext(world.clock, 180.0, request_id))  # type: ignore[arg-type]


def drain(world: World, task_arn: str, *argv: str) -> int:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["drain", task_arn, "--yes", *argv],
        stdout=out,
        stderr=err,
        clock=world.clock,
        clients={"ecs": world.ecs, "dynamodb": world.dynamodb, "elbv2": world.elbv2},
        environ={"TABLE_NAME": TABLE},
    )
    assert code == 0, err.getvalue()
    return code


def api_task(world: World, ip: str) -> str:
    """A running task of the api service reachable at ``ip`` (the ENI ECS would attach)."""
    arn = world.start_task("api")
    ecs_backends[ACCOUNT][REGION].tasks["prod"][arn].attachments = [
        {
            "id": "eni-attachment",
            "type": "ElasticNetworkInterface",
            "status": "ATTACHED",
            "details": [{"name": "privateIPv4Address", "value": ip}],
        }
    ]
    return arn


def test_given_an_operator_drain_when_swept_then_stopped_after_the_wait_and_confirmed(
    world: World, clock: ManualClock
) -> None:
    group = world.target_group("api-tg", healthy=3)  # targets 10.20.1.10-12
    world.add_service("api", API, desired_count=3, target_groups=(group,))
    task = api_task(world, "10.20.1.10")
    began = clock.now()

    drain(world, task, "--wait", "150")

    targets = world.elbv2.describe_target_health(TargetGroupArn=group)
    assert {d["Target"]["Id"] for d in targets["TargetHealthDescriptions"]} == {
        "10.20.1.11",
        "10.20.1.12",
    }
    record = world.record(task)
    assert record is not None
    assert (record["status"], record["cause"]) == ("draining", "operator")

    # A run well before the deadline: the task runs on, out of rotation, with desired
    # RUNNING, and the record stays open (not closed as "not draining").
    clock.advance(30)
    sweep(world, "run-1")
    assert world.stops == []
    assert world.task_status(task) == ("RUNNING", "RUNNING")
    record = world.record(task)
    assert record is not None
    assert record["status"] == "draining"

    # The run that reaches the deadline waits inside itself for it, checks the guards
    # (2 healthy of desired 3 >= 50 %) and stops the task with the service's stop action.
    clock.advance(100)
    report = sweep(world, "run-2")
    assert report["stopped"] == [task]
    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, stop_reason(150))]
    assert world.stops[0].at >= began + 150  # never before deregistration + wait
    record = world.record(task)
    assert record is not None
    assert record["status"] == "stop_requested"

    # Confirmed as any drain: the next run after the confirmation deadline sees it stopped.
    clock.advance(61)
    sweep(world, "run-3")
    assert len(world.stops) == 1
    record = world.record(task)
    assert record is not None
    assert (record["status"], record["outcome"], record["cause"]) == (
        "closed",
        "stopped_by_terminator",
        "operator",
    )
