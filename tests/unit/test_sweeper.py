"""The sweeper's run loop and actions, on in-memory fakes and a manual clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from serverless.errors import (
    AwsUnavailableError,
    ConflictError,
    NotFoundError,
    PermanentAwsError,
)
from serverless.model import Outcome, RecordStatus, TaskRecord
from serverless.policy import stop_reason
from serverless.services import ServiceDirectory
from serverless.settings import Settings
from serverless.sweeper import (
    MAX_STOP_ATTEMPTS,
    POLL_SECONDS,
    SAFETY_MARGIN_SECONDS,
    STOP_RETRY_SECONDS,
    TRANSIENT_RETRY_SECONDS,
    Sweeper,
    SweepReport,
)
from tests.support.clock import FakeContext, ManualClock
from tests.support.fakes import (
    CLUSTER_ARN,
    FakeEcs,
    FakeLedger,
    FakeTargetHealth,
    fake_ports,
    task_arn,
)

OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
TG = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef"

Values = Callable[[str], list[float]]


class Harness:
    """A sweeper over fakes; ``run`` is one invocation with a Lambda-like time budget."""

    def __init__(self, clock: ManualClock, **overrides: Any) -> None:
        self.clock = clock
        self.settings = Settings(table_name="t", **overrides)
        self.ledger = FakeLedger()
        self.ledger.max_due_calls = 5_000
        self.ecs = FakeEcs(clock)
        self.health = FakeTargetHealth()
        self.services = ServiceDirectory(self.ecs, self.settings, clock)
        self.ecs.add_service("web", OPTED_IN)

    @property
    def now(self) -> float:
        return self.clock.now()

    def drain(
        self,
        suffix: int,
        started_at: float,
        wait: int = 120,
        service: str = "web",
        cluster_arn: str = CLUSTER_ARN,
        last: str = "DEACTIVATING",
    ) -> str:
        """A tracked drain (as the task-events function writes it) of a draining task."""
        cluster = cluster_arn.rsplit("/", 1)[-1]
        arn = task_arn(suffix, cluster)
        self.ledger.put(
            TaskRecord(
                task_arn=arn,
                cluster_arn=cluster_arn,
                service_name=service,
                status=RecordStatus.DRAINING,
                version=4,
                drain_started_at=started_at,
                wait_seconds=wait,
                due_at=started_at + wait,
                observed_status=last,
            ),
            expected_rev=None,
        )
        self.ecs.set_task(arn, last, "STOPPED")
        return arn

    def run(self, timeout: float = 180.0, run_id: str = "run-1") -> SweepReport:
        context = FakeContext(self.clock, timeout, run_id)
        ports = fake_ports(self.ecs, self.ledger, self.health)
        sweeper = Sweeper(ports, self.services, self.settings, self.clock, run_id)
        return sweeper.run(context.get_remaining_time_in_millis)

    def record(self, arn: str) -> TaskRecord:
        stored = self.ledger.get(arn)
        assert stored is not None
        return stored

    def stop_times(self, arn: str) -> list[float]:
        return [s.at for s in self.ecs.stops if s.task_arn == arn]


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


# -- the run loop -----------------------------------------------------------------------------


def test_given_no_records_when_run_then_returns_at_once_after_one_poll(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    report = h.run()
    assert report.polls == 1
    assert h.now == start
    assert clock.slept == []
    assert h.ecs.describe_tasks_calls == []


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


def test_given_deadline_beyond_horizon_when_run_then_polls_until_horizon_without_stopping(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start)  # due in 120 s; the horizon is 90 s

    report = h.run()

    assert h.ecs.stops == []
    assert h.now - start <= h.settings.sweep_horizon_seconds
    assert h.now - start >= h.settings.sweep_horizon_seconds - POLL_SECONDS
    # One cheap query every POLL_SECONDS while records are open.
    horizon_polls = h.settings.sweep_horizon_seconds / POLL_SECONDS
    assert horizon_polls - 1 <= report.polls <= horizon_polls + 1
    stored = h.record(task)
    assert stored.status is RecordStatus.DRAINING
    assert stored.lease_owner is None


def test_given_short_remaining_time_when_deadline_later_then_returns_with_safety_margin(
    h: Harness,
) -> None:
    start = h.now
    h.drain(1, start - 120 + 25)  # due in 25 s, but only 30 - 10 s may be used

    h.run(timeout=30.0)

    assert h.ecs.stops == []
    assert h.now - start <= 30.0 - SAFETY_MARGIN_SECONDS


def test_given_short_remaining_time_when_deadline_fits_then_stopped(h: Harness) -> None:
    start = h.now
    task = h.drain(1, start - 120 + 15)
    h.run(timeout=30.0)
    assert h.stop_times(task) == [pytest.approx(start + 15)]


@pytest.mark.parametrize("timeout", [0.0, 5.0, SAFETY_MARGIN_SECONDS])
def test_given_no_time_beyond_the_safety_margin_when_run_then_nothing_is_touched(
    h: Harness, timeout: float
) -> None:
    task = h.drain(1, h.now - 500)
    before = h.record(task)

    report = h.run(timeout=timeout)

    assert report.polls == 0
    assert h.ecs.stops == []
    assert h.record(task) == before


def test_given_drain_recorded_during_the_run_when_its_deadline_comes_then_stopped(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    h.drain(1, start)  # keeps the run polling (due beyond the horizon)
    late: list[str] = []
    clock.at(start + 20, lambda: late.append(h.drain(2, start + 20 - 120 + 10)))

    h.run()

    assert late
    assert h.stop_times(late[0]) == [pytest.approx(start + 30)]


def test_given_only_closed_records_left_when_run_then_returns_once_work_is_done(
    h: Harness, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 115)  # due in 5 s

    report = h.run()

    # Stop at +5, confirm at +65 (inside the run), then nothing open: return at once.
    assert h.stop_times(task) == [pytest.approx(start + 5)]
    assert h.now == pytest.approx(start + 5 + h.settings.confirm_after_seconds)
    stored = h.record(task)
    assert stored.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert stored.confirmation_seconds == pytest.approx(0.0)
    assert stored.stop_reason == stop_reason(120)
    assert report.closed == [task]
    assert metric_values("TasksStopped") == [1.0]
    assert metric_values("StopLatenessSeconds") == [0.0]
    assert metric_values("StopsConfirmed") == [1.0]


def test_given_stop_sent_when_recorded_then_stop_requested_with_confirmation_deadline(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 121)
    h.ecs.stops_take_effect = False

    h.run(timeout=30.0)  # ends before the confirmation deadline

    stored = h.record(task)
    assert stored.status is RecordStatus.STOP_REQUESTED
    assert stored.stop_requested_at == start
    assert stored.due_at == start + h.settings.confirm_after_seconds
    assert stored.lease_owner is None
    assert stored.lease_until is None


def test_given_records_in_two_clusters_when_run_then_tasks_described_per_cluster(
    h: Harness,
) -> None:
    staging = CLUSTER_ARN.replace("/prod", "/staging")
    h.ecs.add_service("web", OPTED_IN, cluster_arn=staging)
    prod_task = h.drain(1, h.now - 200)
    staging_task = h.drain(2, h.now - 200, cluster_arn=staging)

    h.run(timeout=20.0)

    assert sorted(h.ecs.describe_tasks_calls) == sorted(
        [(CLUSTER_ARN, (prod_task,)), (staging, (staging_task,))]
    )
    assert {s.task_arn for s in h.ecs.stops} == {prod_task, staging_task}


# -- claims, leases and conflicts ---------------------------------------------------------------


def test_given_claim_conflicts_when_run_then_counted_skipped_and_never_stopped_twice(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.put_failures[task].append(ConflictError("another run claimed it"))

    report = h.run(timeout=30.0)

    assert report.conflicts == 1
    assert len(h.ecs.stops) == 1
    assert h.stop_times(task)[0] > start  # not in the pass that lost the race


def test_given_record_leased_by_another_run_when_run_then_left_alone_until_lease_expires(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ledger.bump(task, lease_owner="run-0", lease_until=start + 30)

    h.run()

    assert h.stop_times(task) == [pytest.approx(start + 30)]


def test_given_record_closed_by_an_event_meanwhile_when_close_conflicts_then_counted_not_reported(
    h: Harness,
) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.set_task(task, "STOPPED", "STOPPED", "Scaling activity")
    h.ledger.put_failures[task].extend([None, ConflictError("closed by the event")])

    report = h.run(timeout=20.0)

    assert report.conflicts == 1
    assert report.closed == []
    assert h.ecs.stops == []


def test_given_stop_requested_write_conflicts_when_stopped_then_conflict_counted_once(
    h: Harness,
) -> None:
    task = h.drain(1, h.now - 130)
    h.ledger.put_failures[task].extend([None, ConflictError("STOPPED event closed it")])

    report = h.run(timeout=20.0)

    assert report.stopped == [task]
    assert report.conflicts == 1
    assert len(h.ecs.stops) == 1


# -- transient and permanent failures -------------------------------------------------------------


def test_given_describe_tasks_unavailable_once_when_run_then_released_and_retried_after_1s(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.append(AwsUnavailableError("DescribeTasks: Throttling"))

    h.run(timeout=30.0)

    claim, release = h.ledger.puts[1], h.ledger.puts[2]
    assert claim.lease_owner == "run-1"
    assert release.lease_owner is None
    assert release.due_at == pytest.approx(start + TRANSIENT_RETRY_SECONDS)
    assert h.stop_times(task) == [pytest.approx(start + TRANSIENT_RETRY_SECONDS)]


def test_given_describe_tasks_always_unavailable_when_run_then_ends_in_time_without_stopping(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.extend(AwsUnavailableError("5xx") for _ in range(1_000))

    report = h.run()

    assert h.ecs.stops == []
    assert h.now - start <= h.settings.sweep_horizon_seconds
    assert report.polls <= 2 * (h.settings.sweep_horizon_seconds + 1)
    assert h.ledger.due_calls < 500
    stored = h.record(task)
    assert stored.is_open
    assert stored.lease_owner is None


def test_given_claim_release_fails_transiently_when_run_then_lease_expires_and_task_stopped_later(
    h: Harness,
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.describe_tasks_failures.append(AwsUnavailableError("DescribeTasks: Throttling"))
    h.ledger.put_failures[task].extend([None, AwsUnavailableError("PutItem: 503")])

    h.run()

    assert h.stop_times(task) == [pytest.approx(start + h.settings.lease_seconds)]


def test_given_stop_task_unavailable_once_when_run_then_retried_after_1s_and_stopped_once(
    h: Harness, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 130)
    h.ecs.stop_failures[task].append(AwsUnavailableError("StopTask: ThrottlingException"))

    report = h.run(timeout=30.0)

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
    start = h.now
    task = h.drain(1, start - 130)
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

    report = h.run(timeout=20.0)

    assert h.record(task).outcome is Outcome.TASK_GONE
    assert report.closed == [task]
    assert report.stopped == []


def test_given_task_missing_from_describe_tasks_when_due_then_closed_task_gone_without_stop(
    h: Harness, metric_values: Values
) -> None:
    task = h.drain(1, h.now - 130)
    del h.ecs.tasks[task]

    h.run(timeout=20.0)

    assert h.ecs.stops == []
    assert h.record(task).outcome is Outcome.TASK_GONE
    assert metric_values("TasksClosedWithoutStop") == [1.0]


# -- re-check before stopping -------------------------------------------------------------------


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

    h.run(timeout=20.0)

    assert h.ecs.stops == []
    stored = h.record(task)
    assert stored.outcome is outcome
    assert stored.observed_status == last
    assert stored.stopped_reason == reason


def test_given_service_opted_out_when_due_then_closed_opted_out(h: Harness) -> None:
    task = h.drain(1, h.now - 130)
    h.ecs.add_service("web", {"drain-terminator:enabled": "false"})
    h.run(timeout=20.0)
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

    report = h.run(timeout=20.0)

    assert h.ecs.stops == []
    assert report.dry_run == [task]
    assert h.record(task).outcome is Outcome.DRY_RUN
    assert metric_values("DryRunStops") == [1.0]


# -- confirmation ---------------------------------------------------------------------------------


def test_given_task_still_draining_after_confirm_window_then_unconfirmed_metric_and_error_log(
    h: Harness, metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    start = h.now
    task = h.drain(1, start - 125)  # due in... already: 5 s overdue
    h.ecs.stops_take_effect = False

    h.run()

    assert h.stop_times(task) == [start]
    stored = h.record(task)
    assert stored.status is RecordStatus.CLOSED
    assert stored.outcome is Outcome.UNCONFIRMED
    assert stored.closed_at == pytest.approx(start + h.settings.confirm_after_seconds)
    assert stored.observed_status == "DEACTIVATING"
    assert metric_values("StopsUnconfirmed") == [1.0]
    assert metric_values("StopsConfirmed") == []
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("no effect" in r.getMessage() for r in errors)
    assert len(h.ecs.stops) == 1  # reported, not stopped again


def test_given_task_gone_at_confirmation_when_checked_then_stopped_by_terminator(
    h: Harness, clock: ManualClock, metric_values: Values
) -> None:
    start = h.now
    task = h.drain(1, start - 125)
    h.ecs.stops_take_effect = False
    clock.at(start + 10, lambda: h.ecs.tasks.pop(task))

    h.run()

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR
    assert metric_values("StopsConfirmed") == [1.0]


def test_given_stopping_without_stop_time_when_confirmed_then_confirmed_not_unconfirmed(
    h: Harness, clock: ManualClock
) -> None:
    start = h.now
    task = h.drain(1, start - 125)
    h.ecs.stops_take_effect = False
    clock.at(start + 10, lambda: h.ecs.set_task(task, "STOPPED", "STOPPED", stop_reason(120)))

    h.run()

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR


# -- guards ---------------------------------------------------------------------------------------


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


def test_given_stagger_guard_when_three_due_together_then_stops_spaced_60_over_n(
    h: Harness,
) -> None:
    h.ecs.add_service("web", {**OPTED_IN, "drain-terminator:max-stops-per-minute": "2"})
    start = h.now
    tasks = [h.drain(i, start - 125) for i in (1, 2, 3)]

    h.run()

    times = [h.stop_times(t) for t in tasks]
    assert times == [[start], [pytest.approx(start + 30)], [pytest.approx(start + 60)]]


def test_given_report_when_serialised_then_json_friendly_summary(h: Harness) -> None:
    task = h.drain(1, h.now - 130)
    summary = h.run(timeout=20.0).as_dict()
    assert summary == {
        "stopped": [task],
        "closed": [],
        "deferred": [],
        "dry_run": [],
        "failed": [],
        "conflicts": 0,
        "polls": summary["polls"],
    }
    assert isinstance(summary["polls"], int)
    assert summary["polls"] >= 1
