"""The sweeper's run loop: when it looks, waits, works and returns (fakes, manual clock)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from serverless.domain.early_start import EARLY_START_DEBOUNCE_SECONDS
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.lifecycle import stop_reason
from serverless.domain.model import DueEntry, Outcome, RecordStatus
from serverless.sweep.batch import CLAIM_BATCH
from serverless.sweep.timing import RETRY_SECONDS, SAFETY_MARGIN_SECONDS, UNIT_SECONDS
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeTrigger
from tests.support.sweeping import OPTED_IN, SHORT_TIMEOUT, Harness

Values = Callable[[str], list[float]]


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


# -- idle and planning -----------------------------------------------------------------------------


def test_given_no_records_when_run_then_one_read_and_returns_at_once(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    report = h.run()
    assert h.ledger.has_open_calls == 1
    assert h.ledger.due_calls == 0  # an idle run makes exactly one read
    assert report.polls == 0
    assert h.now == start
    assert clock.slept == []
    assert h.ecs.describe_tasks_calls == []


def test_given_deadline_beyond_horizon_when_run_then_one_query_and_returns_at_once(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start)  # due in 120 s; the horizon is 90 s

    report = h.run()

    assert report.polls == 1
    assert h.now == start  # no busy polling: nothing is due within the horizon
    assert h.ecs.stops == []
    assert h.record(task).lease_owner is None


def test_given_only_confirmations_open_when_run_then_they_do_not_hold_the_run(
    h: Harness, clock: ManualClock, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 115)  # due in 5 s

    first = h.run()

    # Stopped at +5; its confirmation (+65) is left to a later run.
    assert h.stop_times(task) == [pytest.approx(start + 5)]
    assert h.now == pytest.approx(start + 5)
    assert first.stopped == [task]
    clock.advance(60)
    second = h.run(run_id="run-2")
    stored = h.record(task)
    assert stored.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert stored.stop_reason == stop_reason(120)
    assert second.closed == [task]
    assert metric_values("TasksStopped") == [1.0]
    assert metric_values("StopLatenessSeconds") == [0.0]
    assert metric_values("StopsConfirmed") == [1.0]


# -- precise deadlines -----------------------------------------------------------------------------


def test_given_deadline_inside_horizon_when_run_then_sleeps_until_it_and_stops_exactly_then(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 120 + 42.3)

    report = h.run()

    assert report.stopped == [task]
    assert h.stop_times(task) == [pytest.approx(start + 42.3)]
    assert h.stop_times(task)[0] >= start + 42.3  # never before the deadline
    assert h.ecs.stops[0].reason == stop_reason(120)
    assert h.ecs.stops[0].cluster_arn == CLUSTER_ARN
    # At the start and at the deadline; the stop's write says what is left (nothing).
    assert report.polls == 2


def test_given_several_deadlines_when_run_then_each_met_in_order_never_early(h: Harness) -> None:
    start = h.now
    offsets = [0.0, 5.5, 30.25, 61.0, 89.9]
    tasks = [h.drain(i, start - 120 + offset) for i, offset in enumerate(offsets, 1)]

    h.run()

    assert [s.task_arn for s in h.ecs.stops] == tasks
    for stop, offset in zip(h.ecs.stops, offsets, strict=True):
        assert start + offset <= stop.at <= start + offset + 1.0


def test_given_overdue_drain_when_run_then_stopped_at_once(h: Harness) -> None:
    start = h.now
    task = h.drain(1, start - 500)
    h.run()
    assert h.stop_times(task) == [start]


def test_given_25_due_together_when_run_then_claimed_in_batches_and_all_stopped(
    h: Harness,
) -> None:
    tasks = [h.drain(i, h.now - 130) for i in range(1, 26)]
    report = h.run()
    assert sorted(report.stopped) == sorted(tasks)
    # One DescribeTasks per batch of claimed records, never one per task.
    assert [len(call[1]) for call in h.ecs.describe_tasks_calls] == [CLAIM_BATCH, CLAIM_BATCH, 5]


# -- the invocation's time -------------------------------------------------------------------------


def test_given_short_remaining_time_when_deadline_later_then_returns_in_time(h: Harness) -> None:
    start = h.now
    h.drain(1, start - 120 + 25)  # due in 25 s; a 71 s invocation may start work for 16 s

    h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    assert h.now - start <= SHORT_TIMEOUT - SAFETY_MARGIN_SECONDS - UNIT_SECONDS


def test_given_short_remaining_time_when_deadline_fits_then_stopped(h: Harness) -> None:
    start = h.now
    task = h.drain(1, start - 120 + 15)
    h.run(timeout=SHORT_TIMEOUT)
    assert h.stop_times(task) == [pytest.approx(start + 15)]


@pytest.mark.parametrize("timeout", [0.0, 5.0, SAFETY_MARGIN_SECONDS + UNIT_SECONDS])
def test_given_no_time_for_a_unit_of_work_when_run_then_nothing_is_touched(
    h: Harness, timeout: float
) -> None:
    task = h.drain(1, h.now - 500)
    before = h.record(task)

    report = h.run(timeout=timeout)

    assert report.polls == 0
    assert h.ledger.claims == []
    assert h.ecs.stops == []
    assert h.record(task) == before


def test_given_time_runs_out_between_batches_when_run_then_later_batches_left_unclaimed(
    h: Harness, clock: ManualClock
) -> None:
    tasks = [h.drain(i, h.now - 130) for i in range(1, 21)]
    # Each StopTask takes 1 s: the first batch's last stop starts 9 s in, with 45.5 s left
    # (64.5 s - 10 s reserve - 9 s >= 45 s a unit needs); the second batch would start 10 s
    # in, with too little left.
    h.ecs.latency["StopTask"] = 1.0
    h.run(timeout=64.5)

    assert len(h.ecs.stops) == CLAIM_BATCH
    records = [h.record(t) for t in tasks]
    assert sum(r.status is RecordStatus.STOP_REQUESTED for r in records) == CLAIM_BATCH
    # The second batch was described too late to stop: released for the next run at once.
    rest = [r for r in records if r.status is RecordStatus.DRAINING]
    assert len(rest) == 20 - CLAIM_BATCH
    assert all(r.lease_owner is None for r in rest)


# -- drains recorded while a run waits -------------------------------------------------------------


def test_given_every_worked_record_written_when_more_are_due_later_then_no_read_in_between(
    h: Harness,
) -> None:
    start = h.now
    first = h.drain(1, start - 120 + 10)
    second = h.drain(2, start - 120 + 40)

    report = h.run()

    assert h.stop_times(first) == [pytest.approx(start + 10)]
    assert h.stop_times(second) == [pytest.approx(start + 40)]
    # At the start, at +10 and at +40: after each stop the run knows the record's new state
    # from its own write and waits for the next deadline without reading the index again.
    assert report.polls == 3


def test_given_a_write_that_failed_when_the_batch_ends_then_the_index_is_read_again_at_once(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.put_failures[task].append(AwsUnavailableError("DynamoDB unavailable"))
    reads: list[float] = []
    due = h.ledger.due

    def timed_due(until: float, *, every_partition: bool = False) -> list[DueEntry]:
        reads.append(h.now)
        return due(until, every_partition=every_partition)

    h.ledger.due = timed_due  # type: ignore[method-assign]

    h.run()

    assert h.stop_times(task) == [pytest.approx(start)]
    # The stop's write failed: its state is unknown, so the run reads the index again at
    # once (and then waits for the lease to expire, as it did before).
    assert reads[:2] == [pytest.approx(start), pytest.approx(start)]


def test_given_a_drain_due_while_a_batch_works_when_it_ends_then_that_drain_is_worked_at_once(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    slow = h.drain(1, start - 130)
    meanwhile = h.drain(2, start - 120 + 10)  # due while the first batch works
    h.ecs.latency["DescribeTasks"] = 12.0

    def fast_again() -> None:
        h.ecs.latency.clear()

    clock.at(start + 12, fast_again)

    h.run()

    assert h.stop_times(slow) == [pytest.approx(start + 12)]
    assert h.stop_times(meanwhile) == [pytest.approx(start + 12)]  # no wait for a later look


def test_given_drain_recorded_while_waiting_when_run_wakes_then_it_is_found(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    h.drain(1, start - 120 + 50)  # keeps the run until +50
    late: list[str] = []
    clock.at(start + 20, lambda: late.append(h.drain(2, start + 20 - 120 + 40)))  # due +60

    h.run()

    assert h.stop_times(late[0]) == [pytest.approx(start + 60)]


def test_given_early_run_when_nothing_due_then_it_looks_once_more_after_the_debounce_window(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    late: list[str] = []
    # A drain whose own early start was held back (debounced) while this run was starting.
    clock.at(start + 10, lambda: late.append(h.drain(2, start + 10 - 120 + 60)))  # due +70

    report = h.run(early=True)

    assert report.polls == 3  # at the start, after the debounce window, at +70
    assert h.stop_times(late[0]) == [pytest.approx(start + 70)]
    assert EARLY_START_DEBOUNCE_SECONDS == 30.0


def test_given_early_run_when_nothing_is_ever_due_then_returns_after_the_debounce_window(
    h: Harness,
) -> None:
    start = h.now
    report = h.run(early=True)
    assert h.now == pytest.approx(start + EARLY_START_DEBOUNCE_SECONDS)
    assert report.polls == 2


# -- leases of other runs, and a failing ledger ----------------------------------------------------


def test_given_record_leased_by_another_run_when_run_then_taken_over_once_the_lease_expires(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.bump(task, lease_owner="run-0", lease_until=start + 30)

    h.run()

    assert h.stop_times(task) == [pytest.approx(start + 30)]


def test_given_several_polls_when_run_then_only_the_first_reads_every_partition(
    h: Harness,
) -> None:
    start = h.now
    for n, delay in enumerate((0, 20, 40), start=1):
        h.drain(n, start - 120 + delay)

    report = h.run()

    assert report.polls >= 3
    # An earlier layout's records (another shard count, the legacy key) are found by the
    # run's first read; its later polls read only the partitions this deployment writes.
    assert h.ledger.every_partition_reads[0] is True
    assert set(h.ledger.every_partition_reads[1:]) == {False}


def test_given_the_first_read_fails_when_run_then_the_retry_still_reads_every_partition(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.due_failures.append(AwsUnavailableError("Query: 503"))

    h.run()

    assert h.ledger.every_partition_reads[:2] == [True, True]
    assert h.stop_times(task) == [pytest.approx(start + RETRY_SECONDS)]


def test_given_due_index_unavailable_once_when_run_then_retried_shortly(h: Harness) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.due_failures.append(AwsUnavailableError("Query: 503"))

    h.run()

    assert h.stop_times(task) == [pytest.approx(start + RETRY_SECONDS)]


def test_given_a_backlog_past_the_horizon_when_the_due_index_fails_then_the_run_goes_on(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    tasks = [h.drain(i, start - 130) for i in range(1, 121)]
    h.ecs.latency["StopTask"] = 1.0  # 120 stops one after another: past the 90 s horizon
    clock.at(start + 95, lambda: h.ledger.due_failures.append(AwsUnavailableError("503")))

    report = h.run()

    assert sorted(report.stopped) == sorted(tasks)  # the read after +95 failed, and was retried
    assert h.now - start > h.settings.sweep_horizon_seconds


def test_given_a_failed_first_read_when_nothing_more_is_due_then_the_run_ends_at_its_horizon(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    first = h.drain(1, start - 120 + 80)  # due +80: the run waits for it
    later = h.drain(2, start - 120 + 100)  # due +100: beyond the 90 s horizon
    h.ledger.due_failures.append(AwsUnavailableError("503"))  # the run's first read

    report = h.run()

    # The first read failed, was retried after RETRY_SECONDS (inside the horizon), found
    # +80 and stopped it; after it nothing was due within the horizon: the run ended.
    assert report.stopped == [first]
    assert h.stop_times(later) == []
    assert h.now == pytest.approx(start + 80)


# -- hand-over -------------------------------------------------------------------------------------


def test_given_a_backlog_longer_than_the_run_when_time_runs_out_then_it_starts_the_next_run(
    h: Harness,
) -> None:
    h.trigger = FakeTrigger()
    tasks = [h.drain(i, h.now - 130) for i in range(1, 201)]
    h.ecs.latency["StopTask"] = 1.0  # 200 s of stops one after another: more than a run has

    report = h.run()

    assert 0 < len(report.stopped) < len(tasks)
    assert (h.trigger.starts, report.handed_over) == (1, True)


def test_given_the_backlog_cleared_in_time_when_the_run_ends_then_no_hand_over(
    h: Harness,
) -> None:
    h.trigger = FakeTrigger()
    tasks = [h.drain(i, h.now - 130) for i in range(1, 21)]

    report = h.run()

    assert sorted(report.stopped) == sorted(tasks)
    assert (h.trigger.starts, report.handed_over) == (0, False)


def test_given_the_hand_over_fails_when_time_runs_out_then_the_run_still_ends_normally(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h.trigger = FakeTrigger(AwsUnavailableError("Invoke: TooManyRequestsException"))
    for i in range(1, 201):
        h.drain(i, h.now - 130)
    h.ecs.latency["StopTask"] = 1.0

    report = h.run()

    assert h.trigger.starts == 1
    assert report.handed_over is False
    assert any("could not hand over" in r.getMessage() for r in caplog.records)


def test_given_claims_keep_failing_when_run_then_no_hot_loop_and_run_ends_in_time(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.claim_failures[task].extend(AwsUnavailableError("503") for _ in range(10_000))

    report = h.run()

    assert h.ecs.stops == []
    assert h.now - start <= 180.0 - SAFETY_MARGIN_SECONDS - UNIT_SECONDS + RETRY_SECONDS
    assert report.polls <= (180.0 / RETRY_SECONDS) + 1
    assert h.record(task).status is RecordStatus.DRAINING


def test_given_records_in_two_clusters_when_run_then_tasks_described_per_cluster(
    h: Harness,
) -> None:
    staging = CLUSTER_ARN.replace("/prod", "/staging")
    h.ecs.add_service("web", OPTED_IN, cluster_arn=staging)
    prod_task = h.drain(1, h.now - 200)
    staging_task = h.drain(2, h.now - 200, cluster_arn=staging)

    h.run(timeout=SHORT_TIMEOUT)

    assert sorted(h.ecs.describe_tasks_calls) == sorted(
        [(CLUSTER_ARN, (prod_task,)), (staging, (staging_task,))]
    )
    assert {s.task_arn for s in h.ecs.stops} == {prod_task, staging_task}


def test_given_report_when_serialised_then_json_friendly_summary(h: Harness) -> None:
    task = h.drain(1, h.now - 130)
    summary = h.run(timeout=SHORT_TIMEOUT).as_dict()
    assert summary == {
        "stopped": [task],
        "escalated": [],
        "closed": [],
        "deferred": [],
        "dry_run": [],
        "failed": [],
        "lookup_failed": [],
        "conflicts": 0,
        "polls": 1,
        "token_takes": 3,
        "handed_over": False,
    }
