"""decide() with stop actions: the plan a first stop chooses, and the escalation's rules."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.actions import SENT, STARTED
from serverless.domain.model import (
    ActionTaken,
    Outcome,
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    ServiceSnapshot,
    StopAction,
    TaskRecord,
    TaskState,
)
from serverless.domain.signals import SignalCommand, SignalTarget
from serverless.sweep.decide import (
    GUARDS_PASSED,
    CheckGuards,
    Close,
    Confirm,
    Deferral,
    DescribeAgain,
    Limits,
    Release,
    Stop,
    decide,
)
from tests.support.fakes import CLUSTER_ARN, task_arn
from tests.unit.sweep.test_decide import DRAINING, LIMITS, NOW, PLENTY, POLICY, record, seen

EXEC_BOUND = 84.0
SSM_BOUND = 150.0
ALL_ON = dataclasses.replace(
    LIMITS,
    enabled_actions=frozenset(StopAction.__members__.values()) - {StopAction.STOP_TASK_THEN_EXEC},
    action_seconds={StopAction.EXEC: EXEC_BOUND, StopAction.SSM_SIGNAL: SSM_BOUND},
)
INFO = ServiceInfo(CLUSTER_ARN, "web", desired_count=2, lb_container_name="app")
ON_EC2 = dataclasses.replace(
    DRAINING, container_instance_arn="arn:aws:ecs:us-east-1:111122223333:container-instance/i"
)
ESCALATE_AT = NOW  # the record below is due for its escalation now
TAKEN_AT = NOW - 20.0


def service(policy: ServicePolicy, info: ServiceInfo = INFO) -> ServiceSnapshot:
    return ServiceSnapshot(info, policy, NOW - 1)


def policy(action: StopAction, **changes: object) -> ServicePolicy:
    return dataclasses.replace(POLICY, stop_action=action, **changes)


def first_stop(
    action: StopAction,
    limits: Limits = ALL_ON,
    task: TaskState = DRAINING,
    info: ServiceInfo = INFO,
    **changes: object,
) -> Stop:
    decision = decide(
        seen(service=service(policy(action, **changes), info), task=task), limits, NOW, PLENTY
    )
    assert isinstance(decision, Stop), decision
    return decision


def escalating(*actions: ActionTaken, plan: tuple[StopAction, ...] | None = None) -> TaskRecord:
    """A drain record whose plan is under way: due now for its next step."""
    steps = plan or (StopAction.STOP_TASK, StopAction.EXEC)
    return record(
        plan=steps,
        actions=actions or (ActionTaken(StopAction.STOP_TASK, TAKEN_AT, SENT),),
        stop_requested_at=TAKEN_AT,
        due_at=ESCALATE_AT,
    )


# -- the plan of a first stop ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "task", "fallback", "plan"),
    [
        (StopAction.STOP_TASK, DRAINING, False, (StopAction.STOP_TASK,)),
        (StopAction.EXEC, DRAINING, False, (StopAction.EXEC,)),
        (StopAction.EXEC, ON_EC2, True, (StopAction.EXEC, StopAction.SSM_SIGNAL)),
        (StopAction.EXEC, DRAINING, True, (StopAction.EXEC,)),  # Fargate: no ssm-signal
        (StopAction.SSM_SIGNAL, ON_EC2, False, (StopAction.SSM_SIGNAL,)),
        (
            StopAction.STOP_TASK_THEN_EXEC,
            DRAINING,
            False,
            (StopAction.STOP_TASK, StopAction.EXEC),
        ),
        (
            StopAction.STOP_TASK_THEN_EXEC,
            ON_EC2,
            False,
            (StopAction.STOP_TASK, StopAction.EXEC),
        ),
        (
            StopAction.STOP_TASK_THEN_EXEC,
            ON_EC2,
            True,
            (StopAction.STOP_TASK, StopAction.EXEC, StopAction.SSM_SIGNAL),
        ),
    ],
)
def test_given_action_when_first_stop_decided_then_plan_in_stated_order_and_first_step_taken(
    action: StopAction, task: TaskState, fallback: bool, plan: tuple[StopAction, ...]
) -> None:
    decision = first_stop(action, task=task, ssm_fallback=fallback)

    assert decision.record.plan == plan
    assert decision.action is plan[0]
    assert decision.note == ""
    assert decision.record.actions == ()


def test_given_exec_when_decided_then_load_balancer_container_gets_kill_term_pid_1() -> None:
    decision = first_stop(StopAction.EXEC)

    assert decision.target == SignalTarget(CLUSTER_ARN, task_arn(1), "app")
    assert decision.command == SignalCommand("TERM", 1)
    assert decision.command.shell_command == "kill -TERM 1"


def test_given_container_signal_and_command_tags_when_decided_then_they_win() -> None:
    decision = first_stop(
        StopAction.EXEC, exec_container="sidecar", stop_signal="INT", stop_command=None
    )
    assert decision.target is not None
    assert decision.target.container_name == "sidecar"
    assert decision.command == SignalCommand("INT")

    scripted = first_stop(StopAction.EXEC, stop_command="/app/bin/drain --now")
    assert scripted.command is not None
    assert scripted.command.shell_command == "/app/bin/drain --now"


def test_given_module_defaults_when_service_names_none_then_module_signal_and_command() -> None:
    limits = dataclasses.replace(ALL_ON, stop_signal="QUIT", stop_command="/bin/stop")

    decision = first_stop(StopAction.EXEC, limits=limits)

    assert decision.command == SignalCommand("QUIT", command="/bin/stop")


@pytest.mark.parametrize(
    ("action", "limits", "task", "info", "why"),
    [
        (StopAction.EXEC, LIMITS, DRAINING, INFO, "exec is not enabled in the module"),
        (
            StopAction.EXEC,
            ALL_ON,
            DRAINING,
            dataclasses.replace(INFO, lb_container_name=None),
            "exec has no container to signal",
        ),
        (StopAction.SSM_SIGNAL, ALL_ON, DRAINING, INFO, "ssm-signal needs the EC2 launch type"),
        (
            StopAction.SSM_SIGNAL,
            dataclasses.replace(ALL_ON, enabled_actions=frozenset({StopAction.STOP_TASK})),
            ON_EC2,
            INFO,
            "ssm-signal is not enabled in the module",
        ),
    ],
)
def test_given_action_the_task_cannot_get_when_decided_then_stop_task_with_a_note(
    action: StopAction, limits: Limits, task: TaskState, info: ServiceInfo, why: str
) -> None:
    decision = first_stop(action, limits=limits, task=task, info=info)

    assert decision.action is StopAction.STOP_TASK
    assert decision.record.plan == (StopAction.STOP_TASK,)
    assert why in decision.note
    assert decision.note.endswith("stop-task instead")


def test_given_stop_task_then_exec_without_exec_in_module_when_decided_then_only_stop_task() -> (
    None
):
    decision = first_stop(StopAction.STOP_TASK_THEN_EXEC, limits=LIMITS)

    assert decision.record.plan == (StopAction.STOP_TASK,)
    assert decision.note == ""  # stop-task is part of what was asked for


def test_given_signal_step_when_invocation_too_short_for_its_bound_then_release() -> None:
    enough_for_stop_task = LIMITS.unit_seconds + 1.0
    facts = seen(service=service(policy(StopAction.EXEC)))

    decision = decide(facts, ALL_ON, NOW, enough_for_stop_task)

    assert isinstance(decision, Release)
    assert decision.why == "stop not sent: the invocation has too little time left"
    assert decision.record.plan == ()  # released: the next look chooses again

    plenty = decide(facts, ALL_ON, NOW, LIMITS.unit_seconds + EXEC_BOUND)
    assert isinstance(plenty, Stop)
    assert plenty.action is StopAction.EXEC


# -- the escalation -------------------------------------------------------------------------


def test_given_stop_task_sent_and_task_still_draining_when_due_then_exec_once() -> None:
    facts = seen(record=escalating(), service=service(policy(StopAction.STOP_TASK_THEN_EXEC)))

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.action is StopAction.EXEC
    assert decision.record.plan == (StopAction.STOP_TASK, StopAction.EXEC)  # kept, not chosen
    assert decision.target == SignalTarget(CLUSTER_ARN, task_arn(1), "app")


def test_given_escalation_due_when_guards_not_yet_checked_then_guards_first() -> None:
    facts = seen(
        record=escalating(),
        service=service(policy(StopAction.STOP_TASK_THEN_EXEC)),
        guards=None,
    )

    assert isinstance(decide(facts, ALL_ON, NOW, PLENTY), CheckGuards)


def test_given_escalation_when_a_guard_defers_then_release_deferred() -> None:
    facts = seen(
        record=escalating(),
        service=service(policy(StopAction.STOP_TASK_THEN_EXEC)),
        guards=Deferral(NOW + 15, "min healthy"),
    )

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert decision == Release(escalating(), NOW + 15, "min healthy", deferred=True)


def test_given_escalation_on_an_old_task_state_when_decided_then_described_again() -> None:
    facts = seen(
        record=escalating(),
        service=service(policy(StopAction.STOP_TASK_THEN_EXEC)),
        described_at=NOW - 10,
    )

    assert isinstance(decide(facts, ALL_ON, NOW, PLENTY), DescribeAgain)


@pytest.mark.parametrize(
    "task",
    [
        None,
        TaskState(task_arn(1), "STOPPING", "STOPPED", "drain-terminator: ...", stopping_at=NOW - 5),
    ],
    ids=["gone", "stopping"],
)
def test_given_step_taken_when_task_no_longer_drains_then_confirm_not_escalate(
    task: TaskState | None,
) -> None:
    facts = seen(
        record=escalating(), task=task, service=service(policy(StopAction.STOP_TASK_THEN_EXEC))
    )

    assert decide(facts, ALL_ON, NOW, PLENTY) == Confirm(escalating(), task)


def test_given_every_step_taken_when_still_draining_then_confirm_never_a_step_twice() -> None:
    done = escalating(
        ActionTaken(StopAction.STOP_TASK, TAKEN_AT - 20, SENT),
        ActionTaken(StopAction.EXEC, TAKEN_AT, STARTED),
    )
    facts = seen(record=done, service=service(policy(StopAction.STOP_TASK_THEN_EXEC)))

    assert decide(facts, ALL_ON, NOW, PLENTY) == Confirm(done, DRAINING)


def test_given_escalation_when_service_opted_out_then_closed_opted_out() -> None:
    facts = seen(
        record=escalating(),
        service=service(dataclasses.replace(policy(StopAction.EXEC), enabled=False)),
    )

    assert decide(facts, ALL_ON, NOW, PLENTY) == Close(escalating(), Outcome.OPTED_OUT, DRAINING)


def test_given_escalation_when_module_no_longer_enables_the_step_then_left_to_ecs() -> None:
    facts = seen(record=escalating(), service=service(policy(StopAction.STOP_TASK_THEN_EXEC)))

    decision = decide(facts, LIMITS, NOW, PLENTY)

    assert decision == Close(escalating(), Outcome.PREREQUISITE_MISSING, DRAINING)


def test_given_escalation_when_wait_tag_raised_then_not_postponed() -> None:
    raised = dataclasses.replace(policy(StopAction.STOP_TASK_THEN_EXEC), wait_seconds=900)
    facts = seen(record=escalating(), service=service(raised))

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.action is StopAction.EXEC


def test_given_stop_requested_record_when_due_then_confirm_as_before() -> None:
    confirming = dataclasses.replace(escalating(), status=RecordStatus.STOP_REQUESTED)

    decision = decide(seen(record=confirming, guards=GUARDS_PASSED), ALL_ON, NOW, PLENTY)

    assert decision == Confirm(confirming, DRAINING)


def test_given_escalation_not_yet_due_when_decided_then_released_until_its_due_time() -> None:
    early = dataclasses.replace(escalating(), due_at=NOW + 5)
    facts = seen(record=early, service=service(policy(StopAction.STOP_TASK_THEN_EXEC)))

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert decision == Release(early, NOW + 5, "next stop step not sent: too early")
