"""decide() on a StopTask a run marked STARTED and did not record (it died, or its write
failed): settled from the task's stop reason, never skipped blindly, never sent twice."""

from __future__ import annotations

import dataclasses

from serverless.domain.actions import SENT, STARTED, pending_stop_task
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.lifecycle import on_stopped_event, stop_reason
from serverless.domain.model import (
    ActionTaken,
    Outcome,
    RecordStatus,
    StopAction,
    TaskRecord,
    TaskState,
)
from serverless.sweep.decide import (
    GUARDS_PASSED,
    CheckGuards,
    Close,
    Confirm,
    LookupFailed,
    Release,
    Seen,
    Settle,
    Stop,
    decide,
)
from tests.unit.sweep.test_decide import DRAINING, NOW, PLENTY, record, seen
from tests.unit.sweep.test_decide_actions import ALL_ON, policy, service

REASON = stop_reason(120)
MARKED_AT = NOW - 17.0  # the dead run's mark, one hold (16 s) and a little ago
ECS_REASON = "Scaling activity initiated by (deployment ecs-svc/1234567890)"
#: Ignored world: the StopTask changed only the stop reason; the task still drains.
IGNORED = dataclasses.replace(
    DRAINING, stopped_reason=REASON, stop_code="ServiceSchedulerInitiated"
)
#: Effective world: the StopTask made ECS stop the task.
STOPPING = TaskState(DRAINING.task_arn, "STOPPING", "STOPPED", REASON, "UserInitiated")
#: Nothing of ours reached the task: it drains with ECS's reason.
UNTOUCHED = dataclasses.replace(
    DRAINING, stopped_reason=ECS_REASON, stop_code="ServiceSchedulerInitiated"
)


def marked(*plan: StopAction) -> TaskRecord:
    """A drain record whose StopTask was marked started by a run that then died."""
    return record(
        plan=plan or (StopAction.STOP_TASK,),
        actions=(ActionTaken(StopAction.STOP_TASK, MARKED_AT, STARTED, detail=REASON),),
        due_at=MARKED_AT + 16.0,
    )


def settle(facts: Seen) -> Settle:
    decision = decide(facts, ALL_ON, NOW, PLENTY)
    assert isinstance(decision, Settle), decision
    assert pending_stop_task(decision.record) is None
    assert decision.record.lease_owner == facts.record.lease_owner  # the claim is kept
    assert decision.record.lease_until == facts.record.lease_until
    return decision


def test_given_stoptask_marked_when_task_shows_our_reason_then_recorded_sent_not_resent() -> None:
    facts = seen(record=marked(), task=IGNORED, service=service(policy(StopAction.STOP_TASK)))

    settled = settle(facts)

    assert settled.delivered
    assert settled.record.actions == (ActionTaken(StopAction.STOP_TASK, MARKED_AT, SENT),)
    assert settled.record.stop_requested_at == MARKED_AT
    assert settled.record.stop_reason == REASON
    assert settled.record.status is RecordStatus.STOP_REQUESTED
    # Then: confirmed at its usual time (60 s after the StopTask), no StopTask again.
    again = decide(dataclasses.replace(facts, record=settled.record), ALL_ON, NOW, PLENTY)
    assert again == Release(settled.record, MARKED_AT + 60.0, "stop requested; confirmed later")


def test_given_delivered_stoptask_in_effective_world_when_settled_then_confirmed_at_once() -> None:
    facts = seen(record=marked(), task=STOPPING, service=service(policy(StopAction.STOP_TASK)))

    settled = settle(facts)
    again = decide(dataclasses.replace(facts, record=settled.record), ALL_ON, NOW, PLENTY)

    assert settled.delivered
    assert again == Confirm(settled.record, STOPPING)


