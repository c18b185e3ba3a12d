"""decide() on operator drains (``drain TASK``): the task runs with desired RUNNING while its
targets drain, and the wait the operator chose stands."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.actions import STARTED
from serverless.domain.lifecycle import confirmed, in_drain, operator_drain_record, stop_reason
from serverless.domain.model import (
    ActionTaken,
    Outcome,
    RecordStatus,
    ServiceSnapshot,
    StopAction,
    StopCause,
    TaskState,
)
from serverless.sweep.decide import CheckGuards, Close, Release, Stop, decide
from tests.support.fakes import CLUSTER_ARN, task_arn
from tests.unit.sweep.test_decide import (
    INFO,
    LIMITS,
    NOW,
    PLENTY,
    POLICY,
    T0,
    record,
    seen,
    snapshot,
)
from tests.unit.sweep.test_decide_actions import ALL_ON
from tests.unit.sweep.test_decide_actions import INFO as ACTIONS_INFO

RUNNING = TaskState(task_arn(1), "RUNNING", "RUNNING")
OPERATOR = record(cause=StopCause.OPERATOR.value)
PLANNED = dataclasses.replace(OPERATOR, plan=(StopAction.STOP_TASK,))  # as the first stop writes it


def test_given_operator_drain_of_a_running_task_when_due_then_stopped_with_the_stop_action() -> (
    None
):
    decision = decide(seen(record=OPERATOR, task=RUNNING), LIMITS, NOW, PLENTY)

    assert decision == Stop(PLANNED, StopAction.STOP_TASK, stop_reason(120))


def test_given_operator_drain_before_its_deadline_when_decided_then_released_never_stopped() -> (
    None
):
    early = T0 + 119.0

    decision = decide(seen(record=OPERATOR, task=RUNNING), LIMITS, early, PLENTY)

    assert decision == Release(OPERATOR, T0 + 120, "stop not sent: too early")


def test_given_operator_drain_due_and_guards_unchecked_when_decided_then_guards_checked() -> None:
    decision = decide(seen(record=OPERATOR, task=RUNNING, guards=None), LIMITS, NOW, PLENTY)

    assert decision == CheckGuards(OPERATOR, POLICY, INFO)


def test_given_a_drain_ecs_started_and_the_task_running_again_when_decided_then_not_draining() -> (
    None
):
    # Only the operator's cause makes desired RUNNING the expected state.
    decision = decide(seen(task=RUNNING), LIMITS, NOW, PLENTY)

    assert decision == Close(record(), Outcome.NOT_DRAINING, RUNNING)


@pytest.mark.parametrize(
    ("last", "desired", "outcome"),
    [
        pytest.param("STOPPING", "STOPPED", Outcome.STOPPED_BY_ECS, id="stopping"),
        pytest.param("STOPPED", "STOPPED", Outcome.STOPPED_BY_ECS, id="stopped"),
        pytest.param("PENDING", "RUNNING", Outcome.NOT_DRAINING, id="pending"),
    ],
)
def test_given_operator_drain_whose_task_left_running_when_decided_then_closed(
    last: str, desired: str, outcome: Outcome
) -> None:
    task = TaskState(task_arn(1), last, desired)

    decision = decide(seen(record=OPERATOR, task=task), LIMITS, NOW, PLENTY)

    assert decision == Close(OPERATOR, outcome, task)


def test_given_ecs_began_a_drain_of_an_operator_drained_task_when_due_then_its_cause_rules() -> (
    None
):
    # Spot reclaims the task during the operator's drain: ECS's cause rules from then on.
    task = TaskState(task_arn(1), "DEACTIVATING", "STOPPED", None, "SpotInterruption")

    decision = decide(seen(record=OPERATOR, task=task), LIMITS, NOW, PLENTY)

    assert decision == Close(
        dataclasses.replace(OPERATOR, cause="spot-interruption"), Outcome.NOT_SHORTENED, task
    )


def test_given_wait_tag_raised_during_an_operator_drain_when_due_then_the_chosen_wait_stands() -> (
    None
):
    raised = dataclasses.replace(POLICY, wait_seconds=600)

    decision = decide(
        seen(record=OPERATOR, task=RUNNING, service=snapshot(raised)), LIMITS, NOW, PLENTY
    )

    assert decision == Stop(PLANNED, StopAction.STOP_TASK, stop_reason(120))


def test_given_operator_drain_of_a_service_without_load_balancer_when_due_then_not_shortened() -> (
    None
):
    bare = dataclasses.replace(INFO, load_balanced=False)
    service = dataclasses.replace(snapshot(), info=bare)

    decision = decide(seen(record=OPERATOR, task=RUNNING, service=service), LIMITS, NOW, PLENTY)

    assert decision == Close(
        dataclasses.replace(OPERATOR, cause="no-target-group"), Outcome.NOT_SHORTENED, RUNNING
    )


def test_given_running_task_when_operator_record_made_then_wait_runs_from_deregistration() -> None:
    task = TaskState(task_arn(1), "RUNNING", "RUNNING", started_by="ecs-svc/1", version=2)

    made = operator_drain_record(task, CLUSTER_ARN, "web", T0, 90)

    assert (made.drain_started_at, made.wait_seconds, made.due_at) == (T0, 90, T0 + 90)
    assert (made.cause, made.started_by, made.version) == ("operator", "ecs-svc/1", 2)
    assert in_drain(made, task)
    assert not in_drain(dataclasses.replace(made, cause=None), task)
    assert in_drain(
        dataclasses.replace(made, cause=None), TaskState(task.task_arn, "RUNNING", "STOPPED")
    )


# -- with stop actions: a signal step leaves the task RUNNING with desired RUNNING -------------


def test_given_operator_drain_signalled_and_still_running_when_due_then_the_plan_escalates() -> (
    None
):
    on_ec2 = dataclasses.replace(
        RUNNING, container_instance_arn="arn:aws:ecs:us-east-1:111122223333:container-instance/i"
    )
    signalled = dataclasses.replace(
        OPERATOR,
        plan=(StopAction.EXEC, StopAction.SSM_SIGNAL),
        actions=(ActionTaken(StopAction.EXEC, NOW - 20, STARTED),),
    )
    exec_policy = dataclasses.replace(POLICY, stop_action=StopAction.EXEC, ssm_fallback=True)
    facts = seen(
        record=signalled,
        task=on_ec2,
        service=ServiceSnapshot(ACTIONS_INFO, exec_policy, NOW - 1),
    )

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.action is StopAction.SSM_SIGNAL


def test_given_operator_drain_still_running_at_its_confirmation_then_unconfirmed() -> None:
    signalled = dataclasses.replace(
        OPERATOR,
        status=RecordStatus.STOP_REQUESTED,
        plan=(StopAction.EXEC,),
        actions=(ActionTaken(StopAction.EXEC, NOW - 60, STARTED),),
    )

    closed = confirmed(signalled, RUNNING, NOW, 3600, 60.0)

    assert closed.outcome is Outcome.UNCONFIRMED
