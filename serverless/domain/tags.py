"""How a service's tags become its :class:`ServicePolicy` (opt-in, wait, guards, dry-run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from serverless.domain.model import ServicePolicy, UnhealthyAction

__all__ = [
    "MAX_TAG_DIGITS",
    "TAG_DRY_RUN",
    "TAG_ENABLED",
    "TAG_MAX_STOPS_PER_MINUTE",
    "TAG_MIN_HEALTHY_PERCENT",
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


def parse_policy(tags: Mapping[str, str], prefix: str, default_wait: int) -> PolicyResult:
    """Turn a service's tags into its :class:`ServicePolicy`.

    ``<prefix>enabled`` must be ``true`` (any case) to opt in. An invalid wait falls back to
    ``default_wait`` (never to zero); an invalid guard value turns that guard off. Both
    produce a warning naming the tag and the value.
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

    policy = ServicePolicy(
        enabled=enabled,
        wait_seconds=wait,
        min_healthy_percent=min_healthy,
        max_stops_per_minute=max_stops,
        dry_run=dry_run,
        unhealthy=unhealthy,
    )
    return PolicyResult(policy, tuple(warnings))
