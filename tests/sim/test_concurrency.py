"""The sweeper's concurrency port on the loop: parallel in virtual time, deterministic."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sim.concurrency import LoopConcurrency
from sim.costs import Costs
from sim.lambda_runtime import LambdaFunction
from sim.loop import EventLoop
from sim.observe import ObservationLog
from tests.sim.test_costs import START, _ecs_world, _run_as_lambda


def _in_process(loop: EventLoop, body: Any) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = body()
        except Exception as error:
            box["error"] = error

    loop.spawn("caller", target)
    loop.run()
    return box


def test_given_ten_sleeps_and_a_limit_of_five_when_mapped_then_they_overlap_in_pairs() -> None:
    loop = EventLoop(START)
    concurrency = LoopConcurrency(loop)
    started: list[tuple[int, float]] = []

    def call(n: int) -> int:
        started.append((n, loop.now - START))
        loop.sleep(1.0)
        return n * n

    box = _in_process(loop, lambda: (concurrency.map(call, range(10), 5), loop.now - START))
    results, elapsed = box["result"]
    assert results == [n * n for n in range(10)]
    assert elapsed == 2.0
    assert concurrency.peak == 5
    assert started == [(n, 0.0) for n in range(5)] + [(n, 1.0) for n in range(5, 10)]


def test_given_failing_calls_when_mapped_then_the_first_items_error_comes_after_all_ran() -> None:
    loop = EventLoop(START)
    done: list[int] = []

    def call(n: int) -> int:
        loop.sleep(10.0 - n)  # later items finish first
        done.append(n)
        if n in {3, 6}:
            raise ValueError(f"item {n}")
        return n

    box = _in_process(loop, lambda: LoopConcurrency(loop).map(call, range(8), 4))
    assert str(box["error"]) == "item 3"
    assert sorted(done) == list(range(8))


def test_given_no_process_when_mapped_then_it_runs_inline_in_order() -> None:
    loop = EventLoop(START)
    assert LoopConcurrency(loop).map(lambda n: n + 1, [1, 2, 3], 10) == [2, 3, 4]
    with pytest.raises(ValueError, match="limit"):
        LoopConcurrency(loop).map(lambda n: n, [1], 0)


def test_given_the_same_work_when_mapped_twice_then_the_order_is_identical() -> None:
    def trace() -> list[int]:
        loop, order = EventLoop(START), []

        def call(n: int) -> None:
            loop.sleep(random.Random(n).uniform(0, 1))
            order.append(n)

        _in_process(loop, lambda: LoopConcurrency(loop).map(call, range(30), 7))
        return order

    assert trace() == trace()


def test_given_stop_tasks_in_parallel_when_mapped_then_latency_overlaps_and_calls_are_charged() -> (
    None
):
    loop, client, interceptor = _ecs_world(Costs(latency_scale=1.0))
    concurrency = LoopConcurrency(loop)
    finished: list[float] = []

    def body() -> None:
        concurrency.map(lambda n: client.stop_task(task=f"t{n}"), range(100), 10)
        finished.append(loop.now)

    invocation = _run_as_lambda(loop, body)
    # 100 calls of 60 ms, 10 at a time: 0.6 s instead of 6 s, within the 100-call burst.
    assert finished == [pytest.approx(START + 0.6)]
    assert invocation.aws_calls == 100
    assert interceptor.calls["ecs.StopTask"] == 100


def test_given_a_timeout_when_children_still_run_then_the_invocation_times_out() -> None:
    loop, log = EventLoop(START), ObservationLog()
    concurrency = LoopConcurrency(loop)
    woke: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        def call(n: int) -> None:
            loop.sleep(10.0)
            woke.append(n)

        concurrency.map(call, range(4), 4)

    function = LambdaFunction(
        loop,
        log,
        name="fn",
        handler=handler,
        timeout=3.0,
        rng=random.Random(1),
        account="123456789012",
        region="us-east-1",
        async_retry_delays=(),
    )
    function.invoke_async({"id": "a"})
    loop.run()
    assert function.invocations[0].outcome == "timeout"
    assert function.invocations[0].ended_at == START + 3.0
    assert woke == []
    assert loop.alive == 0
