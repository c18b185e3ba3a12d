"""The ``ssm-signal`` stop action's effect: the container's runtime signals it, by SSM.

What users do by hand when ECS will not stop a task that is already stopping
(aws/containers-roadmap #2320): SSM Run Command on the task's container instance runs
``docker kill --signal <signal> <runtimeId>``. It needs the EC2 launch type (a container
instance that is an SSM managed node: ECS-optimized AMIs carry the agent) and no change
to the task definition. A command of the user's runs in the container by ``docker exec``.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from serverless.adapters.clients import LazyClient, ThrottleCounter
from serverless.adapters.errors import (
    aws_errors,
    call_time_bound,
    client_config,
    signal_call_config,
)
from serverless.domain.clock import Clock, SystemClock
from serverless.domain.errors import AwsUnavailableError, DrainTerminatorError, NotFoundError
from serverless.domain.signals import (
    Missing,
    SignalCommand,
    SignalOutcome,
    SignalResult,
    SignalTarget,
    bounded_output,
    outcome_of_exit_status,
)

__all__ = ["ACTION", "DOCUMENT", "RunCommandLimits", "SsmSignalAdapter", "host_script"]

ACTION = "ssm-signal"
DOCUMENT = "AWS-RunShellScript"
#: A Docker container id as ECS reports it (``runtimeId``): hex, nothing a shell reads.
_RUNTIME_ID = re.compile(r"^[0-9a-f]{12,64}$")
_RUNNING = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})
_NOT_YET = "InvocationDoesNotExist"


@dataclass(frozen=True, slots=True)
class RunCommandLimits:
    """Time bounds (seconds) of one Run Command."""

    #: SendCommand ``TimeoutSeconds``: how long SSM tries to deliver it (AWS minimum 30).
    delivery_timeout: int = 30
    #: The document's ``executionTimeout``: how long the script may run on the instance.
    execution_timeout: int = 20
    #: How long the adapter polls GetCommandInvocation before giving up (and cancelling).
    wait_timeout: float = 30.0
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        if self.delivery_timeout < 30:
            raise ValueError("delivery_timeout must be at least 30 (SendCommand's minimum)")
        if self.execution_timeout < 1 or self.wait_timeout <= 0 or self.poll_interval <= 0:
            raise ValueError("timeouts and the poll interval must be positive")


def host_script(command: SignalCommand, runtime_id: str) -> str:
    """The shell script the instance runs: ``docker kill --signal``, or ``docker exec`` of
    the user's command in the container."""
    if command.command is None:
        return f"docker kill --signal {shlex.quote(command.signal)} {runtime_id}"
    return f"docker exec {runtime_id} /bin/sh -c {shlex.quote(command.command)}"


def _error_code(error: DrainTerminatorError) -> str:
    cause = error.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


class _Stop(Exception):
    """Ends :meth:`SsmSignalAdapter.signal` early with a result."""

    def __init__(
        self,
        outcome: SignalOutcome,
        detail: str,
        missing: Missing | None = None,
        code: str = "",
    ) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail
        self.missing = missing
        self.code = code


_MISSING_BY_CODE = {
    "AccessDeniedException": Missing.ACCESS_DENIED,
    "AccessDenied": Missing.ACCESS_DENIED,
    "InvalidInstanceId": Missing.SSM_NOT_MANAGED,
    "UnsupportedPlatformType": Missing.SSM_NOT_MANAGED,
}


@contextmanager
def _calls(action: str) -> Iterator[None]:
    """An AWS failure inside the block ends the attempt with its outcome (a transient one
    raises :class:`AwsUnavailableError`, as the port says)."""
    try:
        with aws_errors(action):
            yield
    except AwsUnavailableError:
        raise
    except DrainTerminatorError as error:
        code = _error_code(error)
        if code in _MISSING_BY_CODE:
            stop = _Stop(SignalOutcome.PREREQUISITE_MISSING, str(error), _MISSING_BY_CODE[code])
        elif isinstance(error, NotFoundError) and code != _NOT_YET:
            stop = _Stop(SignalOutcome.TASK_GONE, str(error))
        else:
            stop = _Stop(SignalOutcome.REFUSED, str(error), code=code)
        raise stop from error


