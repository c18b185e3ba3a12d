"""Stop steps taken by a sweeper run over fakes: escalation timing, once per step, leases,
every signal outcome, a run that dies during a signal."""

from __future__ import annotations

import itertools

import pytest

from serverless.domain.actions import SENT, STARTED, UNAVAILABLE
from serverless.domain.errors import AwsUnavailableError, PermanentAwsError
from serverless.domain.model import Outcome, RecordStatus, StopAction
from serverless.domain.signals import Missing, SignalOutcome, SignalTarget
from serverless.observability import metrics
from serverless.sweep.timing import CLOCK_SKEW_SECONDS
from tests.support.clock import ManualClock
from tests.support.emf import emf_metrics
from tests.support.fakes import FakeSignalPort
from tests.support.sweeping import OPTED_IN, Harness

INSTANCE = "arn:aws:ecs:us-east-1:111122223333:container-instance/prod/0abc"


def counted(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, float], str]:
    """The metrics the runs so far added (summed by name), and everything printed."""
    metrics.flush_metrics()
    out = capsys.readouterr().out
    return {name: sum(values) for name, values in emf_metrics(out).items()}, out


def harness(
    clock: ManualClock,
    action: StopAction | None,
    *,
    exec_outcomes: tuple[SignalOutcome, ...] = (),
    ssm: bool = False,
    tags: dict[str, str] | None = None,
    **settings: object,
) -> tuple[Harness, FakeSignalPort, FakeSignalPort]:
    """A harness whose 'web' service uses ``action`` (None: no tag), in the world where a
    StopTask on a draining task changes nothing (``stops_take_effect=False``)."""
    metrics.clear_metrics()
    h = Harness(clock, exec_enabled=True, ssm_signal_enabled=ssm, **settings)
    service_tags = dict(OPTED_IN)
    if action is not None:
        service_tags["drain-terminator:stop-action"] = str(action)
    service_tags.update(tags or {})
    h.ecs.add_service("web", service_tags, lb_container="app")
    h.ecs.stops_take_effect = False
    exec_port = FakeSignalPort(h.ecs, StopAction.EXEC, outcomes=list(exec_outcomes))
    ssm_port = FakeSignalPort(h.ecs, StopAction.SSM_SIGNAL)
    h.signals[StopAction.EXEC] = exec_port
    if ssm:
        h.signals[StopAction.SSM_SIGNAL] = ssm_port
    return h, exec_port, ssm_port


# -- stop-task-then-exec: the escalation's timing -------------------------------------------


def test_given_stoptask_ignored_when_still_draining_after_escalate_after_then_exec_once(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.STOP_TASK_THEN_EXEC)
    task = h.drain(1, h.now - 110)  # due in 10 s, inside the run's horizon

    report = h.run()

    [stop_at] = h.stop_times(task)
    assert stop_at >= h.record(task).deadline  # never early
    [call] = exec_port.calls
    assert call.at == pytest.approx(stop_at + 20.0)  # escalate_after, not before
    assert call.target == SignalTarget(h.record(task).cluster_arn, task, "app")
    assert report.escalated == [task]
    record = h.record(task)
    assert record.status is RecordStatus.STOP_REQUESTED
    assert [(a.action, a.outcome) for a in record.actions] == [
        (StopAction.STOP_TASK, SENT),
        (StopAction.EXEC, "SIGNALLED"),
    ]
    assert record.stop_requested_at == stop_at

    clock.advance(61)
    h.run(run_id="run-2")
    closed = h.record(task)
    assert closed.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert closed.stopped_by is StopAction.EXEC
    assert len(exec_port.calls) == 1
    assert len(h.stop_times(task)) == 1


def test_given_escalate_after_setting_when_escalating_then_that_many_seconds_later(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.STOP_TASK_THEN_EXEC, escalate_after_seconds=7)
    task = h.drain(1, h.now - 120)

    h.run()

    assert exec_port.calls[0].at - h.stop_times(task)[0] == pytest.approx(7.0)


def test_given_stoptask_effective_when_escalation_due_then_confirmed_without_exec(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.STOP_TASK_THEN_EXEC)
    h.ecs.stops_take_effect = True
    task = h.drain(1, h.now - 120)

    report = h.run()

    assert exec_port.calls == []
    assert report.escalated == []
    record = h.record(task)
    assert record.status is RecordStatus.CLOSED
    assert record.outcome is Outcome.STOPPED_BY_TERMINATOR
    assert record.stopped_by is StopAction.STOP_TASK


def test_given_exec_enabled_when_service_names_no_action_then_stop_task_then_exec(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, None)
    task = h.drain(1, h.now - 120)

    h.run()

    assert h.record(task).plan == (StopAction.STOP_TASK, StopAction.EXEC)
    assert len(exec_port.calls) == 1


def test_given_exec_enabled_in_settings_but_no_port_when_due_then_stop_task_only(
    clock: ManualClock,
) -> None:
    h, _, _ = harness(clock, StopAction.EXEC)
    h.signals.clear()
    task = h.drain(1, h.now - 120)

    h.run()

    assert h.record(task).plan == (StopAction.STOP_TASK,)
    assert len(h.stop_times(task)) == 1


