"""The ``exec`` stop action's effect: a signal sent through ECS Exec, no sidecar, no binary.

``ecs:ExecuteCommand`` (interactive, the only mode ECS offers) runs the signal command in
the task's container through the Session Manager agent ECS Exec adds to it; the function
drives the data channel itself (:mod:`serverless.adapters.ssm_session`). The agent reports
no exit status of an interactive command, so the command runs under ``/bin/sh -c`` and
prints its status on a last line the client takes out of the output.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from serverless.adapters.clients import LazyClient, ThrottleCounter
from serverless.adapters.errors import (
    aws_errors,
    call_time_bound,
    client_config,
    signal_call_config,
)
from serverless.adapters.ssm_session import (
    SessionEnd,
    SessionLimits,
    SessionTranscript,
    run_session,
)
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

__all__ = ["ACTION", "EXIT_MARKER", "ExecSignalAdapter", "container_command"]

ACTION = "exec"
#: The command's last line: this marker, then its exit status.
EXIT_MARKER = "ecs-drain-terminator-exit-status="
#: What the agent prints when the command's program is not in the image (it cannot start
#: it in the pseudo terminal): "Unable to start command: ... no such file or directory".
_START_FAILED = re.compile(
    r"Unable to start command|executable file not found|no such file or directory", re.I
)
_EXEC_NOT_ENABLED = re.compile(r"execute command (was )?not enabled|not enabled.*execute", re.I)

SessionRunner = Callable[..., SessionTranscript]


def container_command(command: SignalCommand, shell: str = "/bin/sh") -> str:
    """The ExecuteCommand ``command``: the signal command under ``shell -c``, then the
    exit-status line (the agent splits it like a POSIX shell and runs it directly)."""
    script = f"{command.shell_command}; echo {EXIT_MARKER}$?"
    return f"{shell} -c {shlex.quote(script)}"


def _error_code(error: DrainTerminatorError) -> tuple[str, str]:
    cause = error.__cause__
    if isinstance(cause, ClientError):
        body = cause.response.get("Error", {})
        return str(body.get("Code", "")), str(body.get("Message", ""))
    return "", str(error)


class ExecSignalAdapter:
    """:class:`serverless.domain.signals.SignalPort` through ECS Exec (``exec`` stop action).

    ``ecs_client`` and ``ssm_client`` are botocore clients (created on first use when
    omitted; the ECS one, which sends ExecuteCommand alone, in botocore's adaptive mode);
    ``limits`` bound each step of the session; ``shell`` runs the command. The result
    counts ExecuteCommand's throttled attempts.
    """

    def __init__(
        self,
        ecs_client: Any | None = None,
        ssm_client: Any | None = None,
        *,
        limits: SessionLimits | None = None,
        shell: str = "/bin/sh",
        session_runner: SessionRunner = run_session,
    ) -> None:
        self._ecs = LazyClient("ecs", ecs_client, signal_call_config("ecs"))
        self._ssm = LazyClient("ssm", ssm_client)
        self._limits = limits or SessionLimits()
        self._shell = shell
        self._run_session = session_runner
        self._throttles = ThrottleCounter()

    @property
    def time_bound(self) -> float:
        """The longest one :meth:`signal` can take: ExecuteCommand, every session step
        timing out, TerminateSession."""
        return (
            call_time_bound(signal_call_config("ecs"))
            + self._limits.total
            + call_time_bound(client_config("ssm"))
        )

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        """Run the signal command in ``target``'s container and say how it went."""
        started = time.monotonic()
        self._throttles.start()

        def result(outcome: SignalOutcome, **fields: Any) -> SignalResult:
            return SignalResult(
                action=ACTION,
                outcome=outcome,
                elapsed=time.monotonic() - started,
                throttled=self._throttles.count,
                **fields,
            )

        try:
            with aws_errors("ExecuteCommand"):
                response = self._throttles.watch(self._ecs.get()).execute_command(
                    cluster=target.cluster_arn,
                    task=target.task_arn,
                    container=target.container_name,
                    interactive=True,
                    command=container_command(command, self._shell),
                )
        except AwsUnavailableError as error:
            error.throttled = self._throttles.count
            raise
        except NotFoundError as error:
            return result(SignalOutcome.TASK_GONE, detail=str(error))
        except DrainTerminatorError as error:
            outcome, missing = self._refusal(error)
            return result(outcome, missing=missing, detail=str(error))
        session = response.get("session") or {}
        session_id = session.get("sessionId")
        stream_url, token = session.get("streamUrl"), session.get("tokenValue")
        if not stream_url or not token:
            note = self._terminate(session_id)
            return result(
                SignalOutcome.SESSION_FAILED,
                detail=f"ExecuteCommand returned no session to connect to{note}",
                reference=session_id,
            )
        transcript = self._run_session(
            stream_url, token, self._limits, exit_marker=EXIT_MARKER.encode()
        )
        note = "" if transcript.end == SessionEnd.CLOSED else self._terminate(session_id)
        outcome, missing, status, detail = self._judge(transcript)
        return result(
            outcome,
            exit_status=status,
            output=bounded_output(transcript.output.decode("utf-8", errors="replace")),
            missing=missing,
            detail=detail + note,
            reference=session_id,
        )

    @staticmethod
    def _refusal(error: DrainTerminatorError) -> tuple[SignalOutcome, Missing | None]:
        code, message = _error_code(error)
        if code == "AccessDeniedException":
            return SignalOutcome.PREREQUISITE_MISSING, Missing.ACCESS_DENIED
        if code == "TargetNotConnectedException":
            return SignalOutcome.PREREQUISITE_MISSING, Missing.AGENT_NOT_CONNECTED
        if code == "InvalidParameterException" and _EXEC_NOT_ENABLED.search(message):
            return SignalOutcome.PREREQUISITE_MISSING, Missing.EXEC_NOT_ENABLED
        return SignalOutcome.REFUSED, None

    @staticmethod
    def _judge(
        transcript: SessionTranscript,
    ) -> tuple[SignalOutcome, Missing | None, int | None, str]:
        status = transcript.exit_status
        where = f"{transcript.end.value.lower()} in the {transcript.phase} step"
        if status is not None:
            outcome, missing = outcome_of_exit_status(status)
            return outcome, missing, status, f"the command exited {status} ({where})"
        text = transcript.output.decode("utf-8", errors="replace") + transcript.closed_output
        if _START_FAILED.search(text):
            detail = f"the command could not start: {text.strip()[-200:]}"
            return SignalOutcome.PREREQUISITE_MISSING, Missing.PROGRAM_MISSING, None, detail
        detail = f"{where}: {transcript.detail}"
        if transcript.end == SessionEnd.HANDSHAKE_FAILED:
            if "KMS" in transcript.detail:
                return SignalOutcome.PREREQUISITE_MISSING, Missing.SESSION_ENCRYPTION, None, detail
            return SignalOutcome.SESSION_FAILED, None, None, detail
        if transcript.end == SessionEnd.TIMED_OUT:
            return SignalOutcome.TIMED_OUT, None, None, detail
        if transcript.handshake_complete:
            detail += "; the command began but no exit status came back"
            return SignalOutcome.UNCONFIRMED, None, None, detail
        return SignalOutcome.SESSION_FAILED, None, None, detail

    def _terminate(self, session_id: str | None) -> str:
        """End the session with TerminateSession (best effort); a note for the detail."""
        if not session_id:
            return ""
        try:
            with aws_errors("TerminateSession"):
                self._ssm.get().terminate_session(SessionId=session_id)
        except DrainTerminatorError as error:
            return f"; TerminateSession failed: {error}"
        return "; session terminated"
