"""Lambda as the handlers experience it: contexts, timeouts, concurrency, async retries.

An invocation runs the real handler as a :class:`sim.engine.loop.Process`, with a context whose
``get_remaining_time_in_millis()`` is computed from the virtual clock. The runtime kills
an invocation at its timeout (and wherever a chaos ``kill_policy`` says) by raising
:class:`LambdaKilled`, a ``BaseException`` the handler cannot swallow with
``except Exception``, at its next AWS call or clock wake-up. Asynchronous invocations
(EventBridge targets) that fail are retried like Lambda does (twice, 60 s then 120 s
later); invocations over the reserved concurrency are throttled and retried as Lambda's
queue retries them (1 s after the first attempt, the interval doubling up to 5 minutes);
an event older than the maximum event age (6 h by default) is dropped instead of retried.

Each invocation runs in a *container*. A function with an ``app_factory`` builds one App
per container (its own warm caches) the first time the container is used (a cold start,
which also costs ``cold_start_seconds`` of virtual time) and installs that container's
App whenever the invocation's process resumes, so concurrent invocations never share a
cache they would not share in Lambda. A container idle for ``container_idle_seconds`` is
reclaimed.
"""

from __future__ import annotations

import argparse
import functools
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from sim.engine.loop import EventLoop, Process
from sim.engine.observe import Kind, ObservationLog
from sim.terraform import async_invocation, backstop_schedule, variable_default

__all__ = [
    "Container",
    "Handler",
    "Invocation",
    "KillPolicy",
    "LambdaContext",
    "LambdaFunction",
    "LambdaKilled",
    "deployed_queue",
    "deployed_reserved_concurrency",
    "deployed_timeout",
    "reserved_concurrency_argument",
]

Handler = Callable[[dict[str, Any], Any], Any]
#: ``(invocation, rng) -> seconds after start to kill it, or None``.
KillPolicy = Callable[["Invocation", random.Random], float | None]

ASYNC_RETRY_DELAYS = (60.0, 120.0)
#: A throttled asynchronous event is tried again after 1 s, then after twice as long each
#: time, at most 5 minutes apart (Lambda's documented retry of throttled events).
THROTTLE_RETRY_FIRST_SECONDS = 1.0
THROTTLE_RETRY_MAX_SECONDS = 300.0
#: Lambda's default maximum age of an asynchronous event (6 hours).
MAX_EVENT_AGE_SECONDS = 6 * 3600.0
#: Assumed cold start of a Python function with Powertools (init phase), virtual seconds.
COLD_START_SECONDS = 0.4
#: Idle containers are reclaimed after this long (assumed; Lambda does not document it).
CONTAINER_IDLE_SECONDS = 600.0


class LambdaKilled(BaseException):
    """The invocation was killed (timeout or injected); raised inside the handler's thread."""


@dataclass(slots=True)
class LambdaContext:
    """What Powertools and the handlers read of a Lambda context."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    loop: EventLoop
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "2026/01/01/[$LATEST]simulated"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the timeout, on the virtual clock."""
        return max(0, int((self.deadline - self.loop.now) * 1000))


@dataclass(slots=True)
class Invocation:
    """One invocation attempt and its outcome."""

    function: str
    request_id: str
    attempt: int
    started_at: float
    ended_at: float | None = None
    outcome: str = "running"  # ok | error | killed | timeout
    error: str | None = None
    result: Any = None
    event_id: str | None = None
    aws_calls: int = 0
    kill_after_calls: int | None = None
    cold: bool = False
    container: int = 0
    process: Process | None = field(default=None, repr=False)


@dataclass(slots=True)
class Container:
    """One execution environment: its App (warm caches) and when it was last used."""

    number: int
    app: Any
    idle_since: float
    busy: bool = False


