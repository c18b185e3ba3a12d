"""Signal steps paced and scheduled by a sweeper run over fakes: a token of the action's
account bucket before each step, and a run without the time for a step hands over at once."""

from __future__ import annotations

from typing import Any

from serverless.domain.errors import AwsUnavailableError
from serverless.domain.model import RecordStatus, StopAction
from serverless.sweep.timing import SAFETY_MARGIN_SECONDS, UNIT_SECONDS
from tests.support.clock import ManualClock
from tests.support.fakes import FakeTrigger
from tests.unit.sweep.test_steps import harness


def test_given_exec_steps_when_taken_then_each_takes_a_token_of_execute_command_first(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC, exec_calls_per_second=2)
    tasks = [h.drain(i, h.now - 120) for i in range(1, 9)]

    h.run()

    assert sorted(c.target.task_arn for c in exec_port.calls) == sorted(tasks)
    # The bucket of the tasks' account and region (each account has its own).
    account, region = tasks[0].split(":")[4], tasks[0].split(":")[3]
    taken = [
        (count, at)
        for bucket, count, at in h.ledger.token_calls
        if bucket == f"ecs:ExecuteCommand#{account}#{region}"
    ]
    assert sum(count for count, _ in taken) >= len(tasks)
    # 8 steps at 2 a second (a burst of 2): the last one no sooner than 3 s after the first.
    times = sorted(c.at for c in exec_port.calls)
    assert times[-1] - times[0] >= 3.0 - 1e-6


def test_given_execute_command_tokens_unavailable_when_due_then_no_exec_and_looked_at_again(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    task = h.drain(1, h.now - 120)
    take = h.ledger.take_tokens
    failures = [AwsUnavailableError("UpdateItem: ThrottlingException")]

    def flaky(bucket: str, *args: Any) -> float:
        if bucket.startswith("ecs:ExecuteCommand#") and failures:
            raise failures.pop()
        return take(bucket, *args)

    h.ledger.take_tokens = flaky  # type: ignore[method-assign]
    started = h.now

    h.run()

    # No step without its token: the record was given back unmarked, looked at again 5 s
    # later in the same run, and the step taken once.
    [call] = exec_port.calls
    assert call.at >= started + 5.0
    assert [a.action for a in h.record(task).actions] == [StopAction.EXEC]
    assert h.record(task).status is RecordStatus.STOP_REQUESTED


def test_given_too_little_time_for_the_exec_bound_when_due_then_released_and_handed_over(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    h.trigger = FakeTrigger()
    exec_port.bound = 100.0
    timeout = 180.0
    # Due 40 s into the run: 180 - 10 - 40 = 130 s left < 45 + 100 s the step needs.
    tasks = [h.drain(i, h.now - 120 + 40) for i in range(1, 4)]
    started = h.now

    report = h.run(timeout=timeout)

    assert exec_port.calls == []
    assert (h.trigger.starts, report.handed_over) == (1, True)
    # It ended right after the deadline, not at the end of its invocation (which would keep
    # its concurrency slot from a run that has the time).
    assert h.now - started < 40.0 + 5.0
    assert h.now - started < timeout - SAFETY_MARGIN_SECONDS - UNIT_SECONDS
    for task in tasks:
        record = h.record(task)
        assert record.lease_owner is None  # given back at once, due now
        assert record.due_at <= h.now
        assert record.actions == ()

    # The next run, with its whole invocation, takes the steps.
    h.run(timeout=timeout, run_id="run-2")
    assert sorted(c.target.task_arn for c in exec_port.calls) == sorted(tasks)
