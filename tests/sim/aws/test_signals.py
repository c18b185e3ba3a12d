"""The signal paths on the embedded AWS: the functions' own exec and ssm-signal adapters
against the simulated ECS Exec agent and SSM Run Command, with every injected fault."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

from serverless.adapters.exec_signal import ExecSignalAdapter
from serverless.adapters.ssm_signal import SsmSignalAdapter
from serverless.domain.signals import Missing, SignalCommand, SignalOutcome, SignalTarget
from sim.aws.clients import botocore_work_kept, client
from sim.aws.ecs.model import ESSENTIAL_CONTAINER_EXITED, Task, WorldRules
from sim.aws.embedded import AwsInterceptor
from sim.aws.lambda_runtime import LambdaKilled
from sim.aws.model_api import serve_model
from sim.aws.signals import ExecAgent, Latencies, RunCommandAgent, SignalFaults, serve_signals
from sim.engine.loop import SimClock
from sim.engine.observe import Kind
from sim.scenarios import ServiceSpec, TargetGroupSpec
from tests.sim.conftest import REGION, ModelWorld, build_world


@dataclass
class Paths:
    world: ModelWorld
    exec_agent: ExecAgent
    run_command: RunCommandAgent
    exec_port: ExecSignalAdapter
    ssm_port: SsmSignalAdapter


@pytest.fixture
def make_paths() -> Iterator[Any]:
    with mock_aws(), botocore_work_kept():

        def make(faults: SignalFaults | None = None, rules: WorldRules | None = None) -> Paths:
            world = build_world(rules=rules)
            interceptor = AwsInterceptor(world.loop, world.log)
            serve_model(interceptor, world.model)
            rng = random.Random(7)
            exec_agent = ExecAgent(world.loop, world.log, world.model, rng=rng, faults=faults)
            run_command = RunCommandAgent(
                world.loop, world.log, world.model, rng=rng, faults=faults
            )
            serve_signals(interceptor, exec_agent, run_command)
            # The functions' own client configuration, made the way the simulator does.
            ecs, ssm = client(interceptor, "ecs", REGION), client(interceptor, "ssm", REGION)
            return Paths(
                world,
                exec_agent,
                run_command,
                ExecSignalAdapter(ecs, ssm, session_runner=exec_agent.run_session),
                SsmSignalAdapter(ecs, ssm, clock=SimClock(world.loop)),
            )

        yield make


def _draining(world: ModelWorld, **spec: Any) -> Task:
    service = world.add(
        ServiceSpec(
            "web",
            desired_count=2,
            target_groups=(TargetGroupSpec("web", deregistration_delay=300),),
            **spec,
        )
    )
    world.deploy(service)
    world.loop.run(stop=lambda: any(t.draining for t in service.tasks))
    return next(t for t in service.tasks if t.draining)


def _target(task: Task, container: str = "web") -> SignalTarget:
    return SignalTarget(task.service.cluster_arn, task.arn, container)


def _stopped(paths: Paths, task: Task) -> None:
    paths.world.loop.run(stop=lambda: task.last_status == "STOPPED")


def test_given_exec_enabled_when_the_exec_port_signals_a_draining_task_then_the_agent_stops_it(
    make_paths: Any,
) -> None:
    paths = make_paths(rules=WorldRules(stoptask_on_draining="ignored"))
    task = _draining(paths.world, enable_execute_command=True)
    began = paths.world.loop.now

    result = paths.exec_port.signal(_target(task), SignalCommand())

    assert result.outcome is SignalOutcome.SIGNALLED
    assert result.exit_status == 0
    assert task.signalled_at is not None
    # The assumed session set-up (p99 3 s) and the command (0.1 s) took virtual time.
    assert 0.0 < task.signalled_at - began < Latencies().session_setup.p99 * 3
    assert paths.exec_agent.counts() == {
        "opened": 1, "closed": 1, "terminated": 0, "abandoned": 0, "left_open": 0,
    }  # fmt: skip
    _stopped(paths, task)
    assert (task.stopped_by, task.stopped_with) == ("terminator", "exec")
    assert task.stop_code == ESSENTIAL_CONTAINER_EXITED
    [request] = paths.world.log.of_kind(Kind.SIGNAL_REQUEST)
    assert (request.data["action"], request.data["accepted"]) == ("exec", True)


def test_given_exec_not_enabled_when_signalled_then_a_prerequisite_is_missing_and_no_session(
    make_paths: Any,
) -> None:
    paths = make_paths()
    task = _draining(paths.world)

    result = paths.exec_port.signal(_target(task), SignalCommand())

    assert result.outcome is SignalOutcome.PREREQUISITE_MISSING
    assert result.missing is Missing.EXEC_NOT_ENABLED
    assert paths.exec_agent.counts()["opened"] == 0
    assert task.signalled_at is None


def test_given_ecs_refuses_exec_on_a_stopping_task_when_signalled_then_refused_and_no_session(
    make_paths: Any,
) -> None:
    paths = make_paths(
        rules=WorldRules(stoptask_on_draining="ignored", exec_refused_when_stopping=True)
    )
    task = _draining(paths.world, enable_execute_command=True)

    result = paths.exec_port.signal(_target(task), SignalCommand())

    assert result.outcome is SignalOutcome.REFUSED
    assert "undocumented" in result.detail
    assert paths.exec_agent.counts()["opened"] == 0
    [request] = paths.world.log.of_kind(Kind.SIGNAL_REQUEST)
    assert request.data["accepted"] is False


def test_given_a_container_not_in_the_task_when_signalled_then_refused(make_paths: Any) -> None:
    paths = make_paths()
    task = _draining(paths.world, enable_execute_command=True)

    result = paths.exec_port.signal(_target(task, "sidecar"), SignalCommand())

    assert result.outcome is SignalOutcome.REFUSED
    assert task.signalled_at is None


@pytest.mark.parametrize(
    ("faults", "outcome", "missing", "ended"),
    [
        (SignalFaults(dropped=1.0), SignalOutcome.SESSION_FAILED, None, "terminated"),
        (
            SignalFaults(exit_127=1.0),
            SignalOutcome.PREREQUISITE_MISSING,
            Missing.PROGRAM_MISSING,
            "closed",
        ),
        (SignalFaults(timeout=1.0), SignalOutcome.TIMED_OUT, None, "terminated"),
        (SignalFaults(refused=1.0), SignalOutcome.SESSION_FAILED, None, "terminated"),
    ],
    ids=["dropped", "exit-127", "timeout", "refused"],
)
def test_given_an_exec_fault_when_signalled_then_a_clear_outcome_no_signal_and_no_open_session(
    make_paths: Any,
    faults: SignalFaults,
    outcome: SignalOutcome,
    missing: Missing | None,
    ended: str,
) -> None:
    paths = make_paths(faults=faults)
    task = _draining(paths.world, enable_execute_command=True)
    began = paths.world.loop.now

    result = paths.exec_port.signal(_target(task), SignalCommand())

    assert (result.outcome, result.missing) == (outcome, missing)
    assert task.signalled_at is None
    counts = paths.exec_agent.counts()
    assert counts["opened"] == counts[ended] == 1
    assert counts["left_open"] == 0
    # Bounded in (virtual) time by the adapter's own session limits.
    assert paths.world.loop.now - began <= paths.exec_port.time_bound


def test_given_faults_that_cleared_when_signalled_then_none_is_injected(make_paths: Any) -> None:
    paths = make_paths(faults=SignalFaults(dropped=1.0, until=0.0))
    task = _draining(paths.world, enable_execute_command=True)

    result = paths.exec_port.signal(_target(task), SignalCommand())

    assert result.outcome is SignalOutcome.SIGNALLED
    assert paths.exec_agent.injected == {}


def test_given_the_function_killed_mid_session_when_counted_then_the_session_is_abandoned(
    make_paths: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = make_paths()
    task = _draining(paths.world, enable_execute_command=True)

    def killed(_: float) -> None:
        raise LambdaKilled("killed mid-session")

    monkeypatch.setattr(paths.world.loop, "sleep", killed)
    with pytest.raises(LambdaKilled):
        paths.exec_port.signal(_target(task), SignalCommand())

    assert paths.exec_agent.counts()["abandoned"] == 1
    assert paths.exec_agent.counts()["left_open"] == 0


def test_given_an_ec2_task_when_the_ssm_port_signals_it_then_docker_kill_stops_it(
    make_paths: Any,
) -> None:
    paths = make_paths(rules=WorldRules(stoptask_on_draining="ignored"))
    task = _draining(paths.world, launch_type="EC2")

    result = paths.ssm_port.signal(_target(task), SignalCommand())

    assert result.outcome is SignalOutcome.SIGNALLED
    _stopped(paths, task)
    assert (task.stopped_by, task.stopped_with) == ("terminator", "ssm-signal")
    assert task.stop_code == ESSENTIAL_CONTAINER_EXITED
    calls = [o.subject for o in paths.world.log.of_kind(Kind.AWS_CALL)]
    assert calls.count("ssm.SendCommand") == 1
    assert calls.count("ssm.GetCommandInvocation") >= 1


def test_given_a_fargate_task_when_the_ssm_port_signals_it_then_it_needs_ec2(
    make_paths: Any,
) -> None:
    paths = make_paths()
    task = _draining(paths.world)

    result = paths.ssm_port.signal(_target(task), SignalCommand())

    assert (result.outcome, result.missing) == (SignalOutcome.PREREQUISITE_MISSING, Missing.NOT_EC2)


@pytest.mark.parametrize(
    ("faults", "outcome", "missing"),
    [
        (SignalFaults(exit_127=1.0), SignalOutcome.PREREQUISITE_MISSING, Missing.PROGRAM_MISSING),
        (SignalFaults(timeout=1.0), SignalOutcome.TIMED_OUT, None),
        (SignalFaults(dropped=1.0), SignalOutcome.TIMED_OUT, None),
        (SignalFaults(refused=1.0), SignalOutcome.PREREQUISITE_MISSING, Missing.SSM_NOT_MANAGED),
    ],
    ids=["exit-127", "timeout", "dropped", "refused"],
)
def test_given_an_ssm_fault_when_signalled_then_a_clear_outcome_and_no_signal(
    make_paths: Any, faults: SignalFaults, outcome: SignalOutcome, missing: Missing | None
) -> None:
    paths = make_paths(faults=faults)
    task = _draining(paths.world, launch_type="EC2")
    began = paths.world.loop.now

    result = paths.ssm_port.signal(_target(task), SignalCommand())

    assert (result.outcome, result.missing) == (outcome, missing)
    assert task.signalled_at is None
    assert paths.world.loop.now - began <= paths.ssm_port.time_bound
    pending = [c for c in paths.run_command.commands.values() if c.status == "InProgress"]
    assert not pending  # a command that never ended was cancelled


def test_given_fault_rates_above_one_when_built_then_refused() -> None:
    with pytest.raises(ValueError, match="fault rates"):
        SignalFaults(dropped=0.6, timeout=0.6)