def test_given_escalations_when_run_then_metrics_say_which_action_did_what(
    clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    h, _, _ = harness(clock, StopAction.STOP_TASK_THEN_EXEC)
    h.drain(1, h.now - 120)
    h.run()
    clock.advance(61)
    h.run(run_id="run-2")

    counts, _ = counted(capsys)
    assert counts["StopTasksSent"] == 1
    assert counts["StopEscalations"] == 1
    assert counts["ExecSignalsSent"] == 1
    assert counts["TasksStopped"] == 1  # the early stop, counted once
    assert counts["StopsConfirmed"] == 1
    assert counts["StoppedByExec"] == 1
    assert "StoppedByStopTask" not in counts


# -- exec: every outcome ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "outcome",
    [
        SignalOutcome.COMMAND_FAILED,
        SignalOutcome.REFUSED,
        SignalOutcome.TIMED_OUT,
        SignalOutcome.SESSION_FAILED,
    ],
)
def test_given_exec_fails_when_no_step_left_then_closed_stop_failed_never_retried(
    clock: ManualClock, capsys: pytest.CaptureFixture[str], outcome: SignalOutcome
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC, exec_outcomes=(outcome,))
    task = h.drain(1, h.now - 120)

    report = h.run()
    clock.advance(600)
    h.run(run_id="run-2")

    assert len(exec_port.calls) == 1
    assert h.stop_times(task) == []
    assert report.failed == [task]
    record = h.record(task)
    assert record.outcome is Outcome.STOP_FAILED
    assert [(a.action, a.outcome) for a in record.actions] == [(StopAction.EXEC, outcome.value)]
    counts, _ = counted(capsys)
    assert counts["StopsFailed"] == 1
    assert counts["ExecsFailed"] == 1