class SsmSignalAdapter:
    """:class:`serverless.domain.signals.SignalPort` through SSM Run Command (EC2 launch type).

    ``ecs_client`` and ``ssm_client`` are botocore clients (created on first use when
    omitted: SendCommand then goes through a client of its own in botocore's adaptive
    mode); ``send_client``: SendCommand's own client (default ``ssm_client``, e.g. a
    member account's adaptive one); ``clock`` paces the polling (a virtual clock in
    tests). The result counts SendCommand's throttled attempts.
    """

    def __init__(
        self,
        ecs_client: Any | None = None,
        ssm_client: Any | None = None,
        *,
        send_client: Any | None = None,
        clock: Clock | None = None,
        limits: RunCommandLimits | None = None,
    ) -> None:
        self._ecs = LazyClient("ecs", ecs_client)
        self._ssm = LazyClient("ssm", ssm_client)
        self._send = LazyClient("ssm", send_client or ssm_client, signal_call_config("ssm"))
        self._clock = clock or SystemClock()
        self._limits = limits or RunCommandLimits()
        self._throttles = ThrottleCounter()

    @property
    def time_bound(self) -> float:
        """The longest one :meth:`signal` can take (every call at its bound).

        DescribeTasks and DescribeContainerInstances, SendCommand; then polls until the
        clock passes ``wait_timeout`` from the start: the last poll begins before that
        (after one ``poll_interval``) and takes at most one call's bound; then CancelCommand.
        The sweeper keeps this much of the invocation, and its lease, for the step.
        """
        ecs = call_time_bound(client_config("ecs"))
        ssm = call_time_bound(client_config("ssm"))
        send = call_time_bound(signal_call_config("ssm"))
        limits = self._limits
        return 2 * ecs + send + max(limits.wait_timeout, 0.0) + limits.poll_interval + 2 * ssm

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        """Signal ``target``'s container through its instance's runtime."""
        started = self._clock.now()
        reference: str | None = None
        self._throttles.start()
        try:
            instance_id, runtime_id = self._locate(target)
            with _calls("SendCommand"):
                sent = self._throttles.watch(self._send.get()).send_command(
                    InstanceIds=[instance_id],
                    DocumentName=DOCUMENT,
                    Comment=f"ecs-drain-terminator: signal {target.task_arn.rsplit('/', 1)[-1]}",
                    TimeoutSeconds=self._limits.delivery_timeout,
                    Parameters={
                        "commands": [host_script(command, runtime_id)],
                        "executionTimeout": [str(self._limits.execution_timeout)],
                    },
                )
            reference = str(sent["Command"]["CommandId"])
            result = self._wait(reference, instance_id, started)
        except _Stop as stop:
            result = SignalResult(
                action=ACTION,
                outcome=stop.outcome,
                elapsed=self._clock.now() - started,
                missing=stop.missing,
                detail=stop.detail,
                reference=reference,
            )
        except AwsUnavailableError as error:
            error.throttled = self._throttles.count
            raise
        return replace(result, throttled=self._throttles.count)

    def _locate(self, target: SignalTarget) -> tuple[str, str]:
        """The task's EC2 instance id and its container's runtime id."""
        with _calls("DescribeTasks"):
            tasks = self._ecs.get().describe_tasks(
                cluster=target.cluster_arn, tasks=[target.task_arn]
            )
        found = tasks.get("tasks") or []
        if not found:
            raise _Stop(SignalOutcome.TASK_GONE, f"DescribeTasks: no task {target.task_arn}")
        task = found[0]
        if task.get("lastStatus") == "STOPPED":
            raise _Stop(SignalOutcome.TASK_GONE, "the task has stopped")
        instance_arn = task.get("containerInstanceArn")
        if not instance_arn:
            launch = task.get("launchType", "FARGATE")
            raise _Stop(
                SignalOutcome.PREREQUISITE_MISSING,
                f"the task runs on {launch}, without a container instance",
                Missing.NOT_EC2,
            )
        container = next(
            (c for c in task.get("containers", []) if c.get("name") == target.container_name),
            None,
        )
        runtime_id = (container or {}).get("runtimeId", "")
        if container is None or not _RUNTIME_ID.match(runtime_id):
            raise _Stop(
                SignalOutcome.REFUSED,
                f"container {target.container_name!r} has no runtime id "
                f"(not in the task, not started, or gone): {runtime_id!r}",
            )
        with _calls("DescribeContainerInstances"):
            instances = self._ecs.get().describe_container_instances(
                cluster=target.cluster_arn, containerInstances=[instance_arn]
            )
        instance_id = next(
            (i.get("ec2InstanceId") for i in instances.get("containerInstances", [])), None
        )
        if not instance_id:
            raise _Stop(SignalOutcome.TASK_GONE, f"container instance {instance_arn} is gone")
        return str(instance_id), runtime_id

    def _wait(self, command_id: str, instance_id: str, started: float) -> SignalResult:
        limits = self._limits
        deadline = started + limits.wait_timeout
        while True:
            self._clock.sleep(limits.poll_interval)
            try:
                with _calls("GetCommandInvocation"):
                    invocation = self._ssm.get().get_command_invocation(
                        CommandId=command_id, InstanceId=instance_id
                    )
            except _Stop as stop:
                if stop.code != _NOT_YET:
                    raise
                invocation = {"Status": "Pending"}  # not visible yet: eventual consistency
            status = str(invocation.get("Status", ""))
            if status not in _RUNNING:
                return self._finished(invocation, command_id, started)
            if self._clock.now() >= deadline:
                note = self._cancel(command_id, instance_id)
                return SignalResult(
                    action=ACTION,
                    outcome=SignalOutcome.TIMED_OUT,
                    elapsed=self._clock.now() - started,
                    detail=f"the command was still {status} after {limits.wait_timeout} s{note}",
                    reference=command_id,
                )

    def _finished(
        self, invocation: dict[str, Any], command_id: str, started: float
    ) -> SignalResult:
        status = str(invocation.get("Status", ""))
        details = str(invocation.get("StatusDetails", ""))
        code = invocation.get("ResponseCode")
        exit_status = int(code) if isinstance(code, int) and code >= 0 else None
        output = "".join(
            str(invocation.get(key) or "")
            for key in ("StandardOutputContent", "StandardErrorContent")
        )
        missing: Missing | None = None
        if status == "Success":
            outcome = SignalOutcome.SIGNALLED
        elif details == "Undeliverable":
            outcome, missing = SignalOutcome.PREREQUISITE_MISSING, Missing.SSM_NOT_MANAGED
        elif status == "TimedOut":
            outcome = SignalOutcome.TIMED_OUT
        elif status == "Failed" and exit_status is not None:
            outcome, missing = outcome_of_exit_status(exit_status)
        else:
            outcome = SignalOutcome.SESSION_FAILED
        return SignalResult(
            action=ACTION,
            outcome=outcome,
            elapsed=self._clock.now() - started,
            exit_status=exit_status,
            output=bounded_output(output),
            missing=missing,
            detail=f"Run Command {status} ({details or 'no details'}), exit status {code}",
            reference=command_id,
        )

    def _cancel(self, command_id: str, instance_id: str) -> str:
        try:
            with _calls("CancelCommand"):
                self._ssm.get().cancel_command(CommandId=command_id, InstanceIds=[instance_id])
        except _Stop as stop:
            return f"; CancelCommand failed: {stop.detail}"
        return "; command cancelled"
