"""Guards that may defer an early stop: minimum healthy targets and staggered stops."""

from __future__ import annotations

import math
from dataclasses import dataclass

from serverless.clock import Clock
from serverless.model import ServicePolicy, TaskRecord
from serverless.ports import LedgerPort, TargetHealthPort
from serverless.services import ServiceDirectory

__all__ = ["Deferral", "Guards", "stop_slot_key"]

#: How soon a task deferred by the min-healthy guard is looked at again.
HEALTH_RECHECK_SECONDS = 15.0
#: How long one DescribeTargetHealth answer is reused (the ELB Describe* bucket is 10/s).
HEALTH_CACHE_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Deferral:
    """Why a stop waits, and until when."""

    until: float
    reason: str


def stop_slot_key(record: TaskRecord) -> str:
    """Ledger key of a service's stop-slot item (max-stops-per-minute)."""
    return f"budget#{record.cluster_arn}#{record.service_name}"


class Guards:
    """Evaluates a service's guards; one instance per sweeper run (it caches target health)."""

    def __init__(
        self,
        ledger: LedgerPort,
        health: TargetHealthPort,
        services: ServiceDirectory,
        clock: Clock,
    ) -> None:
        self._ledger = ledger
        self._health = health
        self._services = services
        self._clock = clock
        self._healthy: dict[str, tuple[int, float]] = {}

    def _healthy_count(self, target_group_arn: str, now: float) -> int:
        cached = self._healthy.get(target_group_arn)
        if cached is not None and cached[1] > now:
            return cached[0]
        value = self._health.healthy_count(target_group_arn)
        self._healthy[target_group_arn] = (value, now + HEALTH_CACHE_SECONDS)
        return value

    def min_healthy(self, record: TaskRecord, policy: ServicePolicy, now: float) -> Deferral | None:
        """Defer while any target group has fewer healthy targets than the percent requires."""
        if policy.min_healthy_percent is None:
            return None
        info = self._services.info(record.cluster_arn, record.service_name)
        if info is None or not info.target_group_arns:
            return None
        required = math.ceil(policy.min_healthy_percent * info.desired_count / 100)
        for target_group in info.target_group_arns:
            healthy = self._healthy_count(target_group, now)
            if healthy < required:
                return Deferral(
                    now + HEALTH_RECHECK_SECONDS,
                    f"{healthy} healthy target(s) in {target_group.rsplit(':', 1)[-1]}, "
                    f"need {required} ({policy.min_healthy_percent}% of desired "
                    f"{info.desired_count})",
                )
        return None

    def stagger(self, record: TaskRecord, policy: ServicePolicy, now: float) -> Deferral | None:
        """Take a stop slot (at most N per minute per service, spaced 60/N s apart)."""
        if policy.max_stops_per_minute is None:
            return None
        spacing = 60.0 / policy.max_stops_per_minute
        next_slot = self._ledger.reserve_stop_slot(stop_slot_key(record), now, spacing)
        if next_slot is None:
            return None
        return Deferral(
            next_slot, f"max {policy.max_stops_per_minute} stop(s) per minute for the service"
        )
