"""Each due record on its own: claims, re-checks, failures, guards, confirmation (fakes)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from serverless.domain.errors import (
    AwsUnavailableError,
    ConflictError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.domain.lifecycle import stop_reason
from serverless.domain.model import Outcome, RecordStatus, TaskState
from serverless.shared.pacing import STOP_TASK, Bucket, Pacer
from serverless.sweep.batch import CLAIM_BATCH
from serverless.sweep.timing import (
    LOOKUP_RETRY_SECONDS,
    MAX_STOP_ATTEMPTS,
    STOP_RETRY_SECONDS,
    TASK_STATE_MAX_AGE_SECONDS,
    TRANSIENT_LOOKUP_RETRY_SECONDS,
    TRANSIENT_RETRY_SECONDS,
)
from tests.support.clock import ManualClock
from tests.support.sweeping import OPTED_IN, SHORT_TIMEOUT, TG, Harness

Values = Callable[[str], list[float]]


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, object]]:
    return [
        (r.getMessage(), getattr(r, "ecs_service", None))
        for r in caplog.records
        if r.levelname == "ERROR"
    ]


# -- claims, leases and conflicts ------------------------------------------------------------------


def test_given_claim_lost_to_another_run_when_run_then_counted_skipped_and_never_stopped_twice(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.claim_conflicts.add(task)

    report = h.run(timeout=SHORT_TIMEOUT)

    assert report.conflicts == 1
    assert len(h.ecs.stops) == 1
    assert h.ledger.claims[0] == (task, "run-1", start)


def test_given_claims_lost_to_another_run_when_run_then_no_stop_task_tokens_asked_for_them(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, int]] = []
    acquire = Pacer.acquire

    def spy(pacer: Pacer, bucket: Bucket, count: int = 1) -> None:
        asked.append((bucket.name, count))
        acquire(pacer, bucket, count)

    monkeypatch.setattr(Pacer, "acquire", spy)
    start = h.now
    tasks = [h.drain(i, start - 130) for i in range(1, 5)]
    h.ledger.claim_conflicts.update(tasks[:3])

    h.run(timeout=SHORT_TIMEOUT)

    # The first batch holds one of its four records: it asks the shared StopTask bucket for
    # one token, not four (tokens asked for records another run claimed first paced a
    # 1,000-drain burst at half the account's StopTask rate).
    assert next(count for name, count in asked if name == STOP_TASK.name) == 1
    assert len(h.ecs.stops) >= 1


def test_given_claimed_record_when_stopped_then_lease_taken_right_before_and_dropped_after(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.stops_take_effect = False

    h.run(timeout=SHORT_TIMEOUT)

    stored = h.record(task)
    assert stored.status is RecordStatus.STOP_REQUESTED
    assert stored.stop_requested_at == start
    assert stored.due_at == start + h.settings.confirm_after_seconds
    assert stored.lease_owner is None
    assert stored.lease_until is None


def test_given_record_closed_by_an_event_meanwhile_when_close_conflicts_then_counted_not_reported(
    h: Harness,
) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.set_task(task, "STOPPED", "STOPPED", "Scaling activity")
    h.ledger.put_failures[task].append(ConflictError("closed by the event"))

    report = h.run(timeout=SHORT_TIMEOUT)

    assert report.conflicts == 1
    assert report.closed == []
    assert h.ecs.stops == []


def test_given_stop_requested_write_conflicts_when_stopped_then_conflict_counted_once(
    h: Harness,
) -> None:
    task = h.drain(1, h.now - 130)
    h.ledger.put_failures[task].append(ConflictError("STOPPED event closed it"))

    report = h.run(timeout=SHORT_TIMEOUT)

    assert report.stopped == [task]
    assert report.conflicts == 1
    assert len(h.ecs.stops) == 1


# -- a StopTask is decided on current facts only ---------------------------------------------------


def test_given_lease_nearly_expired_at_stop_time_when_run_then_not_stopped_but_released_and_redone(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    # The first DescribeTasks takes 15 s of a 30 s lease: 15 s left < the 16 s margin.
    h.ecs.latency["DescribeTasks"] = 15.0
    stops_before: list[int] = []

    def fast_again() -> None:
        stops_before.append(len(h.ecs.stops))
        h.ecs.latency.clear()

    clock.at(start + 15, fast_again)

    h.run()

    assert stops_before == [0]  # no StopTask on the nearly expired lease
    assert h.stop_times(task) == [pytest.approx(start + 15)]  # the next round, a new lease
    assert len(h.ledger.claims) == 2


def test_given_task_state_older_than_the_bound_when_deciding_then_described_again(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    # Reading the tags takes 6 s: the task state read before them is then too old (> 2 s).
    h.ecs.latency["DescribeServices"] = 6.0

    h.run()

    # Within the same claim the task is described again right before the StopTask.
    assert h.stop_times(task) == [pytest.approx(start + 6)]
    assert len(h.ledger.claims) == 1
    assert [call[1] for call in h.ecs.describe_tasks_calls] == [(task,), (task,)]


def test_given_a_view_older_than_half_the_bound_when_a_batch_starts_then_it_is_read_again(
    h: Harness,
) -> None:
    start = h.now
    tasks = [h.drain(i, start - 130) for i in range(1, CLAIM_BATCH + 2)]
    # Each StopTask takes 0.3 s: the second batch starts 3 s after the tags were read, more
    # than half of DECISION_MAX_AGE_SECONDS (5 s), so its last stop could exceed the bound.
    h.ecs.latency["StopTask"] = 0.3

    h.run()

    assert [s.task_arn for s in h.ecs.stops] == tasks
    assert len(h.ecs.describe_services_calls) == 2


def test_given_checks_quicker_than_the_state_bound_when_deciding_then_described_once(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.latency["DescribeServices"] = TASK_STATE_MAX_AGE_SECONDS - 0.5

    h.run()

    assert len(h.ecs.stops) == 1
    assert [call[1] for call in h.ecs.describe_tasks_calls] == [(task,)]


def test_given_ecs_begins_stopping_the_task_during_slow_checks_when_deciding_then_no_stop_task(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    # 4 s: within DECISION_MAX_AGE_SECONDS (5), beyond TASK_STATE_MAX_AGE_SECONDS (2).
    h.ecs.latency["DescribeServices"] = 4.0
    # The deregistration delay ends while the tags are read: ECS begins stopping the task.
    clock.at(
        start + 2,
        lambda: h.ecs.set_task(task, "STOPPING", "STOPPED", "Scaling activity", stopping_at=start),
    )

    h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    assert h.record(task).status is RecordStatus.CLOSED
    assert h.record(task).outcome is not Outcome.STOPPED_BY_TERMINATOR


def test_given_second_describe_fails_when_deciding_then_deferred_without_a_stop(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.latency["DescribeServices"] = 6.0
    clock.at(
        start + 3,
        lambda: h.ecs.describe_tasks_failures.append(AwsUnavailableError("Rate exceeded")),
    )

    h.run()

    # No StopTask on the unreadable state: the record is looked at again later, and stopped then.
    (stopped_at,) = h.stop_times(task)
    assert stopped_at >= start + 6 + TRANSIENT_LOOKUP_RETRY_SECONDS
    assert len(h.ecs.describe_tasks_calls) >= 3


def test_given_opt_out_between_two_stops_when_run_then_second_task_not_stopped(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    first = h.drain(1, start - 120)
    second = h.drain(2, start - 120 + 10)
    clock.at(start + 1, lambda: h.ecs.add_service("web", {"drain-terminator:enabled": "false"}))

    h.run()

    assert [s.task_arn for s in h.ecs.stops] == [first]
    assert h.record(second).outcome is Outcome.OPTED_OUT


def test_given_dry_run_switched_on_between_two_stops_when_run_then_second_not_stopped(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    first = h.drain(1, start - 120)
    second = h.drain(2, start - 120 + 6)
    clock.at(
        start + 1,
        lambda: h.ecs.add_service("web", {**OPTED_IN, "drain-terminator:dry-run": "true"}),
    )

    report = h.run()

    assert [s.task_arn for s in h.ecs.stops] == [first]
    assert report.dry_run == [second]


def test_given_wait_raised_during_the_drain_when_due_then_postponed_to_the_new_wait(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 31, wait=30)  # recorded with 30 s: overdue by 1 s
    h.ecs.add_service(
        "web", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "60"}
    )

    h.run()

    # The effective wait is max(recorded, current) = 60: stopped at drain start + 60.
    assert h.stop_times(task) == [pytest.approx(start - 31 + 60)]
    assert h.ecs.stops[0].reason == stop_reason(60)
    assert h.record(task).wait_seconds == 60


def test_given_wait_lowered_during_the_drain_when_due_then_recorded_wait_kept(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 120 + 20, wait=120)
    h.ecs.add_service(
        "web", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "10"}
    )
    h.run()
    assert h.stop_times(task) == [pytest.approx(start + 20)]


# -- failures stay with their record and service ---------------------------------------------------


def test_given_describe_services_fails_for_one_service_when_run_then_only_its_records_deferred(
    h: Harness, metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    h.ecs.add_service("api", OPTED_IN)
    broken = h.drain(1, h.now - 130, service="web")
    fine = h.drain(2, h.now - 130, service="api")
    # The batched call fails, and so does web's own call; api's own call works.
    h.ecs.describe_services_failures["web"].extend(
        [PermanentAwsError("AccessDenied"), PermanentAwsError("AccessDenied")]
    )
    start = h.now

    report = h.run(timeout=SHORT_TIMEOUT)

    assert h.stop_times(fine) == [start]
    # Deferred, not stopped, and tried again (successfully) 15 s later.
    assert h.stop_times(broken) == [pytest.approx(start + LOOKUP_RETRY_SECONDS)]
    assert report.lookup_failed == [broken]
    assert metric_values("LookupsFailed") == [1.0]
    assert ("DescribeServices failed; stop deferred", "web") in errors_logged(caplog)


def test_given_describe_tasks_unavailable_once_when_run_then_deferred_and_done_later(
    h: Harness, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.append(AwsUnavailableError("DescribeTasks: Throttling"))

    report = h.run()

    assert report.lookup_failed == [task]
    assert metric_values("LookupsFailed") == [1.0]
    assert h.stop_times(task) == [pytest.approx(start + TRANSIENT_LOOKUP_RETRY_SECONDS)]


def test_given_describe_tasks_always_unavailable_when_run_then_ends_in_time_without_stopping(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.extend(AwsUnavailableError("5xx") for _ in range(1_000))

    report = h.run()

    assert h.ecs.stops == []
    assert h.now - start <= h.settings.sweep_horizon_seconds
    horizon = h.settings.sweep_horizon_seconds
    assert len(report.lookup_failed) <= horizon / TRANSIENT_LOOKUP_RETRY_SECONDS + 1
    stored = h.record(task)
    assert stored.is_open
    assert stored.lease_owner is None


def test_given_stop_task_tokens_unavailable_when_run_then_drains_deferred_not_left_to_leases(
    h: Harness, clock: ManualClock, metric_values: Values
) -> None:
    start = h.now
    confirming = h.drain(1, start - 185)
    h.ecs.stops_take_effect = False
    h.run()  # stopped at once; its confirmation is due a minute later
    clock.advance(h.settings.confirm_after_seconds)
    h.ecs.tasks.pop(confirming)  # gone: the confirmation closes the record
    task = h.drain(2, h.now - 130)
    h.ecs.stops_take_effect = True
    h.ledger.token_failures.append(AwsUnavailableError("UpdateItem: 503"))
    then = h.now

    report = h.run(run_id="run-2")

    # Released for a look 5 s later, rather than held by a lease that is never used.
    assert report.lookup_failed == [task]
    assert metric_values("LookupsFailed") == [1.0]
    assert h.stop_times(task) == [pytest.approx(then + TRANSIENT_LOOKUP_RETRY_SECONDS)]
    # The confirmation in the same batch needed no token and went on.
    assert h.record(confirming).outcome is Outcome.STOPPED_BY_TERMINATOR


def test_given_release_fails_after_a_lookup_failure_when_run_then_lease_expires_and_stop_later(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.append(AwsUnavailableError("DescribeTasks: Throttling"))
    h.ledger.put_failures[task].append(AwsUnavailableError("PutItem: 503"))

    h.run()

    assert h.stop_times(task) == [pytest.approx(start + h.settings.lease_seconds)]


def test_given_min_healthy_guard_cannot_read_health_when_due_then_deferred_not_stopped(
    h: Harness, metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    h.ecs.add_service(
        "web",
        {**OPTED_IN, "drain-terminator:min-healthy-percent": "50"},
        desired_count=2,
        target_groups=(TG,),
    )  # TG unknown to ELB: DescribeTargetHealth says NotFound
    task = h.drain(1, h.now - 130)

    report = h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    assert set(report.lookup_failed) == {task}
    assert metric_values("LookupsFailed") == [1.0] * len(report.lookup_failed)
    assert ("guard failed; stop deferred", "web") in errors_logged(caplog)
    assert h.record(task).is_open


# -- StopTask outcomes -----------------------------------------------------------------------------


def test_given_stop_task_unavailable_once_when_run_then_retried_after_1s_and_stopped_once(
    h: Harness, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.stop_failures[task].append(AwsUnavailableError("StopTask: ThrottlingException"))

    report = h.run(timeout=SHORT_TIMEOUT)

    assert h.stop_times(task) == [start, pytest.approx(start + TRANSIENT_RETRY_SECONDS)]
    assert report.stopped == [task]
    assert report.failed == []
    assert metric_values("TasksStopped") == [1.0]
    assert metric_values("StopsFailed") == []


def test_given_stop_task_always_unavailable_when_run_then_bounded_retries_and_run_ends(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.stop_failures[task].extend(AwsUnavailableError("503") for _ in range(1_000))

    h.run()

    attempts = h.stop_times(task)
    assert 80 <= len(attempts) <= 92
    assert all(b - a >= TRANSIENT_RETRY_SECONDS - 1e-6 for a, b in itertools.pairwise(attempts))
    assert h.now - start <= h.settings.sweep_horizon_seconds
    assert h.record(task).is_open


def test_given_stop_task_fails_permanently_when_runs_repeat_then_closed_stop_failed_after_5(
    h: Harness, clock: ManualClock, metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.stop_failures[task].extend(
        PermanentAwsError("StopTask: AccessDeniedException: no") for _ in range(10)
    )

    failed: list[str] = []
    for run in range(4):
        if not h.ledger.open_records():
            break
        failed += h.run(run_id=f"run-{run}").failed
        clock.advance(1)

    attempts = h.stop_times(task)
    assert len(attempts) == MAX_STOP_ATTEMPTS == 5
    assert all(b - a == pytest.approx(STOP_RETRY_SECONDS) for a, b in itertools.pairwise(attempts))
    assert failed == [task] * 5
    assert metric_values("StopsFailed") == [1.0] * 5
    assert metric_values("TasksStopped") == []
    stored = h.record(task)
    assert stored.status is RecordStatus.CLOSED
    assert stored.outcome is Outcome.STOP_FAILED
    assert stored.attempts == 5
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "StopTask" in r.getMessage()]
    assert [getattr(r, "attempts", None) for r in errors] == [1, 2, 3, 4, 5]


def test_given_task_gone_when_stop_task_not_found_then_closed_task_gone(h: Harness) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.stop_failures[task].append(NotFoundError("StopTask: task not found"))

    report = h.run(timeout=SHORT_TIMEOUT)

    assert h.record(task).outcome is Outcome.TASK_GONE
    assert report.closed == [task]
    assert report.stopped == []


def test_given_task_missing_from_describe_tasks_when_due_then_closed_task_gone_without_stop(
    h: Harness, metric_values: Values
) -> None:
    task = h.drain(1, h.now - 130)
    del h.ecs.tasks[task]

    h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    assert h.record(task).outcome is Outcome.TASK_GONE
    assert metric_values("TasksClosedWithoutStop") == [1.0]


# -- re-check before stopping ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "desired", "reason", "outcome"),
    [
        ("RUNNING", "RUNNING", None, Outcome.NOT_DRAINING),
        ("STOPPING", "STOPPED", "Scaling activity", Outcome.STOPPED_BY_ECS),
        ("STOPPED", "STOPPED", "Scaling activity", Outcome.STOPPED_BY_ECS),
        ("STOPPED", "STOPPED", stop_reason(120), Outcome.STOPPED_BY_TERMINATOR),
    ],
)
def test_given_task_no_longer_draining_when_due_then_closed_with_observed_state_not_stopped(
    h: Harness, last: str, desired: str, reason: str | None, outcome: Outcome
) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.set_task(task, last, desired, reason)

    h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    stored = h.record(task)
    assert stored.outcome is outcome
    assert stored.observed_status == last
    assert stored.stopped_reason == reason


def test_given_service_opted_out_when_due_then_closed_opted_out(h: Harness) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.add_service("web", {"drain-terminator:enabled": "false"})
    h.run(timeout=SHORT_TIMEOUT)
    assert h.ecs.stops == []
    assert h.record(task).outcome is Outcome.OPTED_OUT


@pytest.mark.parametrize("where", ["tag", "settings"])
def test_given_dry_run_when_due_then_logged_counted_closed_and_not_stopped(
    clock: ManualClock, metric_values: Values, where: str
) -> None:
    h = Harness(clock, dry_run=where == "settings")
    if where == "tag":
        h.ecs.add_service("web", {**OPTED_IN, "drain-terminator:dry-run": "true"})
    task = h.drain(1, h.now - 130)

    report = h.run(timeout=SHORT_TIMEOUT)

    assert h.ecs.stops == []
    assert report.dry_run == [task]
    assert h.record(task).outcome is Outcome.DRY_RUN
    assert metric_values("DryRunStops") == [1.0]


# -- confirmation ----------------------------------------------------------------------------------


def confirm_later(h: Harness, clock: ManualClock) -> None:
    """A later run, once the confirmation is due."""
    clock.advance(h.settings.confirm_after_seconds)
    h.run(run_id="run-2")


def test_given_task_still_draining_after_confirm_window_then_unconfirmed_metric_and_error_log(
    h: Harness, clock: ManualClock, metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    start = h.now
    task = h.drain(1, start - 125)
    h.ecs.stops_take_effect = False

    h.run()
    confirm_later(h, clock)

    assert h.stop_times(task) == [start]
    stored = h.record(task)
    assert stored.status is RecordStatus.CLOSED
    assert stored.outcome is Outcome.UNCONFIRMED
    assert stored.closed_at == pytest.approx(start + h.settings.confirm_after_seconds)
    assert stored.observed_status == "DEACTIVATING"
    assert metric_values("StopsUnconfirmed") == [1.0]
    assert metric_values("StopsConfirmed") == []
    assert any("no effect" in message for message, _ in errors_logged(caplog))
    assert len(h.ecs.stops) == 1  # reported, not stopped again


def test_given_task_gone_at_confirmation_when_checked_then_stopped_by_terminator(
    h: Harness, clock: ManualClock, metric_values: Values
) -> None:
    task = h.drain(1, h.now - 125)
    h.ecs.stops_take_effect = False
    h.run()
    h.ecs.tasks.pop(task)
    confirm_later(h, clock)

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR
    assert metric_values("StopsConfirmed") == [1.0]


def test_given_stopping_without_stop_time_when_confirmed_then_confirmed_not_unconfirmed(
    h: Harness, clock: ManualClock
) -> None:
    task = h.drain(1, h.now - 125)
    h.ecs.stops_take_effect = False
    h.run()
    h.ecs.tasks[task] = TaskState(task, "STOPPED", "STOPPED", stop_reason(120))
    confirm_later(h, clock)

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR


# -- guards ----------------------------------------------------------------------------------------


def test_given_too_few_healthy_targets_when_due_then_deferred_and_rechecked_until_healthy(
    h: Harness, clock: ManualClock, metric_values: Values
) -> None:
    h.ecs.add_service(
        "web",
        {**OPTED_IN, "drain-terminator:min-healthy-percent": "100"},
        desired_count=2,
        target_groups=(TG,),
    )
    h.health.healthy[TG] = 1
    start = h.now
    task = h.drain(1, start - 130)
    clock.at(start + 20, lambda: h.health.healthy.__setitem__(TG, 2))

    report = h.run()

    assert report.deferred == [task, task]  # at +0 and +15; healthy at +30
    assert h.stop_times(task) == [pytest.approx(start + 30)]
    assert metric_values("StopsDeferred") == [1.0, 1.0]
    assert metric_values("StopLatenessSeconds") == [0.0]  # measured from the last deferral
    stored = h.record(task)
    assert stored.deferrals == 2
    assert stored.defer_reason is not None
    assert "1 healthy target(s)" in stored.defer_reason


def test_given_desired_count_raised_between_decisions_when_guarded_then_fresh_count_used(
    h: Harness, clock: ManualClock
) -> None:
    tags = {**OPTED_IN, "drain-terminator:min-healthy-percent": "100"}
    h.ecs.add_service("web", tags, desired_count=2, target_groups=(TG,))
    h.health.healthy[TG] = 2
    start = h.now
    first = h.drain(1, start - 120)
    second = h.drain(2, start - 120 + 10)
    clock.at(
        start + 1, lambda: h.ecs.add_service("web", tags, desired_count=4, target_groups=(TG,))
    )

    report = h.run(timeout=SHORT_TIMEOUT)

    assert [s.task_arn for s in h.ecs.stops] == [first]
    assert report.deferred == [second]  # 2 healthy < 100 % of the new desired count 4


def test_given_stagger_guard_when_three_due_together_then_stops_spaced_60_over_n(
    h: Harness,
) -> None:
    h.ecs.add_service("web", {**OPTED_IN, "drain-terminator:max-stops-per-minute": "2"})
    start = h.now
    tasks = [h.drain(i, start - 125) for i in (1, 2, 3)]

    h.run()

    times = [h.stop_times(t) for t in tasks]
    assert times == [[start], [pytest.approx(start + 30)], [pytest.approx(start + 60)]]
