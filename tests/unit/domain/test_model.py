"""Value objects: drain classification, service ARNs, record properties."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.model import (
    DRAINING_LAST_STATUSES,
    Outcome,
    RecordStatus,
    TaskEvent,
    TaskRecord,
    TaskState,
    is_draining,
)
from tests.support.fakes import CLUSTER_ARN, task_arn

T0 = 1_795_341_600.0


@pytest.mark.parametrize(
    ("last", "desired", "expected"),
    [
        ("RUNNING", "STOPPED", True),
        ("DEACTIVATING", "STOPPED", True),
        ("RUNNING", "RUNNING", False),
        ("DEACTIVATING", "RUNNING", False),
        ("STOPPING", "STOPPED", False),
        ("DEPROVISIONING", "STOPPED", False),
        ("STOPPED", "STOPPED", False),
        ("PENDING", "STOPPED", False),
        (None, "STOPPED", False),
        ("RUNNING", None, False),
    ],
)
def test_given_statuses_when_classified_then_draining_only_before_stopping(
    last: str | None, desired: str | None, expected: bool
) -> None:
    assert is_draining(last, desired) is expected
    if last is not None and desired is not None:
        assert TaskState(task_arn(1), last, desired).draining is expected


def test_given_draining_statuses_when_listed_then_running_and_deactivating() -> None:
    assert frozenset({"RUNNING", "DEACTIVATING"}) == DRAINING_LAST_STATUSES


def event(group: str, last: str = "RUNNING", desired: str = "STOPPED") -> TaskEvent:
    return TaskEvent("e", T0, task_arn(1), CLUSTER_ARN, group, last, desired, 4)


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("service:web", "web"),
        ("service:web:blue", "web:blue"),
        ("service:", None),
        ("family:web", None),
        ("", None),
    ],
)
def test_given_group_when_service_name_read_then_only_service_groups_name_one(
    group: str, expected: str | None
) -> None:
    assert event(group).service_name == expected


def test_given_stopped_event_when_classified_then_stopped_not_drain() -> None:
    stopped = event("service:web", "STOPPED", "STOPPED")
    assert stopped.is_stopped
    assert not stopped.is_drain
    assert event("service:web").is_drain
    assert not event("service:web").is_stopped


def record(**changes: object) -> TaskRecord:
    base = TaskRecord(
        task_arn=task_arn(1),
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=T0,
        wait_seconds=120,
        due_at=T0 + 500,
    )
    return dataclasses.replace(base, **changes)


def test_given_record_when_deadline_read_then_drain_start_plus_wait_regardless_of_due() -> None:
    assert record().deadline == T0 + 120


@pytest.mark.parametrize(
    ("status", "is_open"),
    [
        (RecordStatus.DRAINING, True),
        (RecordStatus.STOP_REQUESTED, True),
        (RecordStatus.CLOSED, False),
    ],
)
def test_given_status_when_openness_read_then_only_closed_is_not_open(
    status: RecordStatus, is_open: bool
) -> None:
    assert record(status=status).is_open is is_open


@pytest.mark.parametrize(
    ("lease_until", "now", "leased"),
    [(None, T0, False), (T0 + 30, T0, True), (T0 + 30, T0 + 30, False), (T0, T0 + 1, False)],
)
def test_given_lease_when_checked_then_held_only_before_it_expires(
    lease_until: float | None, now: float, leased: bool
) -> None:
    assert record(lease_until=lease_until, lease_owner="r").leased(now) is leased


def test_given_value_objects_when_assigned_then_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        record().status = RecordStatus.CLOSED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event("service:web").version = 9  # type: ignore[misc]


def test_given_enums_when_stored_then_their_values_are_the_ledger_strings() -> None:
    assert [s.value for s in RecordStatus] == ["draining", "stop_requested", "closed"]
    assert str(Outcome.UNCONFIRMED) == "unconfirmed"
    assert {o.value for o in Outcome} == {
        "stopped_by_terminator",
        "stopped_by_ecs",
        "not_draining",
        "task_gone",
        "opted_out",
        "dry_run",
        "unconfirmed",
        "stop_failed",
        "not_shortened",
        "prerequisite_missing",
    }
