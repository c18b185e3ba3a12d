"""Signal delivery as a port: send a signal to a task's container without StopTask.

The ``exec`` stop action (ECS Exec) and ``ssm-signal`` (SSM Run Command on the task's EC2
container instance) both end in a :class:`SignalResult`, a value the caller decides on:
whether the signal reached the container, what is missing when it could not, and what
the command printed. Nothing here talks to AWS (adapters implement :class:`SignalPort`).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = [
    "DEFAULT_PID",
    "DEFAULT_SIGNAL",
    "OUTPUT_LIMIT",
    "Missing",
    "SignalCommand",
    "SignalOutcome",
    "SignalPort",
    "SignalResult",
    "SignalTarget",
    "bounded_output",
    "outcome_of_exit_status",
]

DEFAULT_SIGNAL = "TERM"
DEFAULT_PID = 1
#: Characters of command output a result keeps (the end of it: errors come last).
OUTPUT_LIMIT = 2048
#: Exit statuses of a POSIX shell whose command could not run: 126 not executable, 127 not
#: found (no such program in the image).
_PROGRAM_MISSING_STATUSES = frozenset({126, 127})
_SIGNAL = re.compile(r"^(?:SIG)?([A-Z][A-Z0-9+-]*|[0-9]{1,2})$")


class SignalOutcome(StrEnum):
    """How an attempt to signal a container ended."""

    #: The signal command ran and exited 0: the signal was sent.
    SIGNALLED = "SIGNALLED"
    #: The command began but no exit status came back (a container whose PID 1 exits at
    #: once takes the exec session with it): the caller confirms with DescribeTasks.
    UNCONFIRMED = "UNCONFIRMED"
    #: The command ran and exited non-zero (``exit_status``).
    COMMAND_FAILED = "COMMAND_FAILED"
    #: Something the action needs is absent (``missing`` says what); retrying cannot help.
    PREREQUISITE_MISSING = "PREREQUISITE_MISSING"
    #: AWS refused the request for another reason (``detail`` has the error).
    REFUSED = "REFUSED"
    #: The task (or its cluster) no longer exists.
    TASK_GONE = "TASK_GONE"
    #: A step exceeded its time bound (``detail`` names the step).
    TIMED_OUT = "TIMED_OUT"
    #: The session could not be established or broke before the command began.
    SESSION_FAILED = "SESSION_FAILED"

    @property
    def delivered(self) -> bool:
        """Whether the signal was (or may have been) sent to the container."""
        return self in {SignalOutcome.SIGNALLED, SignalOutcome.UNCONFIRMED}


class Missing(StrEnum):
    """The prerequisite a :attr:`SignalOutcome.PREREQUISITE_MISSING` result lacked."""

    #: The task runs without ``enableExecuteCommand`` (set on the service, new tasks).
    EXEC_NOT_ENABLED = "EXEC_NOT_ENABLED"
    #: ECS Exec's agent in the task is not connected to Session Manager (task role's
    #: ssmmessages permissions, or no route to the ssmmessages endpoint).
    AGENT_NOT_CONNECTED = "AGENT_NOT_CONNECTED"
    #: The function's role may not make the call.
    ACCESS_DENIED = "ACCESS_DENIED"
    #: The command's program is not in the image (or not executable): exit 126/127.
    PROGRAM_MISSING = "PROGRAM_MISSING"
    #: ``ssm-signal`` needs the EC2 launch type (a container instance).
    NOT_EC2 = "NOT_EC2"
    #: The container instance is not a managed node of SSM (no SSM agent, or its role
    #: lacks the SSM core permissions).
    SSM_NOT_MANAGED = "SSM_NOT_MANAGED"
    #: The cluster encrypts exec sessions with a KMS key, which this client does not speak.
    SESSION_ENCRYPTION = "SESSION_ENCRYPTION"


@dataclass(frozen=True, slots=True)
class SignalTarget:
    """The container to signal: a task's container, by name."""

    cluster_arn: str
    task_arn: str
    container_name: str


@dataclass(frozen=True, slots=True)
class SignalCommand:
    """What to send: ``kill -<signal> <pid>`` by default, or a command of the user's.

    ``signal`` is a name (``TERM``, ``SIGTERM``, ``INT``) or a number; ``command``, when
    set, replaces the kill command inside the container (e.g. an app's own shutdown
    script); it is run by ``/bin/sh -c``.
    """

    signal: str = DEFAULT_SIGNAL
    pid: int = DEFAULT_PID
    command: str | None = None

    def __post_init__(self) -> None:
        match = _SIGNAL.match(self.signal.upper())
        if not match:
            raise ValueError(f"not a signal name or number: {self.signal!r}")
        object.__setattr__(self, "signal", match.group(1))
        if self.pid < 1:
            raise ValueError(f"pid must be positive: {self.pid}")
        if self.command is not None and not self.command.strip():
            raise ValueError("command must not be blank")

    @property
    def shell_command(self) -> str:
        """The command line the container's shell runs."""
        if self.command is not None:
            return self.command
        return f"kill -{shlex.quote(self.signal)} {self.pid}"


@dataclass(frozen=True, slots=True)
class SignalResult:
    """The outcome of one attempt to signal a container: a value, never an exception."""

    action: str  # "exec" or "ssm-signal"
    outcome: SignalOutcome
    elapsed: float  # seconds the attempt took
    exit_status: int | None = None
    output: str = ""  # at most OUTPUT_LIMIT characters (the end of it)
    missing: Missing | None = None
    detail: str = ""  # one line for logs: why, in words
    reference: str | None = None  # the session id (exec) or command id (ssm-signal)
    #: Attempts of the step's first call (ExecuteCommand, SendCommand) AWS throttled.
    throttled: int = 0

    @property
    def delivered(self) -> bool:
        """Whether the signal was (or may have been) sent."""
        return self.outcome.delivered


def bounded_output(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The last ``limit`` characters of ``text`` (marked when cut)."""
    if len(text) <= limit:
        return text
    return "…" + text[-(limit - 1) :]


def outcome_of_exit_status(status: int) -> tuple[SignalOutcome, Missing | None]:
    """What a signal command's exit status means: 0 sent; 126/127 no such program."""
    if status == 0:
        return SignalOutcome.SIGNALLED, None
    if status in _PROGRAM_MISSING_STATUSES:
        return SignalOutcome.PREREQUISITE_MISSING, Missing.PROGRAM_MISSING
    return SignalOutcome.COMMAND_FAILED, None


class SignalPort(Protocol):
    """Delivers a signal to one container of a task; never raises for an AWS refusal.

    Raises :class:`serverless.domain.errors.AwsUnavailableError` only for a transient AWS failure
    that survived botocore's retries (the caller may try again later).
    """

    @property
    def time_bound(self) -> float:
        """The longest one :meth:`signal` can take, in seconds: the sweeper holds its lease
        on the record (and keeps this much of the invocation) for it."""
        ...

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        """Send ``command`` to ``target`` and say how it went."""
        ...