def test_given_exec_prerequisite_missing_when_due_then_counted_logged_left_to_ecs_once(
    clock: ManualClock, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    h, exec_port, _ = harness(
        clock, StopAction.EXEC, exec_outcomes=(SignalOutcome.PREREQUISITE_MISSING,)
    )
    exec_port.missing = Missing.EXEC_NOT_ENABLED
    task = h.drain(1, h.now - 120)

    h.run()
    clock.advance(600)
    h.run(run_id="run-2")

    assert len(exec_port.calls) == 1
    record = h.record(task)
    assert record.status is RecordStatus.CLOSED
    assert record.outcome is Outcome.PREREQUISITE_MISSING
    assert record.actions[0].missing == "EXEC_NOT_ENABLED"
    counts, _ = counted(capsys)
    assert counts["StopPrerequisitesMissing"] == 1
    assert "StopsFailed" not in counts
    [line] = [r for r in caplog.records if "is missing" in r.getMessage()]
    assert line.levelname == "ERROR"
    assert line.getMessage().startswith("exec cannot be taken: EXEC_NOT_ENABLED is missing")


def test_given_exec_unconfirmed_when_task_stops_then_confirmed_by_describe_tasks(
    clock: ManualClock,
) -> None:
    h, _exec_port, _ = harness(clock, StopAction.EXEC, exec_outcomes=(SignalOutcome.UNCONFIRMED,))
    task = h.drain(1, h.now - 120)

    h.run()
    assert h.record(task).status is RecordStatus.STOP_REQUESTED
    clock.advance(61)
    h.run(run_id="run-2")

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR
    assert h.record(task).stopped_by is StopAction.EXEC


def test_given_exec_unconfirmed_when_task_keeps_draining_then_unconfirmed(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC, exec_outcomes=(SignalOutcome.UNCONFIRMED,))
    exec_port.ends_task = False
    task = h.drain(1, h.now - 120)

    h.run()
    clock.advance(61)
    h.run(run_id="run-2")

    assert h.record(task).outcome is Outcome.UNCONFIRMED
    assert len(exec_port.calls) == 1


def test_given_task_gone_when_exec_then_closed_task_gone(clock: ManualClock) -> None:
    h, _, _ = harness(clock, StopAction.EXEC, exec_outcomes=(SignalOutcome.TASK_GONE,))
    task = h.drain(1, h.now - 120)

    h.run()

    assert h.record(task).outcome is Outcome.TASK_GONE


def test_given_task_gone_at_escalation_when_stoptask_was_sent_then_stopped_by_us(
    clock: ManualClock,
) -> None:
    h, _, _ = harness(
        clock, StopAction.STOP_TASK_THEN_EXEC, exec_outcomes=(SignalOutcome.TASK_GONE,)
    )
    task = h.drain(1, h.now - 120)

    h.run()

    assert h.record(task).outcome is Outcome.STOPPED_BY_TERMINATOR


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (AwsUnavailableError("ExecuteCommand: throttled"), UNAVAILABLE),
        (PermanentAwsError("ExecuteCommand: odd"), "REFUSED"),
    ],
)
def test_given_port_raises_when_exec_then_recorded_failed_not_retried(
    clock: ManualClock, error: Exception, recorded: str
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    exec_port.raises = error
    task = h.drain(1, h.now - 120)

    h.run()
    clock.advance(600)
    h.run(run_id="run-2")

    assert len(exec_port.calls) == 1
    record = h.record(task)
    assert record.outcome is Outcome.STOP_FAILED
    assert record.actions[0].outcome == recorded


# -- the ssm-signal fallback -------------------------------------------------------------------


def test_given_exec_missing_on_ec2_with_ssm_fallback_then_ssm_signal_at_once(
    clock: ManualClock,
) -> None:
    h, exec_port, ssm_port = harness(
        clock,
        StopAction.STOP_TASK_THEN_EXEC,
        exec_outcomes=(SignalOutcome.PREREQUISITE_MISSING,),
        ssm=True,
        tags={"drain-terminator:ssm-fallback": "true"},
    )
    task = h.drain(1, h.now - 120)
    h.ecs.set_task(task, "DEACTIVATING", "STOPPED", container_instance_arn=INSTANCE)

    h.run()

    record = h.record(task)
    assert record.plan == (StopAction.STOP_TASK, StopAction.EXEC, StopAction.SSM_SIGNAL)
    assert [a.action for a in record.actions] == list(record.plan)
    assert len(exec_port.calls) == 1
    assert len(ssm_port.calls) == 1
    assert ssm_port.calls[0].at == pytest.approx(exec_port.calls[0].at)  # no wait after a failure
    clock.advance(61)
    h.run(run_id="run-2")
    assert h.record(task).stopped_by is StopAction.SSM_SIGNAL


def test_given_ssm_fallback_without_tag_when_exec_fails_then_no_ssm_signal(
    clock: ManualClock,
) -> None:
    h, _, ssm_port = harness(
        clock, StopAction.EXEC, exec_outcomes=(SignalOutcome.REFUSED,), ssm=True
    )
    task = h.drain(1, h.now - 120)
    h.ecs.set_task(task, "DEACTIVATING", "STOPPED", container_instance_arn=INSTANCE)

    h.run()

    assert ssm_port.calls == []
    assert h.record(task).outcome is Outcome.STOP_FAILED


# -- never twice, lease and time bounds --------------------------------------------------------


def test_given_signal_in_flight_then_lease_outlives_the_ports_time_bound(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    exec_port.bound = 84.0
    task = h.drain(1, h.now - 120)
    seen: list[tuple[float, float | None, str]] = []

    def check(target: SignalTarget) -> None:
        stored = h.record(target.task_arn)
        seen.append((h.now, stored.lease_until, stored.actions[-1].outcome))

    exec_port.on_call = check

    h.run()

    [(at, lease_until, outcome)] = seen
    assert outcome == STARTED  # written before the call
    assert lease_until is not None
    assert lease_until >= at + 84.0 + CLOCK_SKEW_SECONDS
    assert h.record(task).lease_until is None  # released after


class _Killed(BaseException):
    """The invocation dies (Lambda timeout, crash) while the signal is in flight."""


def test_given_run_dies_during_exec_when_rerun_then_exec_never_sent_twice(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    exec_port.ends_task = False
    task = h.drain(1, h.now - 120)

    def die(_: SignalTarget) -> None:
        raise _Killed

    exec_port.on_call = die
    with pytest.raises(_Killed):
        h.run()
    exec_port.on_call = None

    for n in range(2, 6):
        clock.advance(60)
        h.run(run_id=f"run-{n}")

    assert len(exec_port.calls) == 1
    record = h.record(task)
    assert record.status is RecordStatus.CLOSED
    assert record.outcome is Outcome.UNCONFIRMED  # still draining: left to ECS, counted


def test_given_too_little_invocation_left_for_the_exec_bound_then_not_started(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(clock, StopAction.EXEC)
    exec_port.bound = 500.0  # longer than the invocation
    task = h.drain(1, h.now - 120)

    h.run(timeout=180.0)

    assert exec_port.calls == []
    assert h.record(task).status is RecordStatus.DRAINING
    assert h.record(task).actions == ()


def test_given_stagger_guard_when_escalating_then_escalation_takes_a_slot_too(
    clock: ManualClock,
) -> None:
    h, exec_port, _ = harness(
        clock,
        StopAction.STOP_TASK_THEN_EXEC,
        tags={"drain-terminator:max-stops-per-minute": "1"},
    )
    first = h.drain(1, h.now - 120)
    second = h.drain(2, h.now - 120)

    h.run()
    h.run(run_id="run-2")  # the stagger pushed the rest past the first run

    stops = sorted(s.at for s in h.ecs.stops)
    execs = sorted(c.at for c in exec_port.calls)
    moments = sorted(stops + execs)
    assert len(stops) == 2  # both tasks got their first step
    assert len(execs) >= 1  # and escalations took slots of their own
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    assert all(gap >= 60.0 - 1e-6 for gap in gaps), moments
    assert {c.target.task_arn for c in exec_port.calls} <= {first, second}
    assert len(exec_port.calls) == len({c.target.task_arn for c in exec_port.calls})
