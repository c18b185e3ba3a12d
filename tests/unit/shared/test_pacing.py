"""Client-side pacing: blocks of tokens from the shared ledger buckets, spent locally."""

from __future__ import annotations

import pytest

from serverless.domain.accounts import scope_of
from serverless.domain.errors import AwsUnavailableError
from serverless.shared.pacing import DESCRIBE_TASKS, STOP_TASK, Bucket, Pacer
from tests.support.clock import ManualClock
from tests.support.fakes import FakeLedger
from tests.support.sweeping import Harness


def admitted_within_limit(times: list[float], bucket: Bucket, start: float) -> bool:
    """No window from ``start`` holds more calls than the bucket's burst plus its refill."""
    ordered = sorted(times)
    return all(
        n + 1 <= bucket.burst + bucket.rate * (t - start) + 1e-6 for n, t in enumerate(ordered)
    )


def test_given_fresh_bucket_when_tokens_acquired_then_taken_from_the_ledger_in_blocks(
    clock: ManualClock,
) -> None:
    ledger = FakeLedger()
    pacer = Pacer(ledger, clock)
    for _ in range(STOP_TASK.block + 1):
        pacer.acquire(STOP_TASK)
    assert [call[:2] for call in ledger.token_calls] == [
        ("ecs:StopTask", STOP_TASK.block),
        ("ecs:StopTask", STOP_TASK.block),
    ]
    assert pacer.takes == 2
    assert clock.slept == []  # a full bucket lets the first calls through at once


def test_given_250_calls_at_once_when_paced_then_burst_then_the_refill_rate(
    clock: ManualClock,
) -> None:
    pacer = Pacer(FakeLedger(), clock)
    start = clock.now()
    times = []
    for _ in range(250):
        pacer.acquire(STOP_TASK)
        times.append(clock.now())
    assert admitted_within_limit(times, STOP_TASK, start)
    assert times[STOP_TASK.burst - 1] == start  # the burst goes at once
    # (250 - 100) / 40 s, rounded up to the block the last call belongs to.
    assert times[-1] == pytest.approx(start + 150 / 40.0, abs=STOP_TASK.block / 40.0)


def test_given_two_invocations_sharing_the_ledger_when_paced_then_limit_holds_for_both(
    clock: ManualClock,
) -> None:
    ledger = FakeLedger()
    first, second = Pacer(ledger, clock), Pacer(ledger, clock)
    start = clock.now()
    times = []
    for n in range(300):
        (first if n % 2 else second).acquire(DESCRIBE_TASKS)
        times.append(clock.now())
    assert admitted_within_limit(times, DESCRIBE_TASKS, start)
    assert times[-1] >= start + (300 - DESCRIBE_TASKS.burst - DESCRIBE_TASKS.block) / 20.0


def test_given_bucket_idle_for_a_while_when_paced_then_the_burst_is_available_again(
    clock: ManualClock,
) -> None:
    pacer = Pacer(FakeLedger(), clock)
    for _ in range(200):
        pacer.acquire(STOP_TASK)
    clock.advance(10)
    resumed = clock.now()
    for _ in range(100):
        pacer.acquire(STOP_TASK)
    assert clock.now() == resumed


def test_given_ledger_unavailable_when_tokens_needed_then_error_raised_to_the_caller(
    clock: ManualClock,
) -> None:
    ledger = FakeLedger()
    ledger.token_failures.append(AwsUnavailableError("UpdateItem: 503"))
    with pytest.raises(AwsUnavailableError):
        Pacer(ledger, clock).acquire(STOP_TASK)


def test_given_250_drains_due_at_once_when_swept_then_stop_task_paced_to_the_account_limit(
    clock: ManualClock,
) -> None:
    h = Harness(clock)
    start = h.now
    tasks = [h.drain(i, start - 130) for i in range(1, 251)]

    report = h.run()

    assert sorted(report.stopped) == sorted(tasks)
    assert admitted_within_limit([s.at for s in h.ecs.stops], STOP_TASK, start)
    assert max(s.at for s in h.ecs.stops) <= start + 150 / 40.0 + 1.0
    # A token item write per block of ten stops, not per stop.
    # The bucket of the tasks' account and region.
    stop_takes = [c for c in h.ledger.token_calls if c[0].startswith("ecs:StopTask#")]
    assert len(stop_takes) == 25
    assert {c[0] for c in stop_takes} == {f"ecs:StopTask#{scope_of(tasks[0]).key}"}


def test_given_one_accounts_burst_when_another_account_calls_then_it_waits_for_nothing(
    clock: ManualClock,
) -> None:
    ledger = FakeLedger()
    pacer = Pacer(ledger, clock)
    own = "arn:aws:ecs:us-east-1:111122223333:task/prod/0a"
    member = "arn:aws:ecs:us-east-1:222233334444:task/prod/0b"
    for _ in range(300):
        pacer.acquire(STOP_TASK, arn=own)
    after_burst = clock.now()
    assert after_burst > 4.0 + ledger.token_calls[0][-1]  # the own account is paced

    pacer.acquire(STOP_TASK, arn=member)

    assert clock.now() == after_burst
    assert {call[0] for call in ledger.token_calls} == {
        "ecs:StopTask#111122223333#us-east-1",
        "ecs:StopTask#222233334444#us-east-1",
    }
