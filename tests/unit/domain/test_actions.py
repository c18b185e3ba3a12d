"""Stop-action plans and steps: the order, once each, and when the next step is due."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.actions import (
    SENT,
    STARTED,
    container_for,
    plan_for,
    step_result,
    step_started,
    step_taken,
)
from serverless.domain.lifecycle import on_drain_event, on_stopped_event, outcome_for_observed
from serverless.domain.model import (
    ActionTaken,
    Outcome,
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    StopAction,
    TaskEvent,
    TaskRecord,
    TaskState,
)
from tests.support.fakes import CLUSTER_ARN, task_arn

T0 = 1_795_341_600.0
ESCALATE = 20.0
CONFIRM = 60.0
ALL = frozenset({StopAction.STOP_TASK, StopAction.EXEC, StopAction.SSM_SIGNAL})
FARGATE = TaskState(task_arn(1), "DEACTIVATING", "STOPPED")
EC2 = dataclasses.replace(FARGATE, container_instance_arn="arn:...:container-instance/x")


def record(**changes: object) -> TaskRecord:
    base = TaskRecord(
        task_arn=task_arn(1),
        cluster_arn=CLUSTER_ARN,
        service_name="web",
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=T0,
        wait_seconds=120,
        due_at=T0 + 120,
        rev=2,
        lease_owner="run-1",
        lease_until=T0 + 150,
    )
    return dataclasses.replace(base, **changes)


def taken(record_: TaskRecord, action: StopAction, at: float, outcome: str) -> TaskRecord:
    return step_taken(
        record_,
        ActionTaken(action, at, outcome),
        reason="r",
        escalate_at=at + ESCALATE,
        confirm_at=at + CONFIRM,
    )


PLAN = (StopAction.STOP_TASK, StopAction.EXEC, StopAction.SSM_SIGNAL)


def test_given_delivered_step_with_a_next_when_recorded_then_draining_due_escalate_after() -> None:
    after = taken(record(plan=PLAN), StopAction.STOP_TASK, T0 + 121, SENT)

    assert after.status is RecordStatus.DRAINING
    assert after.due_at == T0 + 121 + ESCALATE
    assert after.next_step is StopAction.EXEC
    assert after.stop_requested_at == T0 + 121
    assert after.lease_until is None


def test_given_failed_step_with_a_next_when_recorded_then_next_due_at_once() -> None:
    after = taken(record(plan=PLAN), StopAction.STOP_TASK, T0 + 121, SENT)
    after = taken(after, StopAction.EXEC, T0 + 141, "PREREQUISITE_MISSING")

    assert after.status is RecordStatus.DRAINING
    assert after.due_at == T0 + 141
    assert after.next_step is StopAction.SSM_SIGNAL
    assert after.stop_requested_at == T0 + 121  # the first delivered step's time
    assert after.last_stop_at == T0 + 121


def test_given_last_step_delivered_when_recorded_then_stop_requested_confirm_after() -> None:
    after = taken(record(plan=(StopAction.EXEC,)), StopAction.EXEC, T0 + 121, "UNCONFIRMED")

    assert after.status is RecordStatus.STOP_REQUESTED
    assert after.due_at == T0 + 121 + CONFIRM
    assert after.next_step is None


def test_given_step_started_when_result_recorded_then_replaces_the_mark_once() -> None:
    started = step_started(record(plan=PLAN), StopAction.EXEC, T0 + 121, T0 + 300)
    assert started.actions == (ActionTaken(StopAction.EXEC, T0 + 121, STARTED),)
    assert started.lease_until == T0 + 300
    assert started.due_at == T0 + 300
    assert started.next_step is StopAction.STOP_TASK  # plan order: the taken one is skipped

    result = ActionTaken(StopAction.EXEC, T0 + 121, "SIGNALLED")
    noted = step_result(started, result)
    assert step_result(noted, result).actions == (result,)
    assert taken(noted, StopAction.EXEC, T0 + 121, "SIGNALLED").actions == (result,)


def test_given_started_mark_only_when_task_stops_then_counted_as_ours() -> None:
    started = step_started(record(plan=(StopAction.EXEC,)), StopAction.EXEC, T0 + 121, T0 + 300)
    assert started.last_stop_at == T0 + 121
    assert outcome_for_observed(started, "Essential container in task exited", "STOPPED") is (
        Outcome.STOPPED_BY_TERMINATOR
    )


def test_given_exec_stopped_the_task_when_stopped_event_then_confirmed_from_the_exec() -> None:
    after = taken(record(plan=PLAN[:2]), StopAction.STOP_TASK, T0 + 121, SENT)
    after = taken(after, StopAction.EXEC, T0 + 141, "SIGNALLED")
    stopping = TaskState(
        task_arn(1),
        "STOPPING",
        "STOPPED",
        "Essential container in task exited",
        stopping_at=T0 + 143,
    )

    closed = on_stopped_event(after, stopping, T0 + 150, 3600, CONFIRM)

    assert closed is not None
    assert closed.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert closed.confirmation_seconds == pytest.approx(2.0)
    assert closed.stopped_by is StopAction.EXEC


def test_given_escalation_pending_when_late_drain_event_then_deadline_not_moved() -> None:
    after = taken(record(plan=PLAN), StopAction.STOP_TASK, T0 + 121, SENT)
    earlier = TaskEvent(
        "e", T0 - 30, task_arn(1), CLUSTER_ARN, "service:web", "RUNNING", "STOPPED", 3
    )

    assert on_drain_event(after, earlier) is None


@pytest.mark.parametrize(
    ("action", "fallback", "task", "plan"),
    [
        (StopAction.STOP_TASK_THEN_EXEC, True, EC2, PLAN),
        (StopAction.STOP_TASK_THEN_EXEC, True, FARGATE, PLAN[:2]),
        (StopAction.EXEC, False, EC2, (StopAction.EXEC,)),
    ],
)
def test_given_policy_when_planned_then_stated_order(
    action: StopAction, fallback: bool, task: TaskState, plan: tuple[StopAction, ...]
) -> None:
    policy = ServicePolicy(True, 120, stop_action=action, ssm_fallback=fallback)
    assert plan_for(policy, ALL, task, "app") == (plan, "")


def test_given_container_tag_or_load_balancer_when_asked_then_tag_first() -> None:
    info = ServiceInfo(CLUSTER_ARN, "web", lb_container_name="web")
    assert container_for(ServicePolicy(True, 120), info) == "web"
    assert container_for(ServicePolicy(True, 120, exec_container="app"), info) == "app"
    assert container_for(ServicePolicy(True, 120), None) is None
