"""The signal adapters end to end: ``exec`` (ECS ExecuteCommand stubbed with botocore's
Stubber, since moto does not implement it; the websocket real, to the fake agent) and
``ssm-signal`` (moto's SSM Run Command; ECS stubbed for the runtime id moto lacks)."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from serverless.adapters.exec_signal import EXIT_MARKER, ExecSignalAdapter, container_command
from serverless.adapters.ssm_session import SessionLimits
from serverless.adapters.ssm_signal import (
    DOCUMENT,
    RunCommandLimits,
    SsmSignalAdapter,
    host_script,
)
from serverless.domain.errors import AwsUnavailableError
from serverless.domain.signals import (
    Missing,
    SignalCommand,
    SignalOutcome,
    SignalPort,
    SignalTarget,
)
from tests.support.clock import ManualClock
from tests.support.fake_ssm_agent import Fault, Scenario, fake_agent

REGION = "us-east-1"
CLUSTER = "arn:aws:ecs:us-east-1:111122223333:cluster/web"
TASK = "arn:aws:ecs:us-east-1:111122223333:task/web/0123456789abcdef0123456789abcdef"
INSTANCE_ARN = "arn:aws:ecs:us-east-1:111122223333:container-instance/web/9f8e7d6c5b4a"
RUNTIME_ID = "4f2d0c1b" * 8
COMMAND_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TARGET = SignalTarget(CLUSTER, TASK, "app")
# One attempt per call: a stubbed throttling error is not retried into the next response.
NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})
LIMITS = SessionLimits(
    connect_timeout=2.0,
    handshake_timeout=2.0,
    command_timeout=1.0,
    close_timeout=0.5,
    resend_interval=0.1,
)


def _scenario(**fields: Any) -> Scenario:
    """A fake-agent session whose command prints the exec adapter's exit line."""
    fields.setdefault("exit_marker", EXIT_MARKER.encode())
    return Scenario(**fields)


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION, config=NO_RETRY)


@pytest.fixture
def ecs() -> Iterator[tuple[Any, Stubber]]:
    client = _client("ecs")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ssm() -> Iterator[tuple[Any, Stubber]]:
    client = _client("ssm")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _execute_response(scenario: Scenario, url: str) -> dict[str, Any]:
    return {
        "clusterArn": CLUSTER,
        "containerArn": f"{CLUSTER}/container/1",
        "containerName": "app",
        "interactive": True,
        "taskArn": TASK,
        "session": {
            "sessionId": scenario.session_id,
            "streamUrl": url,
            "tokenValue": scenario.token,
        },
    }


def _exec(
    ecs: tuple[Any, Stubber],
    ssm: tuple[Any, Stubber],
    scenario: Scenario,
    *,
    terminated: bool,
    command: SignalCommand | None = None,
) -> Any:
    command = command or SignalCommand()
    ecs_client, ecs_stub = ecs
    ssm_client, ssm_stub = ssm
    with fake_agent(scenario) as agent:
        ecs_stub.add_response(
            "execute_command",
            _execute_response(scenario, agent.url),
            {
                "cluster": CLUSTER,
                "task": TASK,
                "container": "app",
                "interactive": True,
                "command": container_command(command),
            },
        )
        if terminated:
            ssm_stub.add_response(
                "terminate_session",
                {"SessionId": scenario.session_id},
                {"SessionId": scenario.session_id},
            )
        adapter: SignalPort = ExecSignalAdapter(ecs_client, ssm_client, limits=LIMITS)
        result = adapter.signal(TARGET, command)
        assert agent.wait()
    return result


