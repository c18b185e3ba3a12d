"""Guards that may defer an early stop: minimum healthy targets and staggered stops.

:meth:`Guards.check` gives :func:`serverless.sweep.decide.decide` its guard verdict. The
stagger slot a passing check takes is held in a :class:`StaggerSlot` that
:meth:`Guards.slot` opens around one record's work and settles when the block ends, on
every path: when the stop happened the next slot opens 60/N s after it, else at once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from serverless.domain.clock import Clock
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import ServiceInfo, ServicePolicy, TaskRecord
from serverless.domain.serving import (
    DeploymentView,
    Serving,
    required_healthy,
    serving_of_service,
    serving_revisions,
)
from serverless.ports import EcsPort, LedgerPort, TargetHealthPort
from serverless.sweep.decide import GUARDS_PASSED, Deferral, GuardVerdict
from serverless.sweep.timing import (
    HEALTH_CACHE_SECONDS,
    HEALTH_RECHECK_SECONDS,
    STAGGER_HOLD_SECONDS,
)

__all__ = ["Guards", "StaggerSlot", "recheck_at", "stagger_key"]


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
        before_health_call: Callable[[str], None] | None = None,
        ecs: EcsPort | None = None,
        before_ecs_call: Callable[[str], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._health = health
        self._clock = clock
        self._before_health_call = before_health_call
        self._ecs = ecs
        self._before_ecs_call = before_ecs_call
        self._healthy: dict[str, tuple[int, float]] = {}
        self._deployments: dict[str, tuple[DeploymentView | None, float]] = {}
        #: A revision's load balancers never change: read each once per run.
        self._revisions: dict[str, tuple[str, ...]] = {}

    def _healthy_count(self, target_group_arn: str, now: float) -> int:
        cached = self._healthy.get(target_group_arn)
        if cached is not None and cached[1] > now:
            return cached[0]
        if self._before_health_call is not None:
            self._before_health_call(target_group_arn)
        value = self._health.healthy_count(target_group_arn)
        self._healthy[target_group_arn] = (value, now + HEALTH_CACHE_SECONDS)
        return value

    def serving(self, info: ServiceInfo, started_by: str | None, now: float) -> Serving:
        """The target groups that serve the service's traffic now (see
        :mod:`serverless.domain.serving`): from DescribeServices for rolling and task-set
        services; for ECS-native blue/green, linear and canary ones from the current
        deployment's stage and its revisions (DescribeServiceDeployments and
        DescribeServiceRevisions, paced like DescribeServices).

        Raises a DrainTerminatorError when a read fails: the caller defers.
        """
        direct = serving_of_service(info, started_by)
        if direct is not None:
            return direct
        deployment = self._deployment(info.deployment_arn, now)
        revisions, why = serving_revisions(info, deployment)
        groups = self._revision_groups(revisions)
        if not groups:
            # Revisions unknown to ECS, or naming no group: count both of the service's.
            groups = tuple(dict.fromkeys(info.target_group_arns + info.alternate_target_group_arns))
            why = "both target groups (revisions not readable)"
        return Serving(groups, info.desired_count, why)

    def _deployment(self, arn: str | None, now: float) -> DeploymentView | None:
        if arn is None or self._ecs is None:
            return None
        cached = self._deployments.get(arn)
        if cached is not None and cached[1] > now:
            return cached[0]
        if self._before_ecs_call is not None:
            self._before_ecs_call(arn)
        view = self._ecs.describe_service_deployment(arn)
        self._deployments[arn] = (view, now + HEALTH_CACHE_SECONDS)
        return view

    def _revision_groups(self, revisions: tuple[str, ...]) -> tuple[str, ...]:
        missing = [arn for arn in revisions if arn not in self._revisions]
        if missing and self._ecs is not None:
            if self._before_ecs_call is not None:
                self._before_ecs_call(missing[0])
            self._revisions.update(self._ecs.describe_service_revisions(missing))
        return tuple(
            dict.fromkeys(arn for rev in revisions for arn in self._revisions.get(rev, ()))
        )

    def min_healthy(
        self,
        policy: ServicePolicy,
        info: ServiceInfo | None,
        now: float,
        started_by: str | None = None,
    ) -> Deferral | None:
        """Defer while any target group that serves traffic now (:meth:`serving`) has fewer
        healthy targets than the percent of its desired count requires (``info``, read fresh
        by the caller; ``started_by``: the draining task's deployment or task set).

        Raises a DrainTerminatorError when health cannot be read: the caller defers.
        """
        if policy.min_healthy_percent is None or info is None:
            return None
        serving = self.serving(info, started_by, now)
        if not serving.target_group_arns:
            return None
        required = required_healthy(policy.min_healthy_percent, serving.desired_count)
        for target_group in serving.target_group_arns:
            healthy = self._healthy_count(target_group, now)
            if healthy < required:
                return Deferral(
                    recheck_at(now),
                    f"{healthy} healthy target(s) in {target_group.rsplit(':', 1)[-1]} "
                    f"({serving.source}), need {required} ({policy.min_healthy_percent}% of "
                    f"desired {serving.desired_count})",
                )
        return None

    def stagger(
        self, record: TaskRecord, policy: ServicePolicy, now: float, slot: StaggerSlot
    ) -> Deferral | None:
        """Take the service's stagger slot into ``slot`` (at most N stops a minute, at least
        60/N s apart), or defer until it opens.

        The slot stays held until ``slot``'s block ends and records when the stop really
        happened, so a StopTask delayed by retries cannot bring the next stop closer than
        60/N s.
        """
        if policy.max_stops_per_minute is None:
            return None
        spacing = 60.0 / policy.max_stops_per_minute
        key = stagger_key(record)
        held = now + spacing + STAGGER_HOLD_SECONDS
        opens = self._ledger.reserve_stagger(key, now, held)
        if opens is None:
            slot.hold(key, held, spacing)
            return None
        return Deferral(
            min(opens, now + spacing),
            f"max {policy.max_stops_per_minute} stop(s) per minute for the service",
        )

    def check(
        self,
        record: TaskRecord,
        policy: ServicePolicy,
        info: ServiceInfo | None,
        now: float,
        slot: StaggerSlot,
    ) -> GuardVerdict:
        """Every guard of the service, in turn: the first deferral, the failure of a read, or
        :data:`GUARDS_PASSED` (the stagger slot, if the service has one, is then in ``slot``).
        """
        try:
            return (
                self.min_healthy(policy, info, now, record.started_by)
                or self.stagger(record, policy, now, slot)
                or GUARDS_PASSED
            )
        except DrainTerminatorError as error:
            return error

    @contextmanager
    def slot(self) -> Iterator[StaggerSlot]:
        """A :class:`StaggerSlot` for one record's work, settled when the block ends.

        When the block ends with an exception the slot is left held: its hold lapses by
        itself after :data:`STAGGER_HOLD_SECONDS`, as when a run dies, since a stop may have
        happened that the slot does not know of.
        """
        slot = StaggerSlot()
        yield slot
        self._settle(slot)

    def _settle(self, slot: StaggerSlot) -> None:
        if slot.key is None:
            return
        now = self._clock.now()
        next_at = now if slot.stopped_at is None else slot.stopped_at + slot.spacing
        # If the ledger fails the hold lapses by itself at ``held_until``: later stops
        # wait longer, never less.
        with contextlib.suppress(DrainTerminatorError):
            self._ledger.settle_stagger(slot.key, slot.held_until, next_at)


class StaggerSlot:
    """The stagger slot one record's stop holds (if any), and when that stop happened."""

    __slots__ = ("held_until", "key", "spacing", "stopped_at")

    def __init__(self) -> None:
        self.key: str | None = None
        self.held_until = 0.0
        self.spacing = 0.0
        #: When the stop (or the dry run's would-be stop) happened; None: no stop.
        self.stopped_at: float | None = None

    def hold(self, key: str, held_until: float, spacing: float) -> None:
        """Note the slot :meth:`Guards.stagger` took (held until ``held_until``)."""
        self.key, self.held_until, self.spacing = key, held_until, spacing
