"""The ports the domain core needs; adapters in :mod:`serverless.adapters` implement them.

:class:`Ports` bundles one implementation of each; :func:`serverless.app.bootstrap` takes
it (production: :func:`serverless.adapters.production_ports`; tests and the simulator
build their own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from serverless.domain.accounts import Tenancy
from serverless.domain.model import DueEntry, ServiceInfo, StopAction, TaskRecord, TaskState
from serverless.domain.serving import DeploymentView
from serverless.domain.signals import SignalPort

__all__ = [
    "DESCRIBE_SERVICES_BATCH",
    "Concurrency",
    "EcsPort",
    "LedgerPort",
    "Ports",
    "ServiceListPort",
    "SignalPort",
    "SweepTrigger",
    "TargetHealthPort",
    "TenancyPort",
]

#: DescribeServices describes at most this many services per call (:class:`EcsPort`).
DESCRIBE_SERVICES_BATCH = 10

T = TypeVar("T")
R = TypeVar("R")


class LedgerPort(Protocol):
    """Durable task records with optimistic concurrency on ``rev``."""

    def get(self, task_arn: str) -> TaskRecord | None:
        """The record of a task (strongly consistent read), or None."""
        ...

    def put(self, record: TaskRecord, expected_rev: int | None) -> TaskRecord:
        """Write ``record`` if the stored one still has ``expected_rev`` (None: must not exist).

        Returns the record as written (``rev`` incremented). Raises ConflictError otherwise.
        """
        ...

    def due(self, until: float, *, every_partition: bool = False) -> list[DueEntry]:
        """Open records whose ``due_at`` is at or before ``until``, earliest first.

        ``every_partition``: also where records of an earlier layout may still lie (a
        run's first read); a run's later polls may leave that out.
        """
        ...

    def claim(self, task_arn: str, owner: str, now: float, until: float) -> TaskRecord | None:
        """Lease an open record that is due at ``now`` and not leased to ``owner`` until ``until``.

        Returns the whole record as claimed (fresh, ``rev`` incremented), or None when it is
        closed, not due, leased by someone else or gone.
        """
        ...

    def has_open(self) -> bool:
        """Whether any record is open at all (one cheap read)."""
        ...

    def get_service(
        self, cluster_arn: str, service_name: str
    ) -> tuple[ServiceInfo | None, float] | None:
        """The service as some function last described it, and when (None: never stored).

        Shared by every warm container, so a burst of cold starts needs few DescribeServices.
        """
        ...

    def put_service(
        self, cluster_arn: str, service_name: str, info: ServiceInfo | None, read_at: float
    ) -> None:
        """Store what DescribeServices showed of a service at ``read_at`` (None: no service)."""
        ...

    def claim_service_lookup(
        self, cluster_arn: str, service_name: str, now: float, until: float
    ) -> bool:
        """Become the one function that describes the service until ``until`` (False:
        another has claimed it and will store what it finds)."""
        ...

    def take_tokens(self, bucket: str, count: int, rate: float, burst: int, now: float) -> float:
        """Take ``count`` tokens of the account-wide token bucket ``bucket`` (shared by every
        invocation); returns the time from which they may be spent (``now`` or later).
        """
        ...

    def known(self, task_arns: Sequence[str]) -> set[str]:
        """Which of ``task_arns`` have a record (open or closed); a key the read could not
        answer for is left out (the caller's conditional write then finds it)."""
        ...

    def reserve_stagger(self, key: str, now: float, hold_until: float) -> float | None:
        """Take the stagger slot ``key`` if it is free at ``now``, holding it until ``hold_until``.

        Returns None when taken, else the time the slot is held until (try again then).
        """
        ...

    def settle_stagger(self, key: str, held_until: float, next_at: float) -> None:
        """Release a stagger slot held until ``held_until``: the next one opens at ``next_at``.

        Does nothing when the slot is no longer held with that value (the hold lapsed).
        """
        ...


class EcsPort(Protocol):
    """The ECS calls the terminator makes."""

    def describe_services(
        self, cluster_arn: str, service_names: Sequence[str]
    ) -> dict[str, ServiceInfo]:
        """Tags, desired count and target groups of up to :data:`DESCRIBE_SERVICES_BATCH`
        services, keyed by name; services that do not exist (or are inactive) are left out.
        """
        ...

    def describe_tasks(self, cluster_arn: str, task_arns: Sequence[str]) -> dict[str, TaskState]:
        """Live state of the tasks that still exist, keyed by task ARN (batches itself)."""
        ...

    def stop_task(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        """Ask ECS to stop the task; NotFoundError when it no longer exists."""
        ...

    def describe_service_deployment(self, deployment_arn: str) -> DeploymentView | None:
        """Status, lifecycle stage and revisions of an ECS-native service deployment
        (None: ECS does not know it)."""
        ...

    def describe_service_revisions(
        self, revision_arns: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        """The target groups of each service revision, keyed by revision ARN (revisions ECS
        does not know are left out)."""
        ...

    def list_stopping_tasks(
        self, cluster_arn: str, service_name: str, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        """One page of the service's tasks whose desiredStatus is STOPPED (ListTasks, up to
        100; stopped tasks, kept about an hour, included) and the next page's token."""
        ...


class ServiceListPort(Protocol):
    """Lists the services opted in by tag (the backstop's round)."""

    def tagged_services(self, tag_key: str, account: str | None = None) -> dict[str, str]:
        """Every ECS service carrying the tag ``tag_key`` in ``account`` (None: the
        deployment's own; a hub's member: with its member role): service ARN -> the tag's
        value."""
        ...


class TargetHealthPort(Protocol):
    """Elastic Load Balancing target health."""

    def healthy_count(self, target_group_arn: str) -> int:
        """Number of targets in the group whose state is ``healthy``."""
        ...


class TenancyPort(Protocol):
    """Who a hub serves (a deployment with member accounts)."""

    def tenancy(self) -> Tenancy:
        """The hub's own account and region and its members (raises a DrainTerminatorError
        when its own account cannot be learnt)."""
        ...


class SweepTrigger(Protocol):
    """Starts a sweeper run now (asynchronously), outside the schedule."""

    def start(self) -> None:
        """Request a sweeper run; raises a DrainTerminatorError when the request fails."""
        ...


class Concurrency(Protocol):
    """Runs work concurrently inside one invocation (the simulator runs it on its loop)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], limit: int) -> list[R]:
        """``fn`` on every item, at most ``limit`` at once; results in the order of ``items``.

        Returns when every call has returned. When calls raised, the exception of the first
        item (in order) that raised is re-raised after all calls finished. ``fn`` may block
        only on the clock and on AWS calls.
        """
        ...


@dataclass(frozen=True, slots=True)
class Ports:
    """One implementation of every port: what :func:`serverless.app.bootstrap` wires.

    ``signals``: the signal port of each signal action the deployment may take
    (:attr:`StopAction.EXEC`, :attr:`StopAction.SSM_SIGNAL`); an action without a port is
    never taken (a plan skips it). StopTask goes through ``ecs``.
    ``tenancy``: a hub's accounts (None: a single-account deployment, which serves every
    task its events name).
    """

    ledger: LedgerPort
    ecs: EcsPort
    health: TargetHealthPort
    trigger: SweepTrigger | None
    concurrency: Concurrency
    #: Opted-in services for the backstop (None: no backstop in this deployment).
    service_list: ServiceListPort | None = None
    signals: Mapping[StopAction, SignalPort] = field(default_factory=dict)
    tenancy: TenancyPort | None = None
