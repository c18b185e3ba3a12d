"""Pure rules: how tags become a policy, what a stop reason says, how records change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from serverless.model import (
    Outcome,
    RecordStatus,
    ServicePolicy,
    TaskEvent,
    TaskRecord,
    TaskState,
)

__all__ = [
    "REASON_PREFIX",
    "TAG_DRY_RUN",
    "TAG_ENABLED",
    "TAG_MAX_STOPS_PER_MINUTE",
    "TAG_MIN_HEALTHY_PERCENT",
    "TAG_WAIT_SECONDS",
    "PolicyResult",
    "claimed",
    "close_record",
    "new_drain_record",
    "observed",
    "on_drain_event",
    "on_stopped_event",
    "outcome_for_observed",
    "parse_policy",
    "released",
    "stop_reason",
    "stop_requested",
]

REASON_PREFIX = "drain-terminator:"
MAX_REASON_LENGTH = 255

TAG_ENABLED = "enabled"
TAG_WAIT_SECONDS = "wait-seconds"
TAG_MIN_HEALTHY_PERCENT = "min-healthy-percent"
TAG_MAX_STOPS_PER_MINUTE = "max-stops-per-minute"
TAG_DRY_RUN = "dry-run"


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """A parsed policy plus the problems found in the tags (the caller logs them)."""

    policy: ServicePolicy
    warnings: tuple[str, ...] = ()


def _whole(raw: str) -> int | None:
    text = raw.strip()
    if not text or not text.isascii() or not text.isdigit():
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
                f"seconds >= 0; using the default {default_wait}s"
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
                "number >= 1; stops are not staggered"
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

    policy = ServicePolicy(
        enabled=enabled,
        wait_seconds=wait,
        min_healthy_percent=min_healthy,
        max_stops_per_minute=max_stops,
        dry_run=dry_run,
    )
    return PolicyResult(policy, tuple(warnings))


def stop_reason(wait_seconds: int) -> str:
    """The human-readable StopTask reason (<= 255 characters, starts with the prefix)."""
    reason = (
        f"{REASON_PREFIX} load balancer target draining for {wait_seconds}s "
        "(deregistration delay not awaited)"
    )
    return reason[:MAX_REASON_LENGTH]


def new_drain_record(event: TaskEvent, service_name: str, policy: ServicePolicy) -> TaskRecord:
    """The first record of a task; the wait runs from the event's own time, never from now."""
    return TaskRecord(
        task_arn=event.task_arn,
        cluster_arn=event.cluster_arn,
        service_name=service_name,
        status=RecordStatus.DRAINING,
        version=event.version,
        drain_started_at=event.time,
        wait_seconds=policy.wait_seconds,
        due_at=event.time + policy.wait_seconds,
        observed_status=event.last_status,
    )


def on_drain_event(record: TaskRecord, event: TaskEvent) -> TaskRecord | None:
    """Apply a (possibly duplicate or late) drain event; None when nothing changes.

    A drain event never re-opens a record that is no longer draining. An older event with
    an earlier time moves the drain start back to the true first event; a newer one only
    updates the observed state.
    """
    if record.status is not RecordStatus.DRAINING:
        return None
    changed = record
    if event.version > record.version:
        changed = replace(changed, version=event.version, observed_status=event.last_status)
    if event.time < record.drain_started_at:
        changed = replace(changed, drain_started_at=event.time)
        # Keep any guard deferral: only the wait-based part of the deadline moves.
        if record.deferrals == 0:
            changed = replace(changed, due_at=event.time + record.wait_seconds)
    return None if changed == record else changed


def claimed(record: TaskRecord, owner: str, until: float) -> TaskRecord:
    """``record`` leased to the sweeper run ``owner`` until ``until``."""
    return replace(record, lease_owner=owner, lease_until=until)