class LambdaFunction:
    """A function: handler, timeout, reserved concurrency, retry behaviour."""

    def __init__(
        self,
        loop: EventLoop,
        log: ObservationLog,
        *,
        name: str,
        handler: Handler,
        timeout: float,
        rng: random.Random,
        account: str,
        region: str,
        reserved_concurrency: int | None = None,
        kill_policy: KillPolicy | None = None,
        async_retry_delays: tuple[float, ...] = ASYNC_RETRY_DELAYS,
        app_factory: Callable[[], Any] | None = None,
        install: Callable[[Any], None] | None = None,
        cold_start_seconds: float = 0.0,
        max_event_age: float = MAX_EVENT_AGE_SECONDS,
        container_idle_seconds: float = CONTAINER_IDLE_SECONDS,
    ) -> None:
        self.loop = loop
        self.log = log
        self.name = name
        self.handler = handler
        self.timeout = timeout
        self.rng = rng
        self.arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        self.reserved_concurrency = reserved_concurrency
        self.kill_policy = kill_policy
        self.async_retry_delays = async_retry_delays
        self.app_factory = app_factory
        self.install = install
        self.cold_start_seconds = cold_start_seconds
        self.max_event_age = max_event_age
        self.container_idle_seconds = container_idle_seconds
        self.invocations: list[Invocation] = []
        self.throttles = 0
        self.dropped = 0
        self.containers_started = 0
        self._idle: list[Container] = []
        self._running = 0

    @property
    def running(self) -> int:
        """Invocations in progress."""
        return self._running

    def invoke_async(
        self,
        event: dict[str, Any],
        *,
        attempt: int = 0,
        queued_at: float | None = None,
        throttled: int = 0,
    ) -> None:
        """Invoke as EventBridge does (asynchronously, with Lambda's retries); ``throttled``:
        how often this attempt was throttled already."""
        queued_at = self.loop.now if queued_at is None else queued_at
        if self.loop.now - queued_at > self.max_event_age:
            self.dropped += 1
            self.log.record(
                self.loop.now, Kind.LAMBDA_DROPPED, self.name, attempt=attempt,
                event_id=event.get("id"), age=round(self.loop.now - queued_at, 3),
            )  # fmt: skip
            return
        if self.reserved_concurrency is not None and self._running >= self.reserved_concurrency:
            self.throttles += 1
            self.log.record(self.loop.now, Kind.LAMBDA_THROTTLED, self.name, attempt=attempt)
            delay = min(THROTTLE_RETRY_FIRST_SECONDS * 2**throttled, THROTTLE_RETRY_MAX_SECONDS)
            self.loop.call_later(
                delay,
                lambda: self.invoke_async(
                    event, attempt=attempt, queued_at=queued_at, throttled=throttled + 1
                ),
            )
            return
        request_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        container, cold = self._container()
        start_delay = self.cold_start_seconds if cold else 0.0
        invocation = Invocation(
            self.name,
            request_id,
            attempt,
            self.loop.now,
            event_id=event.get("id"),
            cold=cold,
            container=container.number if container else 0,
        )
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            aws_request_id=request_id,
            deadline=self.loop.now + start_delay + self.timeout,
            loop=self.loop,
            log_group_name=f"/aws/lambda/{self.name}",
        )
        self._running += 1
        self.invocations.append(invocation)
        self.log.record(
            self.loop.now,
            Kind.LAMBDA_START,
            self.name,
            request_id=request_id,
            attempt=attempt,
            event_id=invocation.event_id,
            cold=cold,
        )
        process = self.loop.spawn(
            f"{self.name}:{request_id[:8]}",
            lambda: self.handler(event, context),
            delay=start_delay,
        )
        process.tag = invocation
        invocation.process = process
        process.kill_at = context.deadline
        if self.kill_policy is not None:
            after = self.kill_policy(invocation, self.rng)
            if after is not None:
                process.kill_at = min(context.deadline, self.loop.now + after)
        process.on_resume.append(self._check_kill)
        if container is not None and self.install is not None:
            install, app = self.install, container.app
            process.on_resume.append(lambda _: install(app))
        process.on_exit.append(
            lambda p: self._finished(p, invocation, event, context, container, queued_at)
        )

    def _container(self) -> tuple[Container | None, bool]:
        """A warm idle container (most recently used first) or a new, cold one."""
        if self.app_factory is None:
            return None, False
        now = self.loop.now
        self._idle = [c for c in self._idle if now - c.idle_since < self.container_idle_seconds]
        if self._idle:
            container = self._idle.pop()
            container.busy = True
            return container, False
        self.containers_started += 1
        container = Container(self.containers_started, self.app_factory(), now, busy=True)
        return container, True

    def _check_kill(self, process: Process) -> None:
        if process.kill_at is not None and self.loop.now >= process.kill_at:
            raise LambdaKilled(f"{self.name} killed at {self.loop.now:.3f}")

    def _finished(
        self,
        process: Process,
        invocation: Invocation,
        event: dict[str, Any],
        context: LambdaContext,
        container: Container | None,
        queued_at: float,
    ) -> None:
        self._running -= 1
        if container is not None:
            container.busy, container.idle_since = False, self.loop.now
            if process.error is None or not isinstance(process.error, LambdaKilled):
                self._idle.append(container)  # a killed or timed-out sandbox is not reused
        invocation.ended_at = self.loop.now
        error = process.error
        if error is None:
            invocation.outcome, invocation.result = "ok", process.result
        elif isinstance(error, LambdaKilled):
            timed_out = self.loop.now >= context.deadline
            invocation.outcome = "timeout" if timed_out else "killed"
            invocation.error = str(error)
        else:
            invocation.outcome, invocation.error = "error", f"{type(error).__name__}: {error}"
        self.log.record(
            self.loop.now,
            Kind.LAMBDA_END,
            self.name,
            request_id=invocation.request_id,
            outcome=invocation.outcome,
            error=invocation.error,
            seconds=round(self.loop.now - invocation.started_at, 3),
        )
        if invocation.outcome != "ok" and invocation.attempt < len(self.async_retry_delays):
            delay = self.async_retry_delays[invocation.attempt]
            self.loop.call_later(
                delay,
                lambda: self.invoke_async(
                    event, attempt=invocation.attempt + 1, queued_at=queued_at
                ),
            )


