"""A sweeper run that dies around its StopTask, on moto, in both worlds: the next run sends
the StopTask only if the first never reached the task (never twice, never lost).

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

#: The STARTED mark holds the record for the longest StopTask call (15 s) plus clock skew.
HOLD_SECONDS = 16.0


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
    assert actions(world, task) == [("stop-task", "STARTED")]

    clock.advance(HOLD_SECONDS + 1)
    sweep(world, request_id="run-2")

    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, REASON)]  # still one
    stored = world.record(task)
    assert stored is not None
    assert actions(world, task) == [("stop-task", "SENT")]
    assert float(stored["stop_requested_at"]) == pytest.approx(world.stops[0].at)
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

    # Killed after the STARTED mark was written, as the StopTask was about to be sent.
    run_dies(world, "provide-client-params.ecs.StopTask")
    assert world.stops == []
    assert actions(world, task) == [("stop-task", "STARTED")]

    # Within the mark's hold no run acts; after it, the StopTask is sent: not a missed stop.
    sweep(world, timeout=15.0, request_id="run-2")
    assert world.stops == []
    clock.advance(HOLD_SECONDS + 1)
    report = sweep(world, request_id="run-3")

    assert report["stopped"] == [task]
    assert [(s.task_arn, s.reason) for s in world.stops] == [(task, REASON)]
    assert actions(world, task) == [("stop-task", "SENT")]
    clock.advance(61)
    sweep(world, request_id="run-4")
    assert len(world.stops) == 1