def released(
    record: TaskRecord,
    due_at: float,
    *,
    attempts: int | None = None,
    deferred_because: str | None = None,
) -> TaskRecord:
    """``record`` without its lease, due again at ``due_at``.

    ``attempts``: failed StopTask attempts so far; ``deferred_because``: a guard deferred
    the stop (counted in ``deferrals``).
    """
    released_record = replace(record, lease_owner=None, lease_until=None, due_at=due_at)
    if attempts is not None:
        released_record = replace(released_record, attempts=attempts)
    if deferred_because is not None:
        released_record = replace(
            released_record, deferrals=record.deferrals + 1, defer_reason=deferred_because
        )
    return released_record


def stop_requested(record: TaskRecord, at: float, reason: str, confirm_at: float) -> TaskRecord:
    """``record`` after our StopTask succeeded at ``at``: confirm the effect at ``confirm_at``."""
    return replace(
        record,
        status=RecordStatus.STOP_REQUESTED,
        stop_requested_at=at,
        stop_reason=reason,
        due_at=confirm_at,
        lease_owner=None,
        lease_until=None,
    )


def outcome_for_observed(
    record: TaskRecord, stopped_reason: str | None, last_status: str | None
) -> Outcome:
    """Who stopped a task that is no longer draining: us, ECS, or nobody yet."""
    if record.status is RecordStatus.STOP_REQUESTED:
        return Outcome.STOPPED_BY_TERMINATOR
    if stopped_reason and stopped_reason.startswith(REASON_PREFIX):
        return Outcome.STOPPED_BY_TERMINATOR
    if last_status in {"STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"}:
        return Outcome.STOPPED_BY_ECS
    return Outcome.NOT_DRAINING


def observed(record: TaskRecord, seen: TaskEvent | TaskState) -> TaskRecord:
    """``record`` annotated with what an event or DescribeTasks showed of its task."""
    annotated = replace(
        record,
        observed_status=seen.last_status,
        stopped_reason=seen.stopped_reason,
        stopping_at=seen.stopping_at,
        stopped_at=seen.stopped_at,
    )
    if isinstance(seen, TaskEvent):
        annotated = replace(annotated, version=max(record.version, seen.version))
    return annotated


def close_record(
    record: TaskRecord,
    outcome: Outcome,
    now: float,
    retention_seconds: int,
    *,
    seen: TaskEvent | TaskState | None = None,
    attempts: int | None = None,
) -> TaskRecord:
    """A closed copy of ``record`` that expires ``retention_seconds`` from ``now``.

    ``seen``: the task as last observed; ``attempts``: failed StopTask attempts.
    """
    closed = replace(
        record if seen is None else observed(record, seen),
        status=RecordStatus.CLOSED,
        outcome=outcome,
        closed_at=now,
        lease_owner=None,
        lease_until=None,
        expires_at=int(now + retention_seconds),
    )
    if attempts is not None:
        closed = replace(closed, attempts=attempts)
    return closed


def on_stopped_event(
    record: TaskRecord,
    event: TaskEvent | TaskState,
    now: float,
    retention_seconds: int,
    confirm_after_seconds: float,
) -> TaskRecord | None:
    """Close (or annotate) a record when its task has left the draining states.

    After our StopTask, a task that took longer than ``confirm_after_seconds`` to start
    stopping is closed as ``unconfirmed``: the early stop demonstrably did not take effect.
    """
    if record.status is RecordStatus.CLOSED:
        if record.stopped_at is not None or event.stopped_at is None:
            return None
        return observed(record, event)
    outcome = outcome_for_observed(record, event.stopped_reason, event.last_status)
    closed = close_record(record, outcome, now, retention_seconds, seen=event)
    if record.status is RecordStatus.STOP_REQUESTED and record.stop_requested_at is not None:
        reached = event.stopping_at or event.stopped_at or now
        took = max(0.0, reached - record.stop_requested_at)
        closed = replace(closed, confirmation_seconds=took)
        if took > confirm_after_seconds:
            closed = replace(closed, outcome=Outcome.UNCONFIRMED)
    return closed
