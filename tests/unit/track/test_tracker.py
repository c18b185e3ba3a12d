"""DrainTracker on fakes: idempotent, order-independent ledger updates from parsed events."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest

from serverless.domain.early_start import EARLY_START_DEBOUNCE_SECONDS
from serverless.domain.errors import AwsUnavailableError, ConflictError
from serverless.domain.lifecycle import stop_reason
from serverless.domain.model import Outcome, RecordStatus, TaskEvent
from serverless.settings import Settings
from serverless.shared.services import ServiceDirectory
from serverless.track.tracker import DrainTracker, TrackAction
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeEcs, FakeLedger, FakeTrigger, task_arn

TASK = task_arn("a1")
OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "60"}
SCALING = "Scaling activity initiated by (deployment ecs-svc/2)"


class Harness:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.settings = Settings(table_name="t")
        self.ledger = FakeLedger()
        self.ecs = FakeEcs(clock)
        self.ecs.add_service("web", OPTED_IN)
        self.ecs.add_service("batch")
        services = ServiceDirectory(self.ecs, self.settings, clock)
        self.tracker = DrainTracker(self.ledger, services, self.settings, clock)

    def event(
        self,
        last: str = "DEACTIVATING",
        desired: str = "STOPPED",
        version: int = 4,
        offset: float = 0.0,
        group: str = "service:web",
        stopped_reason: str | None = None,
        stopping_at: float | None = None,
    ) -> TaskEvent:
        return TaskEvent(
            "e",
            self.clock.now() + offset,
            TASK,
            CLUSTER_ARN,
            group,
            last,
            desired,
            version,
            stopped_reason=stopped_reason,
            stopping_at=stopping_at,
        )


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


def test_given_drain_of_opted_in_task_when_handled_then_tracked_and_counted(
    h: Harness, metric_values: Callable[[str], list[float]]
) -> None:
    result = h.tracker.handle(h.event(offset=-7))
    assert result.action is TrackAction.TRACKED
    record = h.ledger.get(TASK)
    assert record is not None
    assert record.rev == 1
    assert record.drain_started_at == h.clock.now() - 7
    assert record.due_at == h.clock.now() - 7 + 60
    assert metric_values("DrainsTracked") == [1.0]


@pytest.mark.parametrize(
    ("group", "last", "desired", "reason"),
    [
        ("family:web", "DEACTIVATING", "STOPPED", "not a service task"),
        ("service:batch", "DEACTIVATING", "STOPPED", "service not opted in"),
        ("service:ghost", "RUNNING", "STOPPED", "service not opted in"),
        ("service:batch", "STOPPED", "STOPPED", "service not opted in"),
        ("service:web", "RUNNING", "RUNNING", "neither draining nor stopped (RUNNING/RUNNING)"),
        ("service:web", "STOPPING", "STOPPED", "neither draining nor stopped (STOPPING/STOPPED)"),
    ],
)
def test_given_event_outside_scope_when_handled_then_ignored_without_writes(
    h: Harness, group: str, last: str, desired: str, reason: str
) -> None:
    result = h.tracker.handle(h.event(last, desired, group=group))
    assert result.action is TrackAction.IGNORED
    assert result.reason == reason
    assert h.ledger.puts == []


def test_given_stopped_event_without_drain_when_handled_then_closed_tombstone_blocks_late_drain(
    h: Harness,
) -> None:
    result = h.tracker.handle(h.event("STOPPED", "STOPPED", 7, offset=300))
    assert result.action is TrackAction.CLOSED
    late = h.tracker.handle(h.event(version=4))
    assert late.action is TrackAction.UNCHANGED
    record = h.ledger.get(TASK)
    assert record is not None
    assert record.status is RecordStatus.CLOSED
    assert record.outcome is Outcome.STOPPED_BY_ECS
    assert not record.is_open


def test_given_duplicate_drain_when_handled_then_unchanged_and_no_write(h: Harness) -> None:
    h.tracker.handle(h.event())
    assert h.tracker.handle(h.event()).action is TrackAction.UNCHANGED
    assert len(h.ledger.puts) == 1


def test_given_stop_requested_when_our_stop_confirmed_by_event_then_closed_and_counted(
    h: Harness, metric_values: Callable[[str], list[float]]
) -> None:
    h.tracker.handle(h.event())
    stored = h.ledger.get(TASK)
    assert stored is not None
    requested_at = h.clock.now() + 60
    h.ledger.bump(
        TASK, status=RecordStatus.STOP_REQUESTED, stop_requested_at=requested_at, due_at=0.0
    )
    h.clock.advance(65)

    result = h.tracker.handle(
        h.event(
            "STOPPING",
            "STOPPED",
            5,
            62,
            stopped_reason=stop_reason(60),
            stopping_at=requested_at + 2,
        )
    )
    # STOPPING is neither draining nor STOPPED: the record waits for STOPPED.
    assert result.action is TrackAction.IGNORED
    result = h.tracker.handle(h.event("STOPPED", "STOPPED", 7, 65, stopped_reason=stop_reason(60)))

    assert result.action is TrackAction.CLOSED
    record = h.ledger.get(TASK)
    assert record is not None
    assert record.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert metric_values("StopsConfirmed") == [1.0]


def test_given_conflicts_when_handled_then_reread_and_retried(h: Harness) -> None:
    h.tracker.handle(h.event())
    h.ledger.put_failures[TASK].extend([ConflictError("x"), ConflictError("y")])
    result = h.tracker.handle(h.event(version=5, offset=-3))
    assert result.action is TrackAction.UPDATED
    record = h.ledger.get(TASK)
    assert record is not None
    assert record.version == 5


def test_given_conflicts_every_time_when_handled_then_gives_up_after_5_attempts(
    h: Harness,
) -> None:
    h.tracker.handle(h.event())
    h.ledger.put_failures[TASK].extend(ConflictError("again") for _ in range(10))
    with pytest.raises(ConflictError):
        h.tracker.handle(h.event(version=5, offset=-3))
    assert len(h.ledger.put_failures[TASK]) == 5


# -- starting the sweeper early ----------------------------------------------------------


def starting_early(h: Harness, trigger: FakeTrigger, wait: str) -> DrainTracker:
    h.ecs.add_service(
        "short", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": wait}
    )
    services = ServiceDirectory(h.ecs, h.settings, h.clock)
    return DrainTracker(h.ledger, services, h.settings, h.clock, trigger)


def short_drain(h: Harness, suffix: str, offset: float = 0.0) -> TaskEvent:
    return TaskEvent(
        "e", h.clock.now() + offset, task_arn(suffix), CLUSTER_ARN, "service:short",
        "RUNNING", "STOPPED", 4,
    )  # fmt: skip


def test_given_near_deadline_when_drain_tracked_then_sweeper_started_once_per_debounce(
    h: Harness,
) -> None:
    trigger = FakeTrigger()
    tracker = starting_early(h, trigger, "30")

    assert tracker.handle(short_drain(h, "k1")).action is TrackAction.TRACKED
    assert trigger.starts == 1
    tracker.handle(short_drain(h, "k2"))  # same moment: the run just started covers it
    assert trigger.starts == 1
    h.clock.advance(EARLY_START_DEBOUNCE_SECONDS)
    tracker.handle(short_drain(h, "k3"))
    assert trigger.starts == 2


def test_given_deadline_beyond_early_start_threshold_when_tracked_then_no_early_run(
    h: Harness,
) -> None:
    trigger = FakeTrigger()
    tracker = starting_early(h, trigger, str(h.settings.early_start_below_seconds + 1))
    tracker.handle(short_drain(h, "k1"))
    assert trigger.starts == 0


def test_given_early_starts_off_when_a_near_deadline_is_tracked_then_no_early_run(
    h: Harness,
) -> None:
    # EARLY_START_BELOW_SECONDS=0 turns early starts off; the trigger itself stays (the
    # sweeper hands over through it).
    h.settings = dataclasses.replace(h.settings, early_start_below_seconds=0)
    trigger = FakeTrigger()
    tracker = starting_early(h, trigger, "30")
    # Delivered late: its deadline has passed already.
    assert tracker.handle(short_drain(h, "k1", offset=-40.0)).action is TrackAction.TRACKED
    assert trigger.starts == 0


def test_given_default_wait_event_delivered_late_when_tracked_then_early_run(h: Harness) -> None:
    trigger = FakeTrigger()
    tracker = starting_early(h, trigger, "120")
    tracker.handle(short_drain(h, "k1", offset=-3.0))  # deadline 117 s away
    assert trigger.starts == 1


def test_given_trigger_fails_when_tracked_then_drain_still_recorded_and_warning(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    trigger = FakeTrigger(AwsUnavailableError("Invoke: TooManyRequestsException"))
    tracker = starting_early(h, trigger, "30")
    assert tracker.handle(short_drain(h, "k1")).action is TrackAction.TRACKED
    assert h.ledger.get(task_arn("k1")) is not None
    assert any("early" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    tracker.handle(short_drain(h, "k2"))  # a failed early start is not debounced
    assert trigger.starts == 2


# -- stop causes ---------------------------------------------------------------------------


def caused(h: Harness, stop_code: str | None, reason: str | None, **changes: object) -> TaskEvent:
    return dataclasses.replace(h.event(), stop_code=stop_code, stopped_reason=reason, **changes)


def cause_dimensions(output: str) -> list[str]:
    """The ``Cause`` of every DrainsByCause metric printed (Powertools single_metric)."""
    return [
        blob["Cause"]
        for line in output.splitlines()
        if line.startswith("{") and "DrainsByCause" in (blob := json.loads(line))
    ]


@pytest.mark.parametrize(
    ("stop_code", "reason", "started_by", "cause"),
    [
        ("ServiceSchedulerInitiated", SCALING, "ecs-svc/1", "deployment"),
        ("ServiceSchedulerInitiated", SCALING, "ecs-svc/2", "scale-in"),
        (
            "ServiceSchedulerInitiated",
            "Service web: container instance is in DRAINING state",
            "ecs-svc/2",
            "instance-draining",
        ),
        ("ServiceSchedulerInitiated", "Task failed container health checks", None, "health-check"),
        (None, None, None, "other"),
    ],
)
def test_given_drain_with_a_cause_to_shorten_when_handled_then_tracked_with_its_cause(
    h: Harness,
    capsys: pytest.CaptureFixture[str],
    stop_code: str | None,
    reason: str | None,
    started_by: str | None,
    cause: str,
) -> None:
    h.ecs.services[(CLUSTER_ARN, "web")] = dataclasses.replace(
        h.ecs.services[(CLUSTER_ARN, "web")], primary_deployment_id="ecs-svc/2"
    )

    result = h.tracker.handle(caused(h, stop_code, reason, started_by=started_by))

    assert result.action is TrackAction.TRACKED
    record = h.ledger.get(TASK)
    assert record is not None
    assert (record.status, record.cause, record.started_by) == (
        RecordStatus.DRAINING,
        cause,
        started_by,
    )
    assert cause_dimensions(capsys.readouterr().out) == [cause]


@pytest.mark.parametrize("stop_code", ["SpotInterruption", "TerminationNotice"])
def test_given_spot_interruption_when_handled_then_closed_at_once_and_counted_with_its_cause(
    h: Harness,
    capsys: pytest.CaptureFixture[str],
    metric_values: Callable[[str], list[float]],
    stop_code: str,
) -> None:
    event = caused(h, stop_code, "Your Spot Task was interrupted.", last_status="RUNNING")

    result = h.tracker.handle(event)

    assert result.action is TrackAction.CLOSED
    record = h.ledger.get(TASK)
    assert record is not None
    assert (record.status, record.outcome, record.cause) == (
        RecordStatus.CLOSED,
        Outcome.NOT_SHORTENED,
        "spot-interruption",
    )
    assert not record.is_open  # never in the due index: no StopTask can follow
    assert metric_values("DrainsNotShortened") == [1.0]
    assert metric_values("DrainsTracked") == []
    assert cause_dimensions(capsys.readouterr().out) == ["spot-interruption"]


def test_given_spot_interrupts_a_recorded_drain_when_handled_then_the_record_is_closed(
    h: Harness,
) -> None:
    h.tracker.handle(caused(h, "ServiceSchedulerInitiated", SCALING))

    result = h.tracker.handle(
        caused(h, "SpotInterruption", "Your Spot Task was interrupted.", version=5)
    )

    assert result.action is TrackAction.CLOSED
    record = h.ledger.get(TASK)
    assert record is not None
    assert (record.outcome, record.cause) == (Outcome.NOT_SHORTENED, "spot-interruption")


def test_given_service_without_load_balancer_when_drain_handled_then_closed_at_once(
    h: Harness, metric_values: Callable[[str], list[float]]
) -> None:
    h.ecs.services[(CLUSTER_ARN, "web")] = dataclasses.replace(
        h.ecs.services[(CLUSTER_ARN, "web")], load_balanced=False
    )

    result = h.tracker.handle(caused(h, "ServiceSchedulerInitiated", SCALING))

    assert result.action is TrackAction.CLOSED
    record = h.ledger.get(TASK)
    assert record is not None
    assert (record.outcome, record.cause) == (Outcome.NOT_SHORTENED, "no-target-group")
    assert metric_values("DrainsNotShortened") == [1.0]


def test_given_unhealthy_tag_leave_when_health_check_drain_handled_then_closed_at_once(
    h: Harness,
) -> None:
    h.ecs.add_service("web", {**OPTED_IN, "drain-terminator:unhealthy": "leave"})

    result = h.tracker.handle(
        caused(h, "ServiceSchedulerInitiated", "Task failed ELB health checks in (elb web)")
    )

    assert result.action is TrackAction.CLOSED
    record = h.ledger.get(TASK)
    assert record is not None
    assert (record.outcome, record.cause) == (Outcome.NOT_SHORTENED, "health-check")