def test_given_a_running_app_when_exec_signals_then_signalled_and_session_closed_by_agent(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    scenario = _scenario()

    result = _exec(ecs, ssm, scenario, terminated=False)

    assert result.action == "exec"
    assert result.outcome == SignalOutcome.SIGNALLED
    assert result.delivered
    assert result.exit_status == 0
    assert result.missing is None
    assert result.reference == scenario.session_id
    assert 0 < result.elapsed < LIMITS.total


def test_given_a_custom_command_when_exec_signals_then_it_is_sent_and_its_output_kept(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    command = SignalCommand(command="/app/bin/drain --now 'it''s time'")
    scenario = _scenario(output=b"draining\r\n")

    result = _exec(ecs, ssm, scenario, terminated=False, command=command)

    assert result.outcome == SignalOutcome.SIGNALLED
    assert result.output == "draining\r\n"


def test_given_no_such_program_in_the_image_when_exec_signals_then_prerequisite_missing(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    result = _exec(ecs, ssm, _scenario(fault=Fault.EXIT_127), terminated=False)

    assert result.outcome == SignalOutcome.PREREQUISITE_MISSING
    assert result.missing == Missing.PROGRAM_MISSING
    assert result.exit_status == 127
    assert "not found" in result.output
    assert not result.delivered


def test_given_no_shell_in_the_image_when_exec_signals_then_program_missing_from_the_agent(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    # The agent cannot start /bin/sh: it says so and ends the session, no exit line.
    scenario = _scenario(
        exit_marker=None,
        closed_output="Unable to start command: Failed to start pty: fork/exec /bin/sh: "
        "no such file or directory",
    )

    result = _exec(ecs, ssm, scenario, terminated=False)

    assert result.outcome == SignalOutcome.PREREQUISITE_MISSING
    assert result.missing == Missing.PROGRAM_MISSING
    assert result.exit_status is None
    assert "/bin/sh" in result.detail


def test_given_a_session_that_never_ends_when_exec_signals_then_timed_out_and_terminated(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    result = _exec(ecs, ssm, _scenario(fault=Fault.NEVER_ENDS), terminated=True)

    assert result.outcome == SignalOutcome.TIMED_OUT
    assert "command" in result.detail
    assert "session terminated" in result.detail
    assert result.elapsed < LIMITS.total + 1


def test_given_a_connection_dropped_mid_command_when_exec_signals_then_unconfirmed(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    scenario = _scenario(fault=Fault.DROP_MID_SESSION, output=b"0123456789")

    result = _exec(ecs, ssm, scenario, terminated=True)

    assert result.outcome == SignalOutcome.UNCONFIRMED
    assert result.delivered  # maybe: the caller confirms with DescribeTasks
    assert "no exit status" in result.detail


def test_given_a_connection_dropped_in_the_handshake_when_exec_signals_then_session_failed(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    result = _exec(ecs, ssm, _scenario(fault=Fault.DROP_IN_HANDSHAKE), terminated=True)

    assert result.outcome == SignalOutcome.SESSION_FAILED
    assert not result.delivered


def test_given_kms_encrypted_sessions_when_exec_signals_then_prerequisite_missing(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    result = _exec(ecs, ssm, _scenario(fault=Fault.REFUSE_HANDSHAKE), terminated=True)

    assert result.outcome == SignalOutcome.PREREQUISITE_MISSING
    assert result.missing == Missing.SESSION_ENCRYPTION


def test_given_terminate_session_fails_when_exec_times_out_then_the_result_says_so(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    ecs_client, ecs_stub = ecs
    ssm_client, ssm_stub = ssm
    scenario = _scenario(fault=Fault.NEVER_ENDS)
    with fake_agent(scenario) as agent:
        ecs_stub.add_response("execute_command", _execute_response(scenario, agent.url))
        ssm_stub.add_client_error("terminate_session", "AccessDeniedException", "no")
        result = ExecSignalAdapter(ecs_client, ssm_client, limits=LIMITS).signal(
            TARGET, SignalCommand()
        )

    assert result.outcome == SignalOutcome.TIMED_OUT
    assert "TerminateSession failed" in result.detail


@pytest.mark.parametrize(
    ("code", "message", "outcome", "missing"),
    [
        ("AccessDeniedException", "not authorized", "PREREQUISITE_MISSING", "ACCESS_DENIED"),
        ("TargetNotConnectedException", "agent", "PREREQUISITE_MISSING", "AGENT_NOT_CONNECTED"),
        (
            "InvalidParameterException",
            "The execute command failed because execute command was not enabled when the "
            "task was run or the execute command agent isn't running.",
            "PREREQUISITE_MISSING",
            "EXEC_NOT_ENABLED",
        ),
        ("ClusterNotFoundException", "Cluster not found.", "TASK_GONE", None),
        ("InvalidParameterException", "The task is stopping.", "REFUSED", None),
    ],
)
def test_given_execute_command_refused_when_exec_signals_then_the_outcome_names_the_cause(
    ecs: tuple[Any, Stubber],
    ssm: tuple[Any, Stubber],
    code: str,
    message: str,
    outcome: str,
    missing: str | None,
) -> None:
    ecs_client, ecs_stub = ecs
    ecs_stub.add_client_error("execute_command", code, message)

    result = ExecSignalAdapter(ecs_client, ssm[0], limits=LIMITS).signal(TARGET, SignalCommand())

    assert result.outcome == SignalOutcome(outcome)
    assert result.missing == (Missing(missing) if missing else None)
    assert code in result.detail


def test_given_execute_command_throttled_when_exec_signals_then_aws_unavailable_raised(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    ecs_client, ecs_stub = ecs
    ecs_stub.add_client_error("execute_command", "ThrottlingException", "slow down", 400)

    with pytest.raises(AwsUnavailableError, match="ExecuteCommand"):
        ExecSignalAdapter(ecs_client, ssm[0], limits=LIMITS).signal(TARGET, SignalCommand())


def test_given_the_default_command_when_built_then_the_agent_splits_it_into_sh_c_script() -> None:
    argv = shlex.split(container_command(SignalCommand(signal="SIGINT")))

    assert argv == ["/bin/sh", "-c", f"kill -INT 1; echo {EXIT_MARKER}$?"]


def test_given_a_command_with_quotes_when_built_then_it_survives_the_split() -> None:
    command = SignalCommand(command="printf '%s\\n' \"bye\"; kill -QUIT 7")

    argv = shlex.split(container_command(command))

    assert argv[2] == f"{command.command}; echo {EXIT_MARKER}$?"


def test_given_the_exec_adapter_when_bounded_then_its_bound_covers_every_session_step() -> None:
    adapter = ExecSignalAdapter(object(), object(), limits=LIMITS)

    assert adapter.time_bound > LIMITS.total


# -- ssm-signal ----------------------------------------------------------------------------
def _task(**overrides: Any) -> dict[str, Any]:
    task = {
        "taskArn": TASK,
        "clusterArn": CLUSTER,
        "launchType": "EC2",
        "lastStatus": "RUNNING",
        "desiredStatus": "STOPPED",
        "containerInstanceArn": INSTANCE_ARN,
        "containers": [
            {"name": "log-router", "runtimeId": "ab" * 32},
            {"name": "app", "runtimeId": RUNTIME_ID},
        ],
    }
    task.update(overrides)
    return task


def _locate(stub: Stubber, instance_id: str, task: dict[str, Any] | None = None) -> None:
    stub.add_response(
        "describe_tasks",
        {"tasks": [task or _task()], "failures": []},
        {"cluster": CLUSTER, "tasks": [TASK]},
    )
    stub.add_response(
        "describe_container_instances",
        {
            "containerInstances": [
                {"containerInstanceArn": INSTANCE_ARN, "ec2InstanceId": instance_id}
            ],
            "failures": [],
        },
        {"cluster": CLUSTER, "containerInstances": [INSTANCE_ARN]},
    )


def test_given_an_ec2_task_when_ssm_signals_then_docker_kill_runs_on_its_instance(
    ecs: tuple[Any, Stubber],
) -> None:
    ecs_client, ecs_stub = ecs
    clock = ManualClock()
    with mock_aws():
        ssm_client = boto3.client("ssm", region_name=REGION)
        _locate(ecs_stub, "i-0123456789abcdef0")
        adapter: SignalPort = SsmSignalAdapter(ecs_client, ssm_client, clock=clock)

        result = adapter.signal(TARGET, SignalCommand())

        command = ssm_client.list_commands(CommandId=result.reference)["Commands"][0]
    assert result.action == "ssm-signal"
    assert result.outcome == SignalOutcome.SIGNALLED
    assert command["DocumentName"] == DOCUMENT
    assert command["InstanceIds"] == ["i-0123456789abcdef0"]
    assert command["Parameters"]["commands"] == [f"docker kill --signal TERM {RUNTIME_ID}"]
    assert result.elapsed == clock.slept[0]  # polled on the clock port


def _send(ssm_stub: Stubber, command_id: str = COMMAND_ID) -> None:
    ssm_stub.add_response("send_command", {"Command": {"CommandId": command_id}})


def test_given_the_invocation_not_yet_visible_when_polled_then_polling_goes_on(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    (ecs_client, ecs_stub), (ssm_client, ssm_stub) = ecs, ssm
    _locate(ecs_stub, "i-1")
    _send(ssm_stub)
    ssm_stub.add_client_error("get_command_invocation", "InvocationDoesNotExist", "")
    ssm_stub.add_response("get_command_invocation", {"Status": "InProgress"})
    ssm_stub.add_response(
        "get_command_invocation",
        {"Status": "Success", "ResponseCode": 0, "StandardOutputContent": RUNTIME_ID},
        {"CommandId": COMMAND_ID, "InstanceId": "i-1"},
    )
    clock = ManualClock()

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=clock).signal(TARGET, SignalCommand())

    assert result.outcome == SignalOutcome.SIGNALLED
    assert result.exit_status == 0
    assert result.output == RUNTIME_ID
    assert result.reference == COMMAND_ID
    assert clock.slept == [1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("invocation", "outcome", "missing", "status"),
    [
        ({"Status": "Failed", "ResponseCode": 127}, "PREREQUISITE_MISSING", "PROGRAM_MISSING", 127),
        ({"Status": "Failed", "ResponseCode": 1}, "COMMAND_FAILED", None, 1),
        (
            {"Status": "Failed", "StatusDetails": "Undeliverable", "ResponseCode": -1},
            "PREREQUISITE_MISSING",
            "SSM_NOT_MANAGED",
            None,
        ),
        ({"Status": "TimedOut", "StatusDetails": "ExecutionTimedOut"}, "TIMED_OUT", None, None),
        ({"Status": "Cancelled"}, "SESSION_FAILED", None, None),
    ],
)
def test_given_a_finished_invocation_when_polled_then_its_status_decides_the_outcome(
    ecs: tuple[Any, Stubber],
    ssm: tuple[Any, Stubber],
    invocation: dict[str, Any],
    outcome: str,
    missing: str | None,
    status: int | None,
) -> None:
    (ecs_client, ecs_stub), (ssm_client, ssm_stub) = ecs, ssm
    _locate(ecs_stub, "i-1")
    _send(ssm_stub)
    ssm_stub.add_response("get_command_invocation", invocation)

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=ManualClock()).signal(
        TARGET, SignalCommand()
    )

    assert result.outcome == SignalOutcome(outcome)
    assert result.missing == (Missing(missing) if missing else None)
    assert result.exit_status == status


def test_given_a_command_that_never_finishes_when_polled_then_timed_out_and_cancelled(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    (ecs_client, ecs_stub), (ssm_client, ssm_stub) = ecs, ssm
    limits = RunCommandLimits(wait_timeout=3.0, poll_interval=1.0)
    _locate(ecs_stub, "i-1")
    _send(ssm_stub)
    for _ in range(3):
        ssm_stub.add_response("get_command_invocation", {"Status": "InProgress"})
    ssm_stub.add_response("cancel_command", {}, {"CommandId": COMMAND_ID, "InstanceIds": ["i-1"]})
    clock = ManualClock()

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=clock, limits=limits).signal(
        TARGET, SignalCommand()
    )

    assert result.outcome == SignalOutcome.TIMED_OUT
    assert "command cancelled" in result.detail
    assert result.elapsed == 3.0


def test_given_a_fargate_task_when_ssm_signals_then_not_ec2_without_sending(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber]
) -> None:
    (ecs_client, ecs_stub), (ssm_client, _) = ecs, ssm
    fargate = _task(launchType="FARGATE")
    del fargate["containerInstanceArn"]
    ecs_stub.add_response("describe_tasks", {"tasks": [fargate], "failures": []})

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=ManualClock()).signal(
        TARGET, SignalCommand()
    )

    assert result.outcome == SignalOutcome.PREREQUISITE_MISSING
    assert result.missing == Missing.NOT_EC2
    assert "FARGATE" in result.detail


@pytest.mark.parametrize(
    ("task", "outcome"),
    [
        (None, "TASK_GONE"),
        (_task(lastStatus="STOPPED"), "TASK_GONE"),
        (_task(containers=[{"name": "app"}]), "REFUSED"),
        (_task(containers=[{"name": "app", "runtimeId": "x; reboot"}]), "REFUSED"),
    ],
    ids=["missing", "stopped", "no-runtime-id", "odd-runtime-id"],
)
def test_given_no_container_to_signal_when_ssm_signals_then_nothing_is_sent(
    ecs: tuple[Any, Stubber], ssm: tuple[Any, Stubber], task: dict[str, Any] | None, outcome: str
) -> None:
    (ecs_client, ecs_stub), (ssm_client, _) = ecs, ssm
    ecs_stub.add_response("describe_tasks", {"tasks": [task] if task else [], "failures": []})

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=ManualClock()).signal(
        TARGET, SignalCommand()
    )

    assert result.outcome == SignalOutcome(outcome)


@pytest.mark.parametrize(
    ("code", "outcome", "missing"),
    [
        ("InvalidInstanceId", "PREREQUISITE_MISSING", "SSM_NOT_MANAGED"),
        ("AccessDeniedException", "PREREQUISITE_MISSING", "ACCESS_DENIED"),
        ("InvalidDocument", "REFUSED", None),
    ],
)
def test_given_send_command_refused_when_ssm_signals_then_the_outcome_names_the_cause(
    ecs: tuple[Any, Stubber],
    ssm: tuple[Any, Stubber],
    code: str,
    outcome: str,
    missing: str | None,
) -> None:
    (ecs_client, ecs_stub), (ssm_client, ssm_stub) = ecs, ssm
    _locate(ecs_stub, "i-1")
    ssm_stub.add_client_error("send_command", code, "refused")

    result = SsmSignalAdapter(ecs_client, ssm_client, clock=ManualClock()).signal(
        TARGET, SignalCommand()
    )

    assert result.outcome == SignalOutcome(outcome)
    assert result.missing == (Missing(missing) if missing else None)
    assert code in result.detail


def test_given_a_custom_command_when_scripted_then_docker_exec_runs_it_in_the_container() -> None:
    script = host_script(SignalCommand(command="/app/stop 'now'"), RUNTIME_ID)

    assert shlex.split(script) == ["docker", "exec", RUNTIME_ID, "/bin/sh", "-c", "/app/stop 'now'"]


def test_given_a_delivery_timeout_below_the_aws_minimum_when_limits_made_then_value_error() -> None:
    with pytest.raises(ValueError, match="delivery_timeout"):
        RunCommandLimits(delivery_timeout=10)


class _SlowClient:
    """A client whose every call takes its longest (the client config's bound) on the
    clock, answering with canned responses; GetCommandInvocation never finishes."""

    def __init__(self, clock: ManualClock, bound: float, answers: dict[str, Any]) -> None:
        self._clock, self._bound, self._answers = clock, bound, answers

    def __getattr__(self, name: str) -> Any:
        if name not in self._answers:
            raise AttributeError(name)  # e.g. botocore's meta: not a botocore client
        answer = self._answers[name]

        def call(**_: Any) -> Any:
            self._clock.advance(self._bound)
            return answer

        return call


def test_given_every_call_at_its_bound_when_ssm_signals_then_it_ends_within_time_bound() -> None:
    from serverless.adapters.errors import call_time_bound, client_config

    clock = ManualClock()
    ecs_client = _SlowClient(
        clock,
        call_time_bound(client_config("ecs")),
        {
            "describe_tasks": {"tasks": [_task()]},
            "describe_container_instances": {"containerInstances": [{"ec2InstanceId": "i-1"}]},
        },
    )
    ssm_client = _SlowClient(
        clock,
        call_time_bound(client_config("ssm")),
        {
            "send_command": {"Command": {"CommandId": COMMAND_ID}},
            "get_command_invocation": {"Status": "InProgress"},
            "cancel_command": {},
        },
    )
    adapter = SsmSignalAdapter(ecs_client, ssm_client, clock=clock)
    started = clock.now()

    result = adapter.signal(TARGET, SignalCommand())

    assert result.outcome == SignalOutcome.TIMED_OUT
    assert clock.now() - started <= adapter.time_bound
    # A sweeper run keeps the bound plus a claim and an ECS call (45 s) and its 10 s
    # reserve: with the default 300 s timeout it can still take the step.
    assert adapter.time_bound + 45 + 10 < 300
