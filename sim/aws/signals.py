"""The signal paths of the ``exec`` and ``ssm-signal`` stop actions, on the virtual clock.

The functions' own adapters run unchanged (:class:`serverless.adapters.exec_signal.
ExecSignalAdapter`, :class:`serverless.adapters.ssm_signal.SsmSignalAdapter`): their AWS
calls go through the embedded AWS like every other call (latency, faults, counts), and
this module answers the ones moto does not know, from the ECS model:

* :class:`ExecAgent`: ECS ``ExecuteCommand`` (the model's preconditions: the service's
  ``enableExecuteCommand``, the container, a running task, and the world's switch that
  refuses a task ECS is stopping), Session Manager ``TerminateSession``, and the data
  channel itself: :meth:`ExecAgent.run_session` replaces the websocket client and returns
  the transcript the agent's side would produce, after the session's latency. The signal
  reaches the container when the command runs (:meth:`sim.aws.ecs.model.EcsModel.
  signal_container`).
* :class:`RunCommandAgent`: SSM ``SendCommand`` / ``GetCommandInvocation`` /
  ``CancelCommand`` and ECS ``DescribeContainerInstances``; the SSM agent on the instance
  picks the command up after a delivery latency and runs ``docker kill``.

Both count what the issue asks to judge (sessions opened, closed, abandoned; signal
requests per task and action) in the observation log, and inject faults per attempt
(:class:`SignalFaults`): a session dropped, a command that exits 127, a session or command
that never ends, a refusal.

Latencies are **assumptions**, not measurements (no AWS account): see :class:`Latencies`.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.aws.ecs.model import EcsModel, Task, TaskNotFound
from sim.aws.embedded import AwsCall, AwsInterceptor, Reply
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog

__all__ = [
    "EXEC",
    "FAULT_KINDS",
    "SSM_SIGNAL",
    "ExecAgent",
    "Latencies",
    "RunCommandAgent",
    "SignalFaults",
    "serve_signals",
]

EXEC = "exec"
SSM_SIGNAL = "ssm-signal"
#: The faults :class:`SignalFaults` injects, per attempt.
FAULT_KINDS = ("dropped", "exit-127", "timeout", "refused")
#: z of the 99th percentile of a normal distribution (lognormal draws from p50 and p99).
_Z99 = 2.3263


@dataclass(frozen=True, slots=True)
class Lognormal:
    """A latency drawn from a lognormal distribution given its median and 99th percentile."""

    p50: float
    p99: float

    def draw(self, rng: random.Random) -> float:
        """One latency in seconds."""
        sigma = math.log(self.p99 / self.p50) / _Z99
        return rng.lognormvariate(math.log(self.p50), sigma)


@dataclass(frozen=True, slots=True)
class Latencies:
    """Assumed latencies of the signal paths (virtual seconds; not measured on AWS).

    The API calls themselves cost what :data:`sim.aws.costs.LATENCY_SECONDS` says
    (ExecuteCommand 0.25 s: it creates the Session Manager session; SendCommand 0.10 s;
    GetCommandInvocation, CancelCommand, TerminateSession 0.05 s; DescribeContainerInstances
    0.06 s). On top of them:
    """

    #: Websocket connect + the data channel's token and handshake until the agent runs the
    #: command: p50 0.8 s, p99 3.0 s.
    session_setup: Lognormal = field(default_factory=lambda: Lognormal(0.8, 3.0))
    #: The command runs, prints its exit-status line, the agent closes the channel.
    command: float = 0.1
    #: SSM Run Command: the instance's SSM agent receives the command (its control
    #: channel) and starts it: p50 0.5 s, p99 2.0 s.
    run_command_delivery: Lognormal = field(default_factory=lambda: Lognormal(0.5, 2.0))
    #: ``docker kill`` (or ``docker exec``) on the instance until the command's status.
    run_command_execution: float = 0.3


@dataclass(frozen=True, slots=True)
class SignalFaults:
    """Faults injected into signal attempts: each a probability per attempt (the kinds are
    exclusive; their sum must not exceed 1), while ``until`` (virtual time) is not past.

    ``dropped``: the exec session's connection drops during the handshake (for SSM: the
    command is never delivered). ``exit_127``: the command's program is not in the image
    (exec) or on the instance (SSM). ``timeout``: the handshake (exec) or the command (SSM)
    never ends. ``refused``: the data channel refuses the websocket (HTTP 403) or SSM
    refuses the instance (``InvalidInstanceId``).
    """

    dropped: float = 0.0
    exit_127: float = 0.0
    timeout: float = 0.0
    refused: float = 0.0
    until: float | None = None

    def __post_init__(self) -> None:
        rates = (self.dropped, self.exit_127, self.timeout, self.refused)
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must be within [0, 1] and sum to at most 1")

    def draw(self, rng: random.Random, now: float) -> str | None:
        """The fault of one attempt, or None."""
        if self.until is not None and now >= self.until:
            return None
        roll = rng.random()
        for kind, rate in zip(
            FAULT_KINDS, (self.dropped, self.exit_127, self.timeout, self.refused), strict=True
        ):
            if roll < rate:
                return kind
            roll -= rate
        return None


@dataclass(slots=True)
class _Session:
    session_id: str
    token: str
    task: Task
    fault: str | None
    opened_at: float
    closed_at: float | None = None
    ended: str | None = None  # closed | terminated | abandoned


class _Agent:
    """What both agents share: the model, the log, the faults, the counts."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        model: EcsModel,
        *,
        rng: random.Random,
        faults: SignalFaults | None = None,
        latencies: Latencies | None = None,
    ) -> None:
        self.loop = loop
        self.log = log
        self.model = model
        self.rng = rng
        self.faults = faults or SignalFaults()
        self.latencies = latencies or Latencies()
        #: Faults injected, by kind.
        self.injected: dict[str, int] = {}

    def _fault(self) -> str | None:
        fault = self.faults.draw(self.rng, self.loop.now)
        if fault is not None:
            self.injected[fault] = self.injected.get(fault, 0) + 1
        return fault

    def _find(self, ref: str, cluster: str) -> Task | None:
        try:
            task = self.model.find(ref)
        except TaskNotFound:
            return None
        return task if cluster in {task.service.cluster_arn, task.service.cluster_name} else None

    def _request(self, task: Task, action: str, call: AwsCall, accepted: bool) -> None:
        self.log.record(
            self.loop.now,
            Kind.SIGNAL_REQUEST,
            task.arn,
            service=task.service.name,
            action=action,
            accepted=accepted,
            last_status=task.last_status,
            desired_status=task.desired_status,
            draining=task.draining,
            caller=call.caller.function if call.caller else None,
        )


