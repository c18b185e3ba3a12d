"""A sweeper run that dies around its StopTask, on moto, in both worlds: the next run sends
the StopTask only if the first never reached the task (never twice, never lost). StopTask
sets the task's stop reason in both worlds: the next run reads it.

The effective world: moto's StopTask stops the task. The ignored world
(``stop_takes_effect = False``): StopTask is accepted and changes only the task's stop
reason; the task keeps draining.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.test_sweeper import REASON, drain, sweep
from tests.support.clock import ManualClock
from tests.support.world import World

#: The dead run's claim on the record (LEASE_SECONDS): no other run acts before it ends.
LEASE_SECONDS = 30.0


class Killed(BaseException):
    """Stands in for the Lambda runtime killing the invocation."""


def die(**_: Any) -> None:
    raise Killed


def run_dies(world: World, event: str) -> None:
    """run-1 is killed at ``event`` of its StopTask call."""
    world.ecs.meta.events.register_first(event, die)
    try:
        with pytest.raises(Killed):
            sweep(world, request_id="run-1")
    finally:
        world.ecs.meta.events.unregister(event, die)


def actions(world: World, task: str) -> list[tuple[str, str]]:
    stored = world.record(task)
    assert stored is not None
    return [(a["M"]["action"]["S"], a["M"]["outcome"]["S"]) for a in stored.get("actions", [])]


@pytest.mark.parametrize("effective", [True, False], ids=["effective", "ignored"])
def test_given_run_died_after_stoptask_when_next_run_then_recorded_not_sent_again(
    world: World, clock: ManualClock, effective: bool
) -> None:
    world.stop_takes_effect = effective
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)

    # Killed once the StopTask has reached ECS, before its result is written.
    run_dies(world, "after-call.ecs.StopTask")
    assert len(world.stops) == 1
    assert actions(world, task) == []  # nothing recorded

    clock.advance(LEASE_SECONDS + 1)
    sweep(world, request_id="run-2")

    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, REASON)]  # still one
    stored = world.record(task)
    assert stored is not None
    if effective:  # the task stopped on it: closed as ours
        assert stored["outcome"] == "stopped_by_terminator"
    else:  # still draining with our reason: the StopTask is recorded as sent
        assert actions(world, task) == [("stop-task", "SENT")]
        assert stored["stop_reason"] == REASON
    clock.advance(61)
    sweep(world, request_id="run-3")
    closed = world.record(task)
    assert closed is not None
    assert len(world.stops) == 1
    # Effective: the task stopped on our StopTask; ignored: it never did (ECS's own stop).
    assert closed["outcome"] == ("stopped_by_terminator" if effective else "unconfirmed")


@pytest.mark.parametrize("effective", [True, False], ids=["effective", "ignored"])
def test_given_run_died_before_stoptask_left_when_next_run_then_sent_once(
    world: World, clock: ManualClock, effective: bool
) -> None:
    world.stop_takes_effect = effective
    task = world.start_task("web")
    drain(world, task, clock.now() - 125)

    # Killed as the StopTask was about to be sent.
    run_dies(world, "provide-client-params.ecs.StopTask")
    assert world.stops == []
    assert actions(world, task) == []

    # Within the dead run's lease no run acts; after it, the StopTask is sent: not missed.
    sweep(world, timeout=15.0, request_id="run-2")
    assert world.stops == []
    clock.advance(LEASE_SECONDS + 1)
    report = sweep(world, request_id="run-3")

    assert report["stopped"] == [task]
    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, REASON)]
    assert actions(world, task) == [("stop-task", "SENT")]
    clock.advance(61)
    sweep(world, request_id="run-4")
    assert len(world.stops) == 1
