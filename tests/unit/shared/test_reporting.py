"""report_closed: one metric and one log line per closed record, by outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from serverless.domain.model import Outcome, RecordStatus, TaskRecord
from serverless.shared.reporting import report_closed
from tests.support.fakes import CLUSTER_ARN, task_arn

Values = Callable[[str], list[float]]


def closed(outcome: Outcome, **changes: Any) -> TaskRecord:
    base = TaskRecord(
        task_arn=task_arn(1),
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.CLOSED,
        version=4,
        drain_started_at=0.0,
        wait_seconds=120,
        due_at=120.0,
        outcome=outcome,
    )
    return dataclasses.replace(base, **changes)


def test_given_unconfirmed_when_reported_then_counted_and_logged_as_error(
    metric_values: Values, caplog: pytest.LogCaptureFixture
) -> None:
    report_closed(closed(Outcome.UNCONFIRMED, stop_requested_at=120.0))
    assert metric_values("StopsUnconfirmed") == [1.0]
    assert metric_values("StopsConfirmed") == []
    assert [r.levelname for r in caplog.records] == ["ERROR"]


def test_given_confirmed_stop_when_reported_then_counted_with_confirmation_time(
    metric_values: Values,
) -> None:
    report_closed(
        closed(Outcome.STOPPED_BY_TERMINATOR, stop_requested_at=120.0, confirmation_seconds=1.25)
    )
    assert metric_values("StopsConfirmed") == [1.0]
    assert metric_values("StopConfirmationSeconds") == [1.25]
    assert metric_values("TasksClosedWithoutStop") == []


@pytest.mark.parametrize(
    "outcome",
    [o for o in Outcome if o not in {Outcome.UNCONFIRMED, Outcome.STOPPED_BY_TERMINATOR}],
)
def test_given_closed_without_our_stop_when_reported_then_counted_as_such(
    metric_values: Values, outcome: Outcome
) -> None:
    report_closed(closed(outcome))
    assert metric_values("TasksClosedWithoutStop") == [1.0]
    assert metric_values("StopsConfirmed") == []


def test_given_stopped_by_terminator_seen_without_our_request_then_no_metric(
    metric_values: Values,
) -> None:
    report_closed(closed(Outcome.STOPPED_BY_TERMINATOR))
    assert metric_values("StopsConfirmed") == []
    assert metric_values("TasksClosedWithoutStop") == []