class ExecAgent(_Agent):
    """ECS Exec: ExecuteCommand, the Session Manager data channel, TerminateSession."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: dict[str, _Session] = {}
        self._by_token: dict[str, _Session] = {}
        self._ids = itertools.count(1)

    # -- the control plane ----------------------------------------------------------------

    def execute_command(self, call: AwsCall) -> Reply:
        """ECS ExecuteCommand: a session into the container, or the API's error."""
        params = call.params
        task = self._find(str(params.get("task", "")), str(params.get("cluster", "default")))
        if task is None:
            return Reply.error("ecs", "InvalidParameterException", "The task was not found.")
        if not params.get("interactive"):
            return Reply.error(
                "ecs",
                "InvalidParameterException",
                "Interactive is the only mode supported currently.",
            )
        refusal = self.model.exec_refusal(task, str(params.get("container", "")))
        self._request(task, EXEC, call, accepted=refusal is None)
        if refusal is not None:
            return Reply.error("ecs", *refusal)
        number = next(self._ids)
        session = _Session(
            session_id=f"ecs-execute-command-{number:016x}",
            token=f"token-{number}-{self.rng.getrandbits(64):016x}",
            task=task,
            fault=self._fault(),
            opened_at=self.loop.now,
        )
        self.sessions[session.session_id] = session
        self._by_token[session.token] = session
        self.log.record(
            self.loop.now, Kind.SESSION, session.session_id, task=task.arn, state="opened"
        )
        region = task.service.cluster_arn.split(":")[3]
        return Reply.json(
            {
                "clusterArn": task.service.cluster_arn,
                "containerArn": f"{task.arn}/{task.service.name}",
                "containerName": task.service.name,
                "interactive": True,
                "taskArn": task.arn,
                "session": {
                    "sessionId": session.session_id,
                    "streamUrl": f"wss://ssmmessages.{region}.amazonaws.com/v1/data-channel/"
                    f"{session.session_id}?role=publish_subscribe",
                    "tokenValue": session.token,
                },
            }
        )

    def terminate_session(self, call: AwsCall) -> Reply:
        """Session Manager TerminateSession (an unknown or ended session: no error)."""
        session_id = str(call.params.get("SessionId", ""))
        session = self.sessions.get(session_id)
        if session is not None:
            self._end(session, "terminated")
        return Reply.json({"SessionId": session_id})

    def _end(self, session: _Session, how: str) -> None:
        if session.ended is not None:
            return
        session.ended, session.closed_at = how, self.loop.now
        self.log.record(
            self.loop.now, Kind.SESSION, session.session_id, task=session.task.arn, state=how
        )

    # -- the data channel -----------------------------------------------------------------

    def run_session(
        self, stream_url: str, token: str, limits: Any = None, *, exit_marker: bytes | None = None
    ) -> Any:
        """What :func:`serverless.adapters.ssm_session.run_session` would return against the
        agent, after the session's (virtual) time. The signal reaches the container when the
        command runs. A sweeper killed meanwhile abandons the session (its websocket goes
        with the sandbox; Session Manager ends it on its idle timeout)."""
        from serverless.adapters.ssm_session import (
            Phase,
            SessionEnd,
            SessionLimits,
            SessionTranscript,
        )

        limits = limits or SessionLimits()
        session = self._by_token.get(token)
        if session is None:
            return SessionTranscript(
                SessionEnd.CONNECT_FAILED, Phase.CONNECT, detail="cannot connect: HTTP 403"
            )
        task, fault = session.task, session.fault
        setup = min(self.latencies.session_setup.draw(self.rng), limits.handshake_timeout)
        try:
            if fault == "refused":
                self.loop.sleep(setup / 2)
                return SessionTranscript(
                    SessionEnd.CONNECT_FAILED,
                    Phase.CONNECT,
                    detail="cannot connect: server rejected WebSocket connection: HTTP 403",
                )
            if fault == "timeout":
                self.loop.sleep(limits.handshake_timeout)
                return SessionTranscript(
                    SessionEnd.TIMED_OUT,
                    Phase.HANDSHAKE,
                    detail=f"no end of the handshake step within {limits.handshake_timeout} s",
                )
            if fault == "dropped":
                self.loop.sleep(setup / 2)
                return SessionTranscript(
                    SessionEnd.DROPPED,
                    Phase.HANDSHAKE,
                    detail="the connection dropped (no close frame)",
                )
            self.loop.sleep(setup)
            if task.last_status not in {"RUNNING", "DEACTIVATING"}:
                return SessionTranscript(
                    SessionEnd.DROPPED,
                    Phase.HANDSHAKE,
                    detail="the connection dropped (no close frame): the task is stopping",
                )
            if fault == "exit-127":
                self.loop.sleep(self.latencies.command)
                self._end(session, "closed")
                return SessionTranscript(
                    SessionEnd.CLOSED,
                    Phase.CLOSE,
                    output=b"/bin/sh: 1: kill: not found\r\n",
                    exit_status=127,
                    detail="the service closed the channel",
                    session_type="InteractiveCommands",
                )
            self.model.signal_container(task, EXEC)
            self.loop.sleep(self.latencies.command)
            self._end(session, "closed")
            return SessionTranscript(
                SessionEnd.CLOSED,
                Phase.CLOSE,
                exit_status=0,
                detail="the service closed the channel",
                session_type="InteractiveCommands",
            )
        except BaseException:
            self._end(session, "abandoned")
            raise

    # -- counts ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Sessions opened, closed by the agent, terminated by the client, abandoned by a
        killed invocation, and left open."""
        ended: dict[str | None, int] = {}
        for session in self.sessions.values():
            ended[session.ended] = ended.get(session.ended, 0) + 1
        return {
            "opened": len(self.sessions),
            "closed": ended.get("closed", 0),
            "terminated": ended.get("terminated", 0),
            "abandoned": ended.get("abandoned", 0),
            "left_open": ended.get(None, 0),
        }


_DOCKER = re.compile(r"docker (?:kill --signal \S+|exec) ([0-9a-f]{12,64})\b")


@dataclass(slots=True)
class _Command:
    command_id: str
    instance_id: str
    task: Task | None
    fault: str | None
    status: str = "Pending"
    details: str = "Pending"
    code: int = -1
    output: str = ""
    error: str = ""


class RunCommandAgent(_Agent):
    """SSM Run Command on the tasks' EC2 container instances (``ssm-signal``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, _Command] = {}
        self._ids = itertools.count(1)

    def _instances(self) -> dict[str, tuple[str, str]]:
        """Container instance ARN -> (EC2 instance id, cluster ARN)."""
        return {
            instance.arn: (instance.instance_id, service.cluster_arn)
            for service in self.model.services.values()
            for instance in service.instances
        }

    def describe_container_instances(self, call: AwsCall) -> Reply:
        """ECS DescribeContainerInstances of the model's instances."""
        known = self._instances()
        found, failures = [], []
        for arn in call.params.get("containerInstances", []):
            if str(arn) in known:
                instance_id, _ = known[str(arn)]
                found.append(
                    {
                        "containerInstanceArn": arn,
                        "ec2InstanceId": instance_id,
                        "status": "ACTIVE",
                        "agentConnected": True,
                    }
                )
            else:
                failures.append({"arn": arn, "reason": "MISSING"})
        return Reply.json({"containerInstances": found, "failures": failures})

    def _task_of(self, script: str) -> Task | None:
        match = _DOCKER.search(script)
        if match is None:
            return None
        runtime = match.group(1)
        return next(
            (t for t in self.model.tasks.values() if f"{t.id}{t.id}".startswith(runtime)), None
        )

    def send_command(self, call: AwsCall) -> Reply:
        """SSM SendCommand to one instance: the agent runs the script after a delay."""
        params = call.params
        instances = list(params.get("InstanceIds", []))
        known = {instance_id for instance_id, _ in self._instances().values()}
        if len(instances) != 1 or instances[0] not in known:
            return Reply.error("ssm", "InvalidInstanceId", "Instances not in a valid state.")
        script = " ".join(params.get("Parameters", {}).get("commands", []))
        task = self._task_of(script)
        fault = self._fault()
        if task is not None:
            self._request(task, SSM_SIGNAL, call, accepted=fault != "refused")
        if fault == "refused":
            return Reply.error("ssm", "InvalidInstanceId", "Instances not in a valid state.")
        number = next(self._ids)
        command = _Command(f"{number:08x}-0000-4000-8000-{number:012x}", instances[0], task, fault)
        self.commands[command.command_id] = command
        if fault not in {"dropped", "timeout"}:
            delivery = self.latencies.run_command_delivery.draw(self.rng)
            self.loop.call_later(delivery, lambda: self._start(command))
        return Reply.json({"Command": {"CommandId": command.command_id, "Status": "Pending"}})

    def _start(self, command: _Command) -> None:
        if command.status != "Pending":
            return  # cancelled
        command.status = command.details = "InProgress"
        self.loop.call_later(self.latencies.run_command_execution, lambda: self._finish(command))

    def _finish(self, command: _Command) -> None:
        if command.status != "InProgress":
            return
        task = command.task
        if command.fault == "exit-127":
            command.status = command.details = "Failed"
            command.code, command.error = 127, "docker: command not found\n"
            return
        if (
            task is None
            or task.last_status == "STOPPED"
            or task.network.get("instanceId") != command.instance_id
        ):
            command.status = command.details = "Failed"
            command.code, command.error = 1, "Error response from daemon: No such container\n"
            return
        self.model.signal_container(task, SSM_SIGNAL)
        command.status = command.details = "Success"
        command.code, command.output = 0, f"{task.id}{task.id}\n"

    def get_command_invocation(self, call: AwsCall) -> Reply:
        """SSM GetCommandInvocation."""
        command = self.commands.get(str(call.params.get("CommandId", "")))
        if command is None or command.instance_id != call.params.get("InstanceId"):
            return Reply.error("ssm", "InvocationDoesNotExist", "")
        return Reply.json(
            {
                "CommandId": command.command_id,
                "InstanceId": command.instance_id,
                "DocumentName": "AWS-RunShellScript",
                "Status": command.status,
                "StatusDetails": command.details,
                "ResponseCode": command.code,
                "StandardOutputContent": command.output,
                "StandardErrorContent": command.error,
            }
        )

    def cancel_command(self, call: AwsCall) -> Reply:
        """SSM CancelCommand: a command not finished is cancelled."""
        command = self.commands.get(str(call.params.get("CommandId", "")))
        if command is None:
            return Reply.error("ssm", "InvalidCommandId", "")
        if command.status in {"Pending", "InProgress"}:
            command.status = command.details = "Cancelled"
        return Reply.json({})


def serve_signals(
    interceptor: AwsInterceptor, exec_agent: ExecAgent, run_command: RunCommandAgent
) -> None:
    """Register the agents' operations on ``interceptor``."""
    served: Mapping[tuple[str, str], Callable[[AwsCall], Reply]] = {
        ("ecs", "ExecuteCommand"): exec_agent.execute_command,
        ("ssm", "TerminateSession"): exec_agent.terminate_session,
        ("ecs", "DescribeContainerInstances"): run_command.describe_container_instances,
        ("ssm", "SendCommand"): run_command.send_command,
        ("ssm", "GetCommandInvocation"): run_command.get_command_invocation,
        ("ssm", "CancelCommand"): run_command.cancel_command,
    }
    for (service, operation), handler in served.items():
        interceptor.serve(service, operation, handler)
