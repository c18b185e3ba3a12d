"""decide() on a draining task that already shows our stop reason, though no StopTask is
recorded (the run that sent it died, or could not write): recorded, never sent twice; and
on one that does not show it: sent, never lost."""

from __future__ import annotations

import dataclasses

from serverless.domain.actions import SENT
from serverless.domain.lifecycle import stop_reason
from serverless.domain.model import (
    ActionTaken,
    Outcome,
    RecordStatus,
    StopAction,
    TaskState,
)
from serverless.sweep.decide import (
    GUARDS_PASSED,
    CheckGuards,
    Close,
    Release,
    Seen,
    Settle,
    Stop,
    decide,
)
from tests.unit.sweep.test_decide import DRAINING, NOW, PLENTY, record, seen
from tests.unit.sweep.test_decide_actions import ALL_ON, policy, service

REASON = stop_reason(120)
ECS_REASON = "Scaling activity initiated by (deployment ecs-svc/1234567890)"
#: The ignored world: the StopTask a dead run sent changed only the stop reason.
IGNORED = dataclasses.replace(
    DRAINING, stopped_reason=REASON, stop_code="ServiceSchedulerInitiated"
)
#: Nothing of ours reached the task: it drains with ECS's reason.
UNTOUCHED = dataclasses.replace(
    DRAINING, stopped_reason=ECS_REASON, stop_code="ServiceSchedulerInitiated"
)


def settle(facts: Seen) -> Settle:
    decision = decide(facts, ALL_ON, NOW, PLENTY)
    assert isinstance(decision, Settle), decision
    assert decision.record.lease_owner == facts.record.lease_owner  # the claim is kept
    assert decision.record.lease_until == facts.record.lease_until
    return decision


def test_given_task_shows_our_reason_unrecorded_when_decided_then_recorded_not_resent() -> None:
    facts = seen(task=IGNORED, service=service(policy(StopAction.STOP_TASK)), guards=None)

    settled = settle(facts)

    assert settled.record.actions == (ActionTaken(StopAction.STOP_TASK, NOW, SENT),)
    assert settled.record.plan == (StopAction.STOP_TASK,)
    assert settled.record.stop_requested_at == NOW
    assert settled.record.stop_reason == REASON
    assert settled.record.status is RecordStatus.STOP_REQUESTED
    # Then: confirmed at its usual time (60 s on), never a StopTask again.
    again = decide(dataclasses.replace(facts, record=settled.record), ALL_ON, NOW, PLENTY)
    assert again == Release(settled.record, NOW + 60.0, "stop requested; confirmed later")


def test_given_stop_task_then_exec_when_our_stoptask_found_then_escalates_not_resends() -> None:
    facts = seen(task=IGNORED, service=service(policy(StopAction.STOP_TASK_THEN_EXEC)))

    settled = settle(facts)
    assert settled.record.plan == (StopAction.STOP_TASK, StopAction.EXEC)
    assert settled.record.status is RecordStatus.DRAINING
    assert settled.record.due_at == NOW + 20.0  # escalate_after_seconds after it
    facts = dataclasses.replace(facts, record=settled.record)
    early = decide(facts, ALL_ON, NOW, PLENTY)
    later = NOW + 20.0
    # A later run's claim: a fresh lease, a fresh look at the task and the service.
    reclaimed = dataclasses.replace(settled.record, lease_until=later + 30.0)
    fresh = dataclasses.replace(
        facts,
        record=reclaimed,
        described_at=later - 0.5,
        service=dataclasses.replace(facts.service, read_at=later - 1.0),  # type: ignore[arg-type]
    )
    again = decide(fresh, ALL_ON, later, PLENTY)

    assert early == Release(settled.record, later, "next stop step not sent: too early")
    assert isinstance(again, Stop)
    assert again.action is StopAction.EXEC  # the next step, never the StopTask again


def test_given_task_shows_ecs_reason_when_decided_then_stoptask_sent_as_first() -> None:
    facts = seen(task=UNTOUCHED, service=service(policy(StopAction.STOP_TASK)), guards=None)

    assert isinstance(decide(facts, ALL_ON, NOW, PLENTY), CheckGuards)
    stop = decide(dataclasses.replace(facts, guards=GUARDS_PASSED), ALL_ON, NOW, PLENTY)
    assert isinstance(stop, Stop)
    assert stop.action is StopAction.STOP_TASK
    assert stop.reason == REASON


def test_given_our_stoptask_took_effect_unrecorded_when_decided_then_closed_as_ours() -> None:
    stopping = TaskState(DRAINING.task_arn, "STOPPING", "STOPPED", REASON, "UserInitiated")
    facts = seen(task=stopping, service=service(policy(StopAction.STOP_TASK)))

    assert decide(facts, ALL_ON, NOW, PLENTY) == Close(
        record(), Outcome.STOPPED_BY_TERMINATOR, stopping
    )


def test_given_exec_first_service_when_task_shows_our_reason_then_exec_taken_as_planned() -> None:
    # A StopTask of an earlier plan (the service's action changed since): exec is no repeat.
    facts = seen(task=IGNORED, service=service(policy(StopAction.EXEC)))

    decision = decide(facts, ALL_ON, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.action is StopAction.EXEC
