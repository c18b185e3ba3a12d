"""How a service's tags become its :class:`ServicePolicy` (opt-in, wait, guards, dry-run,
stop action)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from serverless.domain.model import ServicePolicy, StopAction, UnhealthyAction
from serverless.domain.signals import SignalCommand

__all__ = [
    "MAX_TAG_DIGITS",
    "TAG_DRY_RUN",
    "TAG_ENABLED",
    "TAG_EXEC_CONTAINER",
    "TAG_MAX_STOPS_PER_MINUTE",
    "TAG_MIN_HEALTHY_PERCENT",
    "TAG_SSM_FALLBACK",
    "TAG_STOP_ACTION",
    "TAG_STOP_COMMAND",
    "TAG_STOP_SIGNAL",
    "TAG_UNHEALTHY",
    "TAG_WAIT_SECONDS",
    "PolicyResult",
    "parse_policy",
]

#: Numeric tag values have at most this many digits (wait-seconds up to ~31 years).
MAX_TAG_DIGITS = 9
TAG_ENABLED = "enabled"
TAG_WAIT_SECONDS = "wait-seconds"
TAG_MIN_HEALTHY_PERCENT = "min-healthy-percent"
TAG_MAX_STOPS_PER_MINUTE = "max-stops-per-minute"
TAG_DRY_RUN = "dry-run"
#: What happens to drains of tasks stopped for failing health checks (stop-early|leave).
TAG_UNHEALTHY = "unhealthy"
TAG_STOP_ACTION = "stop-action"
TAG_EXEC_CONTAINER = "exec-container"
TAG_STOP_SIGNAL = "stop-signal"
TAG_STOP_COMMAND = "stop-command"
TAG_SSM_FALLBACK = "ssm-fallback"


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """A parsed policy plus the problems found in the tags (the caller logs them)."""

    policy: ServicePolicy
    warnings: tuple[str, ...] = ()


def _whole(raw: str) -> int | None:
    """A whole number of at most :data:`MAX_TAG_DIGITS` digits (anything longer could not
    be stored in the ledger and means nothing as seconds or stops), else None."""
    text = raw.strip()
    if not text or not text.isascii() or not text.isdigit() or len(text) > MAX_TAG_DIGITS:
        return None
    return int(text)


def parse_policy(
    tags: Mapping[str, str],
    prefix: str,
    default_wait: int,
    default_action: StopAction = StopAction.STOP_TASK,
) -> PolicyResult:
    """Turn a service's tags into its :class:`ServicePolicy`.

    ``<prefix>enabled`` must be ``true`` (any case) to opt in. An invalid wait falls back to
    ``default_wait`` (never to zero); an invalid guard value turns that guard off; an
    invalid stop action falls back to ``default_action`` (the module's default), an invalid
    signal to the module's default signal. Each produces a warning naming the tag and the
    value.
    """
    warnings: list[str] = []
    enabled = tags.get(prefix + TAG_ENABLED, "").strip().lower() == "true"

    wait = default_wait
    raw_wait = tags.get(prefix + TAG_WAIT_SECONDS)
    if raw_wait is not None:
        parsed = _whole(raw_wait)
        if parsed is None:
            warnings.append(
                f"tag {prefix}{TAG_WAIT_SECONDS}={raw_wait!r} is not a whole number of "
                f"seconds from 0 to {10**MAX_TAG_DIGITS - 1}; using the default {default_wait}s"
            )
        else:
            wait = parsed

    min_healthy: int | None = None
    raw_min = tags.get(prefix + TAG_MIN_HEALTHY_PERCENT)
    if raw_min is not None:
        parsed = _whole(raw_min)
        if parsed is None or parsed > 100:
            warnings.append(
                f"tag {prefix}{TAG_MIN_HEALTHY_PERCENT}={raw_min!r} must be 0-100; "
                "the min-healthy guard is off"
            )
        else:
            min_healthy = parsed

    max_stops: int | None = None
    raw_max = tags.get(prefix + TAG_MAX_STOPS_PER_MINUTE)
    if raw_max is not None:
        parsed = _whole(raw_max)
        if parsed is None or parsed < 1:
            warnings.append(
                f"tag {prefix}{TAG_MAX_STOPS_PER_MINUTE}={raw_max!r} must be a whole "
                f"number from 1 to {10**MAX_TAG_DIGITS - 1}; stops are not staggered"
            )
        else:
            max_stops = parsed

    dry_run = False
    raw_dry = tags.get(prefix + TAG_DRY_RUN)
    if raw_dry is not None:
        value = raw_dry.strip().lower()
        if value in {"true", "false"}:
            dry_run = value == "true"
        else:
            # Fail safe: a mistyped dry-run tag must not turn real stops on.
            dry_run = True
            warnings.append(
                f"tag {prefix}{TAG_DRY_RUN}={raw_dry!r} is not true or false; "
                "treating the service as dry-run"
            )

    unhealthy = UnhealthyAction.STOP_EARLY
    raw_unhealthy = tags.get(prefix + TAG_UNHEALTHY)
    if raw_unhealthy is not None:
        value = raw_unhealthy.strip().lower()
        if value in {action.value for action in UnhealthyAction}:
            unhealthy = UnhealthyAction(value)
        else:
            # Fail safe, as for dry-run: a mistyped tag must not turn stops on.
            unhealthy = UnhealthyAction.LEAVE
            warnings.append(
                f"tag {prefix}{TAG_UNHEALTHY}={raw_unhealthy!r} is not stop-early or leave; "
                "leaving drains of unhealthy tasks to ECS"
            )

    stop = _stop_tags(tags, prefix, default_action, warnings)
    policy = ServicePolicy(
        enabled=enabled,
        wait_seconds=wait,
        min_healthy_percent=min_healthy,
        max_stops_per_minute=max_stops,
        dry_run=dry_run,
        unhealthy=unhealthy,
        stop_action=stop.action,
        exec_container=stop.container,
        stop_signal=stop.signal,
        stop_command=stop.command,
        ssm_fallback=stop.ssm_fallback,
    )
    return PolicyResult(policy, tuple(warnings))


@dataclass(frozen=True, slots=True)
class _StopTags:
    action: StopAction
    container: str | None
    signal: str | None
    command: str | None
    ssm_fallback: bool


def _stop_tags(
    tags: Mapping[str, str], prefix: str, default_action: StopAction, warnings: list[str]
) -> _StopTags:
    """The policy's stop-action fields from their tags (warnings appended)."""
    action = default_action
    raw_action = tags.get(prefix + TAG_STOP_ACTION)
    if raw_action is not None:
        try:
            action = StopAction(raw_action.strip().lower())
        except ValueError:
            choices = ", ".join(str(a) for a in StopAction)
            warnings.append(
                f"tag {prefix}{TAG_STOP_ACTION}={raw_action!r} is not one of {choices}; "
                f"using the default {default_action}"
            )

    container: str | None = None
    raw_container = tags.get(prefix + TAG_EXEC_CONTAINER)
    if raw_container is not None:
        if raw_container.strip():
            container = raw_container.strip()
        else:
            warnings.append(
                f"tag {prefix}{TAG_EXEC_CONTAINER} is empty; "
                "signalling the load balancer's container"
            )

    signal: str | None = None
    raw_signal = tags.get(prefix + TAG_STOP_SIGNAL)
    if raw_signal is not None:
        try:
            signal = SignalCommand(signal=raw_signal.strip()).signal
        except ValueError:
            warnings.append(
                f"tag {prefix}{TAG_STOP_SIGNAL}={raw_signal!r} is not a signal name or "
                "number; using the module's default signal"
            )

    command: str | None = None
    raw_command = tags.get(prefix + TAG_STOP_COMMAND)
    if raw_command is not None:
        if raw_command.strip():
            command = raw_command.strip()
        else:
            warnings.append(
                f"tag {prefix}{TAG_STOP_COMMAND} is empty; using the module's default command"
            )

    ssm_fallback = False
    raw_fallback = tags.get(prefix + TAG_SSM_FALLBACK)
    if raw_fallback is not None:
        value = raw_fallback.strip().lower()
        if value in {"true", "false"}:
            ssm_fallback = value == "true"
        else:
            warnings.append(
                f"tag {prefix}{TAG_SSM_FALLBACK}={raw_fallback!r} is not true or false; "
                "no ssm-signal fallback"
            )
    return _StopTags(action, container, signal, command, ssm_fallback)
