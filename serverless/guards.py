"""Guards that may defer an early stop: minimum healthy targets and staggered stops."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from serverless.clock import Clock
from serverless.errors import DrainTerminatorError
from serverless.model import ServiceInfo, ServicePolicy, TaskRecord
from serverless.ports import LedgerPort, TargetHealthPort

__all__ = ["HEALTH_RECHECK_SECONDS", "Deferral", "Guards", "recheck_at", "stagger_key"]

#: How often tasks the min-healthy guard deferred are looked at again: on a grid of this
#: step shared by every task, at the first grid point at least half a step away (7.5-22.5 s
#: later, 15 s on average). One sweeper wake and one DescribeTargetHealth per target group
#: then serve all the deferred tasks of a service, not one wake and read per task each on
#: its own schedule; ELB's Describe* bucket (10/s, shared by the account) is the scarce one.
HEALTH_RECHECK_SECONDS = 15.0
#: How long one DescribeTargetHealth answer is reused: within one batch of decisions only,
#: so a stop is never decided on health older than a second.
HEALTH_CACHE_SECONDS = 1.0
#: How long a taken stagger slot stays held beyond its spacing if the run dies before it can
#: record when its StopTask happened.
STAGGER_HOLD_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Deferral:
    """Why a stop waits, and until when."""

    until: float
    reason: str


def recheck_at(now: float) -> float:
    """When a task the min-healthy guard defers at ``now`` is looked at again."""
    step = HEALTH_RECHECK_SECONDS
    return math.ceil((now + step / 2) / step) * step


def stagger_key(record: TaskRecord) -> str:
    """Ledger key of a service's stagger item (max-stops-per-minute)."""
    return f"stagger#{record.cluster_arn}#{record.service_name}"


class Guards:
    """Evaluates a service's guards; one instance per sweeper run (it caches target health)."""

    def __init__(
        self,
        ledger: LedgerPort,
        health: TargetHealthPort,
        clock: Clock,
        before_health_call: Callable[[], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._health = health
        self._clock = clock
        self._before_health_call = before_health_call
        self._healthy: dict[str, tuple[int, float]] = {}
        self._held: dict[str, tuple[str, float, float]] = {}

    def _healthy_count(self, target_group_arn: str, now: float) -> int:
        cached = self._healthy.get(target_group_arn)
        if cached is not None and cached[1] > now:
            return cached[0]
        if self._before_health_call is not None:
            self._before_health_call()
        value = self._health.healthy_count(target_group_arn)
        self._healthy[target_group_arn] = (value, now + HEALTH_CACHE_SECONDS)
        return value

    def min_healthy(
        self, policy: ServicePolicy, info: ServiceInfo | None, now: float
    ) -> Deferral | None:
        """Defer while any target group has fewer healthy targets than the percent of the
        service's desired count (``info``, read fresh by the caller) requires.

        Raises a DrainTerminatorError when health cannot be read: the caller defers.
        """
        if policy.min_healthy_percent is None:
            return None
        if info is None or not info.target_group_arns:
            return None
        required = math.ceil(policy.min_healthy_percent * info.desired_count / 100)
        for target_group in info.target_group_arns:
            healthy = self._healthy_count(target_group, now)
            if healthy < required:
                return Deferral(
                    recheck_at(now),
                    f"{healthy} healthy target(s) in {target_group.rsplit(':', 1)[-1]}, "
                    f"need {required} ({policy.min_healthy_percent}% of desired "
                    f"{info.desired_count})",
                )
        return None

    def stagger(self, record: TaskRecord, policy: ServicePolicy, now: float) -> Deferral | None:
        """Take the service's stagger slot (at most N stops a minute, at least 60/N s apart).

        The slot is held until :meth:`settle` records when the stop really happened, so a
        StopTask delayed by retries cannot bring the next stop closer than 60/N s.
        """
        if policy.max_stops_per_minute is None:
            return None
        spacing = 60.0 / policy.max_stops_per_minute
        key = stagger_key(record)
        held = now + spacing + STAGGER_HOLD_SECONDS
        opens = self._ledger.reserve_stagger(key, now, held)
        if opens is None:
            self._held[record.task_arn] = (key, held, spacing)
            return None
        return Deferral(
            min(opens, now + spacing),
            f"max {policy.max_stops_per_minute} stop(s) per minute for the service",
        )

    def settle(self, record: TaskRecord, stopped_at: float | None, now: float) -> None:
        """Release the slot :meth:`stagger` took for ``record``.

        ``stopped_at``: when the StopTask succeeded (the next slot opens 60/N s later), or
        None when no stop happened (the slot is free again at once).
        """
        held = self._held.pop(record.task_arn, None)
        if held is None:
            return
        key, until, spacing = held
        next_at = now if stopped_at is None else stopped_at + spacing
        # If the ledger fails the hold lapses by itself at ``until``: later stops
        # wait longer, never less.
        with contextlib.suppress(DrainTerminatorError):
            self._ledger.settle_stagger(key, until, next_at)
