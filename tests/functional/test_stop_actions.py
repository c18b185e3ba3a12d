"""Stop actions through the handlers on moto (DynamoDB ledger, ECS), with a fake signal port:
every signal outcome, the escalation in a world where StopTask on a draining task changes
nothing, and records that say which action did what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from handlers import sweeper, task_events
from serverless import app as app_module
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.model import StopAction
from serverless.domain.signals import (
    Missing,
    SignalCommand,
    SignalOutcome,
    SignalResult,
    SignalTarget,
)
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import World

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
P = "drain-terminator:"


@dataclass
class MotoSignalPort:
    """A signal port over the moto world: a delivered signal ends the container, so the
    agent stops the task (moto: straight to STOPPED)."""

    world: World
    action: StopAction
    outcome: SignalOutcome = SignalOutcome.SIGNALLED
    missing: Missing | None = None
    raises: Exception | None = None
    calls: list[tuple[SignalTarget, SignalCommand, float]] = field(default_factory=list)

    @property
    def time_bound(self) -> float:
        return 84.0

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        self.calls.append((target, command, self.world.clock.now()))
        if self.raises is not None:
            raise self.raises
        if self.outcome.delivered:
            self.world.set_task(
                target.task_arn, "STOPPED", "STOPPED", "Essential container in task exited"
            )
        return SignalResult(
            action=str(self.action),
            outcome=self.outcome,
            elapsed=0.4,
            exit_status=0 if self.outcome is SignalOutcome.SIGNALLED else None,
            missing=self.missing,
            detail=f"moto {self.action}: {self.outcome}",
            reference="ecs-execute-command-0123",
        )


def sweep(world: World, request_id: str = "run-1") -> dict[str, Any]:
    context = FakeContext(world.clock, 180.0, request_id)
    return sweeper.handler(SCHEDULED, context)  # type: ignore[arg-type]


def setup(
    world: World, action: StopAction, outcome: SignalOutcome = SignalOutcome.SIGNALLED
) -> tuple[MotoSignalPort, str]:
    """'web' opted in with ``action`` (load balancer container 'web'), exec wired; one task
    whose drain began 130 s ago (due 10 s ago)."""
    app_module.reset()
    port = MotoSignalPort(world, StopAction.EXEC, outcome)
    world.install_app(signals={StopAction.EXEC: port}, exec_enabled=True)
    tg = world.target_group("web-tg", healthy=2)
    world.add_service(
        "api", {P + "enabled": "true", P + "stop-action": str(action)}, 2, target_groups=(tg,)
    )
    task = world.start_task("api")
    world.set_task(task, "DEACTIVATING", "STOPPED")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, world.clock.now() - 130, service="api")
    result = task_events.handler(event, FakeContext(world.clock))  # type: ignore[arg-type]
    assert result["action"] == "tracked"
    return port, task


def test_given_stoptask_ignored_when_stop_task_then_exec_then_exec_stops_it_early(
    world: World, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    world.stop_takes_effect = False
    port, task = setup(world, StopAction.STOP_TASK_THEN_EXEC)

    report = sweep(world)

    assert [s.task_arn for s in world.stops] == [task]
    [(target, command, at)] = port.calls
    assert at == pytest.approx(world.stops[0].at + 20.0)
    assert target.container_name == "web"  # the load balancer's container
    assert command.shell_command == "kill -TERM 1"
    assert report["escalated"] == [task]
    stored = world.record(task)
    assert stored is not None
    assert [a["M"]["action"]["S"] for a in stored["actions"]] == ["stop-task", "exec"]
    assert stored["plan"] == [{"S": "stop-task"}, {"S": "exec"}]

    clock.advance(61)
    sweep(world, "run-2")
    closed = world.record(task)
    assert closed is not None
    assert closed["outcome"] == "stopped_by_terminator"
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["StoppedByExec"] == [1.0]
    assert metrics["StopEscalations"] == [1.0]


def test_given_stoptask_effective_when_stop_task_then_exec_then_no_exec(
    world: World, clock: ManualClock
) -> None:
    port, task = setup(world, StopAction.STOP_TASK_THEN_EXEC)

    sweep(world)

    assert port.calls == []
    closed = world.record(task)
    assert closed is not None
    assert closed["outcome"] == "stopped_by_terminator"


@pytest.mark.parametrize(
    ("outcome", "status", "closed_as", "metric"),
    [
        (SignalOutcome.SIGNALLED, "stop_requested", "stopped_by_terminator", "ExecSignalsSent"),
        (SignalOutcome.UNCONFIRMED, "stop_requested", "stopped_by_terminator", "ExecSignalsSent"),
        (SignalOutcome.COMMAND_FAILED, "closed", "stop_failed", "ExecsFailed"),
        (SignalOutcome.REFUSED, "closed", "stop_failed", "ExecsFailed"),
        (SignalOutcome.TIMED_OUT, "closed", "stop_failed", "ExecsFailed"),
        (SignalOutcome.SESSION_FAILED, "closed", "stop_failed", "ExecsFailed"),
        (
            SignalOutcome.PREREQUISITE_MISSING,
            "closed",
            "prerequisite_missing",
            "StopPrerequisitesMissing",
        ),
        (SignalOutcome.TASK_GONE, "closed", "task_gone", "TasksClosedWithoutStop"),
    ],
)
def test_given_exec_outcome_when_swept_then_recorded_counted_and_closed_once(
    world: World,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    outcome: SignalOutcome,
    status: str,
    closed_as: str,
    metric: str,
) -> None:
    port, task = setup(world, StopAction.EXEC, outcome)
    if outcome is SignalOutcome.PREREQUISITE_MISSING:
        port.missing = Missing.AGENT_NOT_CONNECTED

    sweep(world)
    stored = world.record(task)
    assert stored is not None
    assert stored["status"] == status
    [action] = stored["actions"]
    assert action["M"]["outcome"]["S"] == outcome.value
    assert world.stops == []  # exec alone: no StopTask

    clock.advance(120)
    sweep(world, "run-2")
    closed = world.record(task)
    assert closed is not None
    assert closed["outcome"] == closed_as
    assert len(port.calls) == 1
    assert metric in emf_metrics(capsys.readouterr().out)


def test_given_exec_unavailable_when_swept_then_failed_once_not_retried(
    world: World, clock: ManualClock
) -> None:
    port, task = setup(world, StopAction.EXEC)
    port.raises = AwsUnavailableError("ExecuteCommand: ThrottlingException")

    sweep(world)
    clock.advance(120)
    sweep(world, "run-2")

    assert len(port.calls) == 1
    closed = world.record(task)
    assert closed is not None
    assert closed["outcome"] == "stop_failed"
    assert closed["actions"][0]["M"]["outcome"]["S"] == "UNAVAILABLE"


def test_given_service_asks_exec_when_module_has_no_exec_then_stop_task_as_today(
    world: World, clock: ManualClock
) -> None:
    app_module.reset()
    world.install_app()  # no signal ports, exec off
    world.add_service("api", {P + "enabled": "true", P + "stop-action": "exec"})
    task = world.start_task("api")
    world.set_task(task, "DEACTIVATING", "STOPPED")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now() - 130, service="api")
    task_events.handler(event, FakeContext(clock))  # type: ignore[arg-type]

    sweep(world)

    assert [s.task_arn for s in world.stops] == [task]
    stored = world.record(task)
    assert stored is not None
    assert stored["plan"] == [{"S": "stop-task"}]