@functools.cache
def deployed_timeout(function: str) -> float:
    """A simulated function's timeout: the module's default (``<function>_timeout``), read
    once per process (every simulated world asks)."""
    return float(variable_default(f"{function}_timeout"))


@functools.cache
def deployed_reserved_concurrency(function: str) -> int | None:
    """A simulated function's reserved concurrency: the module's default
    (``<function>_reserved_concurrency``; None: unreserved), read once per process. The
    module reserves the sweeper one slot more for the backstop's run when it deploys the
    backstop (terraform/functions.tf), and so does this."""
    value = variable_default(f"{function}_reserved_concurrency")
    if value is None:
        return None
    backstop = function == "sweeper" and backstop_schedule() is not None
    return int(value) + (1 if backstop else 0)


@functools.cache
def deployed_queue(function: str) -> Mapping[str, Any]:
    """A simulated function's asynchronous invocation settings, as the module deploys
    them (terraform/functions.tf): maximum event age, and Lambda's retry delays (one, then
    two minutes) for the retry attempts it allows; read once per process."""
    settings = async_invocation(function)
    return MappingProxyType(
        {
            "max_event_age": settings.maximum_event_age_seconds,
            "async_retry_delays": ASYNC_RETRY_DELAYS[: settings.maximum_retry_attempts],
        }
    )


def reserved_concurrency_argument(text: str) -> int | Literal["module"] | None:
    """A command line's reserved concurrency: ``module`` (the module's default), 1-10 (what
    the module accepts for the sweeper) or ``unreserved`` (None); raises
    ``argparse.ArgumentTypeError`` otherwise."""
    if text == "module":
        return "module"
    if text == "unreserved":
        return None
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1-10, 'unreserved' or 'module'")
    return int(text)
