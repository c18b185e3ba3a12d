"""decide(): every rule an early stop obeys, one decision value per branch (no fakes needed)."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.domain.errors import AwsUnavailableError, NotFoundError, PermanentAwsError
from serverless.domain.lifecycle import REASON_PREFIX, stop_reason
from serverless.domain.model import (
    Outcome,
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    ServiceSnapshot,
    StopAction,
    TaskRecord,
    TaskState,
    UnhealthyAction,
)
from serverless.sweep.decide import (
    GUARDS_PASSED,
    CheckGuards,
    Close,
    Confirm,
    Deferral,
    DescribeAgain,
    DryRun,
    Limits,
    LookupFailed,
    Release,
    Seen,
    Stop,
    decide,
)
from serverless.sweep.timing import LEASE_MARGIN_SECONDS, UNIT_SECONDS
from tests.support.fakes import CLUSTER_ARN, task_arn

T0 = 1_795_341_600.0  # drain start
NOW = T0 + 121.0  # one second past the 120 s deadline
LEASE_SECONDS = 30.0
LIMITS = Limits(
    dry_run=False,
    task_state_max_age_seconds=2.0,
    tags_max_age_seconds=5.0,
    lease_margin_seconds=LEASE_MARGIN_SECONDS,
    unit_seconds=UNIT_SECONDS,
)
PLENTY = 600.0  # seconds of the invocation left
DRAINING = TaskState(task_arn(1), "RUNNING", "STOPPED")
INFO = ServiceInfo(CLUSTER_ARN, "web", desired_count=2)
POLICY = ServicePolicy(enabled=True, wait_seconds=120)


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
        rev=3,
        lease_owner="run-1",
        lease_until=NOW + LEASE_SECONDS,
    )
    return dataclasses.replace(base, **changes)


def snapshot(policy: ServicePolicy = POLICY, read_at: float = NOW - 1) -> ServiceSnapshot:
    return ServiceSnapshot(INFO, policy, read_at)


def seen(**changes: object) -> Seen:
    """A record due now whose task drains, on current facts, with the guards passed."""
    base = Seen(
        record=record(),
        task=DRAINING,
        described_at=NOW - 0.5,
        service=snapshot(),
        guards=GUARDS_PASSED,
    )
    return dataclasses.replace(base, **changes)


# -- the stop ------------------------------------------------------------------------------------


def test_given_due_drain_on_current_facts_when_decided_then_stop_task_with_our_reason() -> None:
    decision = decide(seen(), LIMITS, NOW, PLENTY)

    assert decision == Stop(
        record(plan=(StopAction.STOP_TASK,)), StopAction.STOP_TASK, stop_reason(120)
    )
    assert isinstance(decision, Stop)
    assert decision.reason.startswith(REASON_PREFIX)


def test_given_policy_with_a_stop_action_when_decided_then_stop_carries_that_action() -> None:
    policy = dataclasses.replace(POLICY, stop_action=StopAction.STOP_TASK)

    decision = decide(seen(service=snapshot(policy)), LIMITS, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.action is policy.stop_action


def test_given_inputs_when_decided_twice_then_same_decision_and_inputs_untouched() -> None:
    facts = seen()
    assert decide(facts, LIMITS, NOW, PLENTY) == decide(facts, LIMITS, NOW, PLENTY)
    assert facts == seen()


# -- what DescribeTasks showed -------------------------------------------------------------------


@pytest.mark.parametrize("status", [RecordStatus.DRAINING, RecordStatus.STOP_REQUESTED])
def test_given_describe_tasks_failed_when_decided_then_lookup_failed_for_any_record(
    status: RecordStatus,
) -> None:
    error = AwsUnavailableError("throttled")

    decision = decide(seen(record=record(status=status), task=error), LIMITS, NOW, PLENTY)

    assert decision == LookupFailed(record(status=status), "DescribeTasks", error)


@pytest.mark.parametrize("task", [None, DRAINING, TaskState(task_arn(1), "STOPPED", "STOPPED")])
def test_given_stop_requested_when_decided_then_confirm_with_what_the_task_shows(
    task: TaskState | None,
) -> None:
    requested = record(status=RecordStatus.STOP_REQUESTED, stop_requested_at=NOW - 60)

    decision = decide(seen(record=requested, task=task), LIMITS, NOW, PLENTY)

    assert decision == Confirm(requested, task)


def test_given_task_gone_when_decided_then_close_as_task_gone() -> None:
    assert decide(seen(task=None), LIMITS, NOW, PLENTY) == Close(record(), Outcome.TASK_GONE)


@pytest.mark.parametrize(
    ("task", "outcome"),
    [
        (TaskState(task_arn(1), "STOPPING", "STOPPED"), Outcome.STOPPED_BY_ECS),
        (
            TaskState(task_arn(1), "STOPPED", "STOPPED", stopped_reason=stop_reason(120)),
            Outcome.STOPPED_BY_TERMINATOR,
        ),
        (TaskState(task_arn(1), "RUNNING", "RUNNING"), Outcome.NOT_DRAINING),
    ],
)
def test_given_task_no_longer_draining_when_decided_then_close_with_who_stopped_it(
    task: TaskState, outcome: Outcome
) -> None:
    assert decide(seen(task=task), LIMITS, NOW, PLENTY) == Close(record(), outcome, task)


# -- the service ---------------------------------------------------------------------------------


def test_given_service_lookup_failed_when_decided_then_lookup_failed_with_its_error() -> None:
    error = PermanentAwsError("AccessDenied")

    decision = decide(seen(service=error), LIMITS, NOW, PLENTY)

    assert decision == LookupFailed(record(), "DescribeServices", error)


def test_given_service_not_looked_up_when_decided_then_lookup_failed_not_found() -> None:
    decision = decide(seen(service=None), LIMITS, NOW, PLENTY)

    assert isinstance(decision, LookupFailed)
    assert decision.what == "DescribeServices"
    assert isinstance(decision.error, NotFoundError)


def test_given_service_opted_out_when_decided_then_close_as_opted_out() -> None:
    opted_out = snapshot(ServicePolicy(enabled=False, wait_seconds=120))

    decision = decide(seen(service=opted_out), LIMITS, NOW, PLENTY)

    assert decision == Close(record(), Outcome.OPTED_OUT, DRAINING)


def test_given_wait_raised_past_now_when_decided_then_release_until_the_new_deadline() -> None:
    raised = snapshot(dataclasses.replace(POLICY, wait_seconds=600))

    decision = decide(seen(service=raised), LIMITS, NOW, PLENTY)

    assert isinstance(decision, Release)
    assert decision.until == T0 + 600
    assert decision.record.wait_seconds == 600
    assert decision.record.due_at == T0 + 600
    assert not decision.deferred
    assert "wait raised" in decision.why


def test_given_wait_raised_but_already_over_when_decided_then_stop_with_the_raised_wait() -> None:
    raised = snapshot(dataclasses.replace(POLICY, wait_seconds=121))

    decision = decide(seen(service=raised), LIMITS, NOW, PLENTY)

    assert isinstance(decision, Stop)
    assert decision.record.wait_seconds == 121
    assert decision.reason == stop_reason(121)


@pytest.mark.parametrize("early_by", [0.001, 1.0, 120.0])
def test_given_record_handed_over_before_its_deadline_when_decided_then_release_never_stop(
    early_by: float,
) -> None:
    # The claim hands over only due records; decide() keeps the rule on its own as well.
    now = T0 + 120 - early_by

    decision = decide(seen(), LIMITS, now, PLENTY)

    assert decision == Release(record(), T0 + 120, "stop not sent: too early")


def test_given_deadline_reached_exactly_when_decided_then_stop() -> None:
    at_deadline = seen(described_at=T0 + 120, service=snapshot(read_at=T0 + 120))

    assert isinstance(decide(at_deadline, LIMITS, T0 + 120, PLENTY), Stop)


# -- the guards ----------------------------------------------------------------------------------


def test_given_guards_not_checked_when_decided_then_check_guards_with_policy_and_service() -> None:
    decision = decide(seen(guards=None), LIMITS, NOW, PLENTY)

    assert decision == CheckGuards(record(), POLICY, INFO)


def test_given_guards_not_checked_and_wait_raised_when_decided_then_checked_on_raised_record() -> (
    None
):
    raised = dataclasses.replace(POLICY, wait_seconds=121)

    decision = decide(seen(guards=None, service=snapshot(raised)), LIMITS, NOW, PLENTY)

    assert isinstance(decision, CheckGuards)
    assert decision.record.wait_seconds == 121


def test_given_guard_read_failed_when_decided_then_lookup_failed_for_the_guard() -> None:
    error = NotFoundError("target group gone")

    decision = decide(seen(guards=error), LIMITS, NOW, PLENTY)

    assert decision == LookupFailed(record(), "guard", error)


def test_given_guard_deferral_when_decided_then_release_deferred_until_it_ends() -> None:
    deferral = Deferral(NOW + 15, "1 healthy target(s) in web-a, need 2")

    decision = decide(seen(guards=deferral), LIMITS, NOW, PLENTY)

    assert decision == Release(record(), NOW + 15, deferral.reason, deferred=True)


# -- dry run -------------------------------------------------------------------------------------


def test_given_run_in_dry_run_when_decided_then_dry_run_not_stop() -> None:
    limits = dataclasses.replace(LIMITS, dry_run=True)

    assert decide(seen(), limits, NOW, PLENTY) == DryRun(record(), DRAINING)


def test_given_service_tagged_dry_run_when_decided_then_dry_run_not_stop() -> None:
    dry = snapshot(dataclasses.replace(POLICY, dry_run=True))

    assert decide(seen(service=dry), LIMITS, NOW, PLENTY) == DryRun(record(), DRAINING)


def test_given_dry_run_and_guard_deferral_when_decided_then_the_deferral_wins() -> None:
    limits = dataclasses.replace(LIMITS, dry_run=True)
    deferral = Deferral(NOW + 30, "max 2 stop(s) per minute for the service")

    decision = decide(seen(guards=deferral), limits, NOW, PLENTY)

    assert isinstance(decision, Release)
    assert decision.deferred


# -- freshness and safety before the stop ---------------------------------------------------------


def test_given_task_state_older_than_its_bound_when_decided_then_describe_again() -> None:
    stale = seen(described_at=NOW - 2.5)

    assert decide(stale, LIMITS, NOW, PLENTY) == DescribeAgain(record())


def test_given_state_still_old_after_describing_again_when_decided_then_release_not_stop() -> None:
    stale = seen(described_at=NOW - 2.5, described_again=True)

    decision = decide(stale, LIMITS, NOW, PLENTY)

    assert decision == Release(
        record(), record().due_at, "stop not sent: the task state is too old"
    )


def test_given_fresh_state_after_describing_again_when_decided_then_stop() -> None:
    fresh = seen(described_at=NOW - 0.1, described_again=True)

    assert isinstance(decide(fresh, LIMITS, NOW, PLENTY), Stop)


@pytest.mark.parametrize(
    ("facts", "time_left", "why"),
    [
        (
            seen(record=record(lease_until=NOW + LEASE_MARGIN_SECONDS - 0.1)),
            PLENTY,
            "the lease would expire before StopTask could finish",
        ),
        (
            seen(record=record(lease_until=None)),
            PLENTY,
            "the lease would expire before StopTask could finish",
        ),
        (seen(service=snapshot(read_at=NOW - 5.1)), PLENTY, "the service's tags are too old"),
        (seen(), UNIT_SECONDS - 0.1, "the invocation has too little time left"),
    ],
    ids=["lease-short", "no-lease", "tags-old", "no-time"],
)
def test_given_stop_would_be_unsafe_when_decided_then_release_at_the_same_due_time(
    facts: Seen, time_left: float, why: str
) -> None:
    decision = decide(facts, LIMITS, NOW, time_left)

    # Lacking the time, the run also hands over to a new run (which has it).
    hand_over = time_left < PLENTY
    assert decision == Release(
        facts.record, facts.record.due_at, "stop not sent: " + why, hand_over=hand_over
    )


def test_given_facts_exactly_at_their_bounds_when_decided_then_stop() -> None:
    edge = seen(
        record=record(lease_until=NOW + LEASE_MARGIN_SECONDS),
        described_at=NOW - 2.0,
        service=snapshot(read_at=NOW - 5.0),
    )

    assert isinstance(decide(edge, LIMITS, NOW, UNIT_SECONDS), Stop)


# -- stop causes ---------------------------------------------------------------------------------

SCALING = "Scaling activity initiated by (deployment ecs-svc/1)"


@pytest.mark.parametrize(
    ("stop_code", "reason"),
    [
        pytest.param("ServiceSchedulerInitiated", SCALING, id="deployment"),
        pytest.param(
            "ServiceSchedulerInitiated",
            "Service web: container instance is in DRAINING state",
            id="instance-draining",
        ),
        pytest.param(
            "ServiceSchedulerInitiated", "Task failed container health checks", id="unhealthy"
        ),
        pytest.param("UserInitiated", "Task stopped by user", id="user"),
        pytest.param(None, None, id="no-reason"),
    ],
)
def test_given_a_cause_that_is_shortened_when_due_then_stopped(
    stop_code: str | None, reason: str | None
) -> None:
    task = TaskState(task_arn(1), "DEACTIVATING", "STOPPED", reason, stop_code)

    assert isinstance(decide(seen(task=task), LIMITS, NOW, PLENTY), Stop)


@pytest.mark.parametrize("stop_code", ["SpotInterruption", "TerminationNotice"])
def test_given_spot_interruption_shown_now_when_due_then_closed_not_shortened_and_never_stopped(
    stop_code: str,
) -> None:
    # Spot reclaimed a task whose drain was recorded: it got SIGTERM and stays registered
    # until STOPPED, so a StopTask would only carry a false reason.
    task = TaskState(
        task_arn(1), "RUNNING", "STOPPED", "Your Spot Task was interrupted.", stop_code
    )

    decision = decide(seen(task=task, guards=None), LIMITS, NOW, PLENTY)

    assert decision == Close(record(cause="spot-interruption"), Outcome.NOT_SHORTENED, task)


def test_given_service_lost_its_load_balancer_when_due_then_closed_without_guards() -> None:
    bare = dataclasses.replace(INFO, load_balanced=False)
    service = ServiceSnapshot(bare, POLICY, NOW - 1)

    decision = decide(seen(service=service, guards=None), LIMITS, NOW, PLENTY)

    # Closed before CheckGuards: no DescribeTargetHealth for a service without a group.
    assert decision == Close(record(cause="no-target-group"), Outcome.NOT_SHORTENED, DRAINING)


def test_given_unhealthy_task_and_tag_leave_when_due_then_closed_not_shortened() -> None:
    task = TaskState(
        task_arn(1), "DEACTIVATING", "STOPPED", "Task failed ELB health checks in (elb web)"
    )
    policy = dataclasses.replace(POLICY, unhealthy=UnhealthyAction.LEAVE)

    decision = decide(seen(task=task, service=snapshot(policy)), LIMITS, NOW, PLENTY)

    assert decision == Close(record(cause="health-check"), Outcome.NOT_SHORTENED, task)


def test_given_recorded_cause_and_no_reason_shown_now_when_due_then_recorded_cause_applies() -> (
    None
):
    policy = dataclasses.replace(POLICY, unhealthy=UnhealthyAction.LEAVE)
    unhealthy = record(cause="health-check")

    decision = decide(seen(record=unhealthy, service=snapshot(policy)), LIMITS, NOW, PLENTY)

    assert decision == Close(unhealthy, Outcome.NOT_SHORTENED, DRAINING)
