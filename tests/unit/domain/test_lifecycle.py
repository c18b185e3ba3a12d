"""The record lifecycle: the stop reason and how ledger records change."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.lifecycle import (
    REASON_PREFIX,
    claimed,
    close_record,
    new_drain_record,
    on_drain_event,
    on_stopped_event,
    outcome_for_observed,
    released,
    stop_reason,
    stop_requested,
    wait_raised,
)
from serverless.domain.model import (
    Outcome,
    RecordStatus,
    ServicePolicy,
    TaskEvent,
    TaskRecord,
    TaskState,
)
from serverless.domain.tags import MAX_TAG_DIGITS
from tests.support.fakes import CLUSTER_ARN, task_arn

P = "drain-terminator:"
DEFAULT = 120
T0 = 1_795_341_600.0  # 2026-11-22T10:00:00Z
TASK = task_arn("a1")
RETENTION = 7 * 24 * 3600
CONFIRM = 60.0


def event(
    last: str = "DEACTIVATING",
    desired: str = "STOPPED",
    version: int = 4,
    at: float = T0,
    stopped_reason: str | None = None,
    stopping_at: float | None = None,
    stopped_at: float | None = None,
) -> TaskEvent:
    return TaskEvent(
        event_id="e1",
        time=at,
        task_arn=TASK,
        cluster_arn=CLUSTER_ARN,
        group="service:web",
        last_status=last,
        desired_status=desired,
        version=version,
        stopped_reason=stopped_reason,
        stopping_at=stopping_at,
        stopped_at=stopped_at,
    )


def record(**changes: object) -> TaskRecord:
    base = TaskRecord(
        task_arn=TASK,
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=T0,
        wait_seconds=120,
        due_at=T0 + 120,
        rev=1,
        observed_status="DEACTIVATING",
    )
    return dataclasses.replace(base, **changes)


# -- stop_reason ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wait", [0, 120, 10**6, 10**300])
def test_given_any_wait_when_reason_built_then_prefixed_and_at_most_255_chars(wait: int) -> None:
    reason = stop_reason(wait)
    assert reason.startswith(REASON_PREFIX)
    assert REASON_PREFIX == "drain-terminator:"
    assert len(reason) <= 255


def test_given_wait_when_reason_built_then_it_names_the_wait() -> None:
    assert stop_reason(120) == (
        "drain-terminator: load balancer target draining for 120s "
        "(deregistration delay not awaited)"
    )


# -- new_drain_record --------------------------------------------------------------------------


def test_given_drain_event_when_new_record_then_wait_runs_from_event_time_not_record_time() -> None:
    policy = ServicePolicy(enabled=True, wait_seconds=90)
    new = new_drain_record(event(at=T0), "web", policy)
    assert new.status is RecordStatus.DRAINING
    assert new.drain_started_at == T0
    assert new.due_at == T0 + 90
    assert new.deadline == T0 + 90
    assert new.wait_seconds == 90
    assert new.version == 4
    assert new.service_name == "web"
    assert new.observed_status == "DEACTIVATING"
    assert new.rev == 0
    assert new.is_open


# -- on_drain_event ------------------------------------------------------------------------------


def test_given_duplicate_drain_event_when_applied_then_nothing_changes() -> None:
    assert on_drain_event(record(), event(version=4, at=T0)) is None


def test_given_newer_drain_event_when_applied_then_version_and_state_updated_start_kept() -> None:
    changed = on_drain_event(record(), event(last="RUNNING", version=5, at=T0 + 3))
    assert changed is not None
    assert changed.version == 5
    assert changed.observed_status == "RUNNING"
    assert changed.drain_started_at == T0
    assert changed.due_at == T0 + 120


def test_given_older_event_with_earlier_time_when_applied_then_start_and_due_move_back() -> None:
    current = record(version=5, drain_started_at=T0 + 3, due_at=T0 + 123)
    changed = on_drain_event(current, event(last="RUNNING", version=4, at=T0))
    assert changed is not None
    assert changed.drain_started_at == T0
    assert changed.due_at == T0 + 120
    assert changed.version == 5  # the newer version is kept
    assert changed.observed_status == "DEACTIVATING"


def test_given_older_event_with_later_time_when_applied_then_nothing_changes() -> None:
    assert on_drain_event(record(version=5), event(version=4, at=T0 + 10)) is None


def test_given_deferred_record_when_earlier_event_arrives_then_deferral_is_kept() -> None:
    current = record(drain_started_at=T0 + 3, due_at=T0 + 200, deferrals=1, defer_reason="x")
    changed = on_drain_event(current, event(version=3, at=T0))
    assert changed is not None
    assert changed.drain_started_at == T0
    assert changed.due_at == T0 + 200


@pytest.mark.parametrize("status", [RecordStatus.STOP_REQUESTED, RecordStatus.CLOSED])
def test_given_record_no_longer_draining_when_drain_event_arrives_then_never_reopened(
    status: RecordStatus,
) -> None:
    current = record(status=status, outcome=Outcome.STOPPED_BY_ECS)
    assert on_drain_event(current, event(version=9, at=T0 - 100)) is None


# -- outcome_for_observed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "last", "expected"),
    [
        (RecordStatus.STOP_REQUESTED, None, "RUNNING", Outcome.STOPPED_BY_TERMINATOR),
        (RecordStatus.DRAINING, stop_reason(120), "STOPPED", Outcome.STOPPED_BY_TERMINATOR),
        (RecordStatus.DRAINING, "Scaling activity", "STOPPED", Outcome.STOPPED_BY_ECS),
        (RecordStatus.DRAINING, None, "STOPPING", Outcome.STOPPED_BY_ECS),
        (RecordStatus.DRAINING, None, "DEPROVISIONING", Outcome.STOPPED_BY_ECS),
        (RecordStatus.DRAINING, None, "DELETED", Outcome.STOPPED_BY_ECS),
        (RecordStatus.DRAINING, None, "RUNNING", Outcome.NOT_DRAINING),
        (RecordStatus.DRAINING, None, None, Outcome.NOT_DRAINING),
    ],
)
def test_given_observed_state_when_outcome_decided_then_who_stopped_it(
    status: RecordStatus, reason: str | None, last: str | None, expected: Outcome
) -> None:
    assert outcome_for_observed(record(status=status), reason, last) is expected


# -- close_record ----------------------------------------------------------------------------------


def test_given_open_leased_record_when_closed_then_closed_unleased_with_ttl() -> None:
    leased = record(lease_owner="run-1", lease_until=T0 + 30)
    closed = close_record(leased, Outcome.TASK_GONE, T0 + 5.7, 3600, attempts=3)
    assert closed.status is RecordStatus.CLOSED
    assert not closed.is_open
    assert closed.outcome is Outcome.TASK_GONE
    assert closed.closed_at == T0 + 5.7
    assert closed.lease_owner is None
    assert closed.lease_until is None
    assert closed.expires_at == int(T0 + 5.7 + 3600)
    assert closed.attempts == 3
    assert leased.is_open  # the original is untouched


def test_given_task_state_when_closed_with_it_then_observation_recorded() -> None:
    seen = TaskState(task_arn(1), "STOPPED", "STOPPED", "Scaling", "ServiceSchedulerInitiated")
    closed = close_record(record(), Outcome.STOPPED_BY_ECS, T0, 60, seen=seen)
    assert (closed.observed_status, closed.stopped_reason) == ("STOPPED", "Scaling")
    assert closed.version == record().version  # a DescribeTasks answer carries no version


# -- lease, release and stop transitions -----------------------------------------------------------


def test_given_record_when_claimed_then_leased_to_the_run_and_original_untouched() -> None:
    original = record()
    lease = claimed(original, "run-7", T0 + 30)
    assert (lease.lease_owner, lease.lease_until) == ("run-7", T0 + 30)
    assert lease.leased(T0 + 29.9)
    assert not lease.leased(T0 + 30)
    assert original.lease_owner is None


def test_given_leased_record_when_released_then_unleased_due_again_counters_kept() -> None:
    lease = claimed(record(attempts=1), "run-7", T0 + 30)
    back = released(lease, T0 + 45)
    assert (back.lease_owner, back.lease_until, back.due_at) == (None, None, T0 + 45)
    assert (back.attempts, back.deferrals, back.defer_reason) == (1, 0, None)


def test_given_failed_attempts_when_released_then_attempts_recorded() -> None:
    assert released(record(), T0 + 30, attempts=2).attempts == 2


def test_given_guard_deferral_when_released_then_deferrals_counted_with_reason() -> None:
    once = released(record(), T0 + 15, deferred_because="2 healthy, need 3")
    twice = released(once, T0 + 30, deferred_because="still 2 healthy")
    assert (twice.deferrals, twice.defer_reason, twice.due_at) == (2, "still 2 healthy", T0 + 30)


def test_given_longer_wait_when_raised_then_deadline_moves_and_later_deferral_kept() -> None:
    longer = wait_raised(record(), 600)
    assert (longer.wait_seconds, longer.due_at, longer.deadline) == (600, T0 + 600, T0 + 600)
    deferred = wait_raised(record(due_at=T0 + 900), 600)
    assert deferred.due_at == T0 + 900
    assert MAX_TAG_DIGITS == 9


def test_given_leased_record_when_stop_requested_then_awaits_confirmation_unleased() -> None:
    lease = claimed(record(), "run-7", T0 + 30)
    requested = stop_requested(lease, T0 + 121, "why", T0 + 181)
    assert requested.status is RecordStatus.STOP_REQUESTED
    assert (requested.stop_requested_at, requested.stop_reason, requested.due_at) == (
        T0 + 121,
        "why",
        T0 + 181,
    )
    assert requested.lease_owner is None
    assert requested.is_open


# -- on_stopped_event ------------------------------------------------------------------------------


def test_given_draining_record_when_stopped_event_then_closed_as_stopped_by_ecs() -> None:
    stopped = event("STOPPED", "STOPPED", 7, T0 + 330, "Scaling activity", T0 + 300, T0 + 330)
    closed = on_stopped_event(record(), stopped, T0 + 331, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.status is RecordStatus.CLOSED
    assert closed.outcome is Outcome.STOPPED_BY_ECS
    assert closed.version == 7
    assert closed.observed_status == "STOPPED"
    assert closed.stopping_at == T0 + 300
    assert closed.stopped_at == T0 + 330
    assert closed.closed_at == T0 + 331
    assert closed.expires_at == int(T0 + 331 + RETENTION)
    assert closed.confirmation_seconds is None


def test_given_older_stopped_event_when_applied_then_version_never_goes_back() -> None:
    closed = on_stopped_event(
        record(version=9), event("STOPPED", "STOPPED", 7), T0, RETENTION, CONFIRM
    )
    assert closed is not None
    assert closed.version == 9


def requested(at: float = T0 + 120) -> TaskRecord:
    return record(
        status=RecordStatus.STOP_REQUESTED,
        stop_requested_at=at,
        stop_reason=stop_reason(120),
        due_at=at + CONFIRM,
    )


@pytest.mark.parametrize("took", [0.0, 0.4, 30.0, 60.0])
def test_given_stop_requested_when_task_stops_within_confirm_window_then_confirmed(
    took: float,
) -> None:
    stopping = event("STOPPING", "STOPPED", 5, T0 + 120 + took, stop_reason(120), T0 + 120 + took)
    closed = on_stopped_event(requested(), stopping, T0 + 200, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert closed.confirmation_seconds == pytest.approx(took)


@pytest.mark.parametrize("took", [60.001, 61.0, 300.0])
def test_given_stop_requested_when_stopping_took_longer_than_confirm_window_then_unconfirmed(
    took: float,
) -> None:
    stopping = event("STOPPING", "STOPPED", 5, T0 + 120 + took, None, T0 + 120 + took)
    closed = on_stopped_event(requested(), stopping, T0 + 500, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.outcome is Outcome.UNCONFIRMED
    assert closed.confirmation_seconds == pytest.approx(took)


def test_given_stop_requested_when_only_stopped_at_known_then_it_measures_confirmation() -> None:
    stopped = event("STOPPED", "STOPPED", 7, T0 + 200, None, None, T0 + 130)
    closed = on_stopped_event(requested(), stopped, T0 + 500, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.confirmation_seconds == pytest.approx(10.0)
    assert closed.outcome is Outcome.STOPPED_BY_TERMINATOR


def test_given_stop_requested_when_no_stop_times_then_now_measures_confirmation() -> None:
    state = TaskState(TASK, "STOPPED", "STOPPED")
    closed = on_stopped_event(requested(), state, T0 + 190, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.confirmation_seconds == pytest.approx(70.0)
    assert closed.outcome is Outcome.UNCONFIRMED


def test_given_stopping_before_our_request_when_applied_then_confirmation_not_negative() -> None:
    stopping = event("STOPPING", "STOPPED", 5, T0 + 100, None, T0 + 100)
    closed = on_stopped_event(requested(T0 + 120), stopping, T0 + 130, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.confirmation_seconds == 0.0


def test_given_task_state_when_record_closed_then_version_untouched() -> None:
    state = TaskState(TASK, "STOPPED", "STOPPED", "Essential container exited")
    closed = on_stopped_event(record(version=4), state, T0, RETENTION, CONFIRM)
    assert closed is not None
    assert closed.version == 4
    assert closed.outcome is Outcome.STOPPED_BY_ECS
    assert closed.stopped_reason == "Essential container exited"


def test_given_closed_record_without_stop_time_when_stopped_event_then_annotated_not_reopened() -> (
    None
):
    closed = record(status=RecordStatus.CLOSED, outcome=Outcome.DRY_RUN, closed_at=T0)
    stopped = event("STOPPED", "STOPPED", 7, T0 + 300, "Scaling", T0 + 290, T0 + 300)
    annotated = on_stopped_event(closed, stopped, T0 + 301, RETENTION, CONFIRM)
    assert annotated is not None
    assert annotated.status is RecordStatus.CLOSED
    assert annotated.outcome is Outcome.DRY_RUN
    assert annotated.closed_at == T0
    assert annotated.stopped_at == T0 + 300


def test_given_closed_record_with_stop_time_when_stopped_event_again_then_nothing_changes() -> None:
    closed = record(status=RecordStatus.CLOSED, outcome=Outcome.STOPPED_BY_ECS, stopped_at=T0)
    stopped = event("STOPPED", "STOPPED", 8, T0 + 300, None, None, T0 + 300)
    assert on_stopped_event(closed, stopped, T0 + 301, RETENTION, CONFIRM) is None


def test_given_closed_record_when_event_without_stop_time_then_nothing_changes() -> None:
    closed = record(status=RecordStatus.CLOSED, outcome=Outcome.STOPPED_BY_ECS)
    stopping = event("STOPPING", "STOPPED", 5, T0 + 300)
    assert on_stopped_event(closed, stopping, T0 + 301, RETENTION, CONFIRM) is None
