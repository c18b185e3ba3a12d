"""The sweeper's concurrency port on the loop: parallel in virtual time, deterministic."""

from __future__ import annotations

import random
from typing import Any

import pytest

from serverless.domain.errors import AwsUnavailableError
from serverless.shared.pacing import DESCRIBE_TASKS, Pacer
from sim.aws.costs import Costs
from sim.aws.lambda_runtime import LambdaFunction
from sim.engine.concurrency import LoopConcurrency
from sim.engine.loop import EventLoop, SimClock
from sim.engine.observe import ObservationLog
from tests.sim.conftest import START
from tests.sim.costed import ecs_world, run_as_lambda
from tests.support.fakes import FakeLedger


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
    loop, client, interceptor = ecs_world(Costs(latency_scale=1.0))
    concurrency = LoopConcurrency(loop)
    finished: list[float] = []

    def body() -> None:
        concurrency.map(lambda n: client.stop_task(task=f"t{n}"), range(100), 10)
        finished.append(loop.now)

    invocation = run_as_lambda(loop, body)
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


class _SlowLedger(FakeLedger):
    """Token writes that take 7 ms of virtual time, as a DynamoDB UpdateItem does."""

    def __init__(self, loop: EventLoop) -> None:
        super().__init__()
        self._loop = loop

    def take_tokens(self, bucket: str, count: int, rate: float, burst: int, now: float) -> float:
        self._loop.sleep(0.007)
        return super().take_tokens(bucket, count, rate, burst, now)


def test_given_eight_workers_needing_a_token_at_once_when_paced_then_they_share_blocks() -> None:
    loop = EventLoop(START)
    ledger = _SlowLedger(loop)
    pacer = Pacer(ledger, SimClock(loop))

    box = _in_process(
        loop,
        lambda: LoopConcurrency(loop).map(
            lambda n: (pacer.acquire(DESCRIBE_TASKS), loop.now)[1], range(8), 8
        ),
    )

    # Eight tokens in blocks of four: two ledger writes, not one block per worker (whose
    # unspent tokens would be lost to the account's bucket).
    assert [call[:2] for call in ledger.token_calls] == [("ecs:DescribeTasks", 4)] * 2
    assert all(at == pytest.approx(START + 0.007, abs=0.006) for at in box["result"])


def test_given_the_shared_fetch_fails_when_paced_then_each_worker_waiting_sees_the_error() -> None:
    loop = EventLoop(START)
    ledger = _SlowLedger(loop)
    ledger.token_failures.append(AwsUnavailableError("ledger throttled"))
    pacer = Pacer(ledger, SimClock(loop))
    outcomes: list[str] = []

    def worker(n: int) -> None:
        try:
            pacer.acquire(DESCRIBE_TASKS)
            outcomes.append("ok")
        except AwsUnavailableError:
            outcomes.append("error")

    _in_process(loop, lambda: LoopConcurrency(loop).map(worker, range(3), 3))

    assert sorted(outcomes) == ["error", "error", "error"]
    pacer.acquire(DESCRIBE_TASKS)  # the next acquire fetches anew
    assert len(ledger.token_calls) == 1