def test_given_delivered_stoptask_then_exec_when_still_draining_then_escalates_on_its_time() -> (
    None
):
    plan = (StopAction.STOP_TASK, StopAction.EXEC)
    facts = seen(
        record=marked(*plan), task=IGNORED, service=service(policy(StopAction.STOP_TASK_THEN_EXEC))
    )

    settled = settle(facts)
    assert settled.record.status is RecordStatus.DRAINING
    assert settled.record.due_at == MARKED_AT + 20.0  # escalate_after_seconds after it
    facts = dataclasses.replace(facts, record=settled.record)
    escalate_at = MARKED_AT + 20.0
    early = decide(facts, ALL_ON, NOW, PLENTY)
    again = decide(
        dataclasses.replace(facts, described_at=escalate_at), ALL_ON, escalate_at, PLENTY
    )

    assert early == Release(settled.record, escalate_at, "next stop step not sent: too early")
    assert isinstance(again, Stop)
    assert again.action is StopAction.EXEC  # the next step, never the StopTask again


def test_given_stoptask_marked_when_task_shows_ecs_reason_then_sent_as_never_taken() -> None:
    facts = seen(
        record=marked(),
        task=UNTOUCHED,
        service=service(policy(StopAction.STOP_TASK)),
        guards=None,
    )

    settled = settle(facts)
    assert not settled.delivered
    assert settled.record.actions == ()
    assert settled.record.stop_requested_at is None
    # Then: every rule of a first stop again (the guards first), and the StopTask is sent.
    facts = dataclasses.replace(facts, record=settled.record)
    assert isinstance(decide(facts, ALL_ON, NOW, PLENTY), CheckGuards)
    stop = decide(dataclasses.replace(facts, guards=GUARDS_PASSED), ALL_ON, NOW, PLENTY)
    assert isinstance(stop, Stop)
    assert stop.action is StopAction.STOP_TASK
    assert stop.reason == REASON


def test_given_stoptask_marked_when_ecs_stopping_the_task_itself_then_closed_stopped_by_ecs() -> (
    None
):
    by_ecs = TaskState(
        DRAINING.task_arn, "STOPPING", "STOPPED", ECS_REASON, "ServiceSchedulerInitiated"
    )
    facts = seen(record=marked(), task=by_ecs, service=service(policy(StopAction.STOP_TASK)))

    settled = settle(facts)
    again = decide(dataclasses.replace(facts, record=settled.record), ALL_ON, NOW, PLENTY)

    assert not settled.delivered
    assert again == Close(settled.record, Outcome.STOPPED_BY_ECS, by_ecs)


def test_given_stoptask_marked_when_task_gone_then_closed_gone_not_credited() -> None:
    facts = seen(record=marked(), task=None, service=service(policy(StopAction.STOP_TASK)))

    settled = settle(facts)
    again = decide(dataclasses.replace(facts, record=settled.record), ALL_ON, NOW, PLENTY)

    assert not settled.delivered
    assert again == Close(settled.record, Outcome.TASK_GONE)


def test_given_stoptask_marked_when_describe_failed_then_lookup_failed_mark_kept() -> None:
    error = AwsUnavailableError("DescribeTasks: Throttling")
    facts = seen(record=marked(), task=error)

    assert decide(facts, ALL_ON, NOW, PLENTY) == LookupFailed(marked(), "DescribeTasks", error)


def test_given_stoptask_marked_when_stopped_event_arrives_then_outcome_from_its_reason() -> None:
    stopped_ours = TaskState(DRAINING.task_arn, "STOPPED", "STOPPED", REASON, "UserInitiated")
    stopped_ecs = dataclasses.replace(stopped_ours, stopped_reason=ECS_REASON)

    ours = on_stopped_event(marked(), stopped_ours, NOW, 3600, 60.0)
    ecs = on_stopped_event(marked(), stopped_ecs, NOW, 3600, 60.0)

    assert ours is not None
    assert ecs is not None
    assert ours.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert ours.actions == (ActionTaken(StopAction.STOP_TASK, MARKED_AT, SENT),)
    assert ecs.outcome is Outcome.STOPPED_BY_ECS
    assert ecs.actions == ()
