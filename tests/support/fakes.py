"""In-memory fakes of the domain ports (no AWS, no moto) for unit tests.

Each fake implements one protocol of :mod:`serverless.ports` with the semantics the
adapters document, records the calls it receives and can be told to fail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from serverless.adapters.concurrency import InlineConcurrency
from serverless.app import App, bootstrap
from serverless.domain.clock import Clock
from serverless.domain.errors import ConflictError, NotFoundError
from serverless.domain.model import (
    DueEntry,
    RecordStatus,
    ServiceInfo,
    StopAction,
    TaskRecord,
    TaskState,
)
from serverless.domain.serving import DeploymentView
from serverless.domain.signals import (
    SignalCommand,
    SignalOutcome,
    SignalPort,
    SignalResult,
    SignalTarget,
)
from serverless.ports import Ports, SweepTrigger
from serverless.settings import Settings

__all__ = [
    "ACCOUNT",
    "CLUSTER_ARN",
    "REGION",
    "FakeEcs",
    "FakeLedger",
    "FakeSignalPort",
    "FakeTargetHealth",
    "SignalCall",
    "StopCall",
    "fake_app",
    "fake_ports",
    "task_arn",
]

ACCOUNT = "111122223333"
REGION = "us-east-1"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/prod"


def task_arn(suffix: str | int, cluster: str = "prod", account: str = ACCOUNT) -> str:
    """A long-format task ARN whose id ends with ``suffix`` (32 hex characters)."""
    return f"arn:aws:ecs:{REGION}:{account}:task/{cluster}/{str(suffix).rjust(32, '0')}"


class FakeLedger:
    """:class:`serverless.ports.LedgerPort` in a dict, with optimistic concurrency on ``rev``."""

    def __init__(self) -> None:
        self.records: dict[str, TaskRecord] = {}
        self.slots: dict[str, float] = {}
        self.puts: list[TaskRecord] = []
        self.slot_calls: list[tuple[str, float, float]] = []
        #: What the next ``put`` calls of a task ARN do (FIFO): raise the exception, or
        #: write normally for a None entry.
        self.put_failures: dict[str, list[Exception | None]] = defaultdict(list)
        #: Exceptions the next ``due`` calls raise (FIFO).
        self.due_failures: list[Exception] = []
        self.due_calls = 0
        #: ``every_partition`` of each due read, in order.
        self.every_partition_reads: list[bool] = []
        self.has_open_calls = 0
        self.claims: list[tuple[str, str, float]] = []
        #: Exceptions the next ``claim`` calls of a task ARN raise (FIFO).
        self.claim_failures: dict[str, list[Exception]] = defaultdict(list)
        #: Task ARNs whose next claim loses to another run.
        self.claim_conflicts: set[str] = set()
        #: Token buckets: theoretical arrival time per bucket, and the takes.
        self.tats: dict[str, float] = {}
        self.token_calls: list[tuple[str, int, float]] = []
        self.token_failures: list[Exception] = []
        #: The services' shared copies (``service#`` items).
        self.shared_services: dict[tuple[str, str], tuple[ServiceInfo | None, float]] = {}
        #: Claims of a service's lookup (``claim_service_lookup``): until when.
        self.service_lookups: dict[tuple[str, str], float] = {}
        self.known_calls: list[tuple[str, ...]] = []
        #: A guard against a run loop that never sleeps: ``due`` fails past this many calls.
        self.max_due_calls = 10_000

    # -- LedgerPort ---------------------------------------------------------------------
    def get(self, task_arn: str) -> TaskRecord | None:
        return self.records.get(task_arn)

    def put(self, record: TaskRecord, expected_rev: int | None) -> TaskRecord:
        failures = self.put_failures.get(record.task_arn)
        if failures:
            failure = failures.pop(0)
            if failure is not None:
                raise failure
        stored = self.records.get(record.task_arn)
        if expected_rev is None:
            if stored is not None:
                raise ConflictError(f"{record.task_arn} exists already")
        elif stored is None or stored.rev != expected_rev:
            raise ConflictError(f"{record.task_arn} is not at rev {expected_rev}")
        written = replace(record, rev=(expected_rev or 0) + 1)
        self.records[record.task_arn] = written
        self.puts.append(written)
        return written

    def due(self, until: float, *, every_partition: bool = False) -> list[DueEntry]:
        self.due_calls += 1
        self.every_partition_reads.append(every_partition)
        if self.due_calls > self.max_due_calls:
            raise AssertionError(f"runaway loop: {self.due_calls} ledger queries")
        if self.due_failures:
            raise self.due_failures.pop(0)
        due = [r for r in self.records.values() if r.is_open and r.due_at <= until]
        return [
            DueEntry(r.task_arn, r.due_at, r.status, r.lease_until)
            for r in sorted(due, key=lambda r: (r.due_at, r.task_arn))
        ]

    def claim(self, task_arn: str, owner: str, now: float, until: float) -> TaskRecord | None:
        self.claims.append((task_arn, owner, now))
        failures = self.claim_failures.get(task_arn)
        if failures:
            raise failures.pop(0)
        if task_arn in self.claim_conflicts:
            self.claim_conflicts.discard(task_arn)  # another run won the race, this once
            return None
        stored = self.records.get(task_arn)
        if stored is None or not stored.is_open or stored.due_at > now or stored.leased(now):
            return None
        claimed = replace(stored, lease_owner=owner, lease_until=until, rev=stored.rev + 1)
        self.records[task_arn] = claimed
        return claimed

    def known(self, task_arns: Sequence[str]) -> set[str]:
        self.known_calls.append(tuple(task_arns))
        return {arn for arn in task_arns if arn in self.records}

    def has_open(self) -> bool:
        self.has_open_calls += 1
        return any(r.is_open for r in self.records.values())

    def get_service(
        self, cluster_arn: str, service_name: str
    ) -> tuple[ServiceInfo | None, float] | None:
        return self.shared_services.get((cluster_arn, service_name))

    def put_service(
        self, cluster_arn: str, service_name: str, info: ServiceInfo | None, read_at: float
    ) -> None:
        self.shared_services[(cluster_arn, service_name)] = (info, read_at)
        self.service_lookups.pop((cluster_arn, service_name), None)

    def claim_service_lookup(
        self, cluster_arn: str, service_name: str, now: float, until: float
    ) -> bool:
        held = self.service_lookups.get((cluster_arn, service_name))
        if held is not None and held > now:
            return False
        self.service_lookups[(cluster_arn, service_name)] = until
        return True

    def take_tokens(self, bucket: str, count: int, rate: float, burst: int, now: float) -> float:
        """The same GCRA as the DynamoDB adapter, on a dict."""
        if self.token_failures:
            raise self.token_failures.pop(0)
        self.token_calls.append((bucket, count, now))
        tat = max(self.tats.get(bucket, now), now) + count / rate
        self.tats[bucket] = tat
        return max(now, tat - burst / rate)

    def reserve_stagger(self, key: str, now: float, hold_until: float) -> float | None:
        self.slot_calls.append((key, now, hold_until))
        next_slot = self.slots.get(key)
        if next_slot is None or next_slot <= now:
            self.slots[key] = hold_until
            return None
        return max(next_slot, now)

    def settle_stagger(self, key: str, held_until: float, next_at: float) -> None:
        if self.slots.get(key) == held_until:
            self.slots[key] = next_at

    # -- test helpers -------------------------------------------------------------------
    def seed(self, record: TaskRecord) -> TaskRecord:
        """Store ``record`` as it is (``rev`` included), bypassing the concurrency check."""
        self.records[record.task_arn] = record
        return record

    def bump(self, task_arn: str, **changes: Any) -> TaskRecord:
        """Another writer changes the record (its ``rev`` moves on)."""
        stored = self.records[task_arn]
        changed = replace(stored, rev=stored.rev + 1, **changes)
        self.records[task_arn] = changed
        return changed

    def open_records(self) -> list[TaskRecord]:
        return [r for r in self.records.values() if r.status is not RecordStatus.CLOSED]


@dataclass
class StopCall:
    """One StopTask request the fake ECS received."""

    cluster_arn: str
    task_arn: str
    reason: str
    at: float


@dataclass
class FakeEcs:
    """:class:`serverless.ports.EcsPort` over dicts of services and tasks.

    By default a stopped task moves to STOPPING at once (``stoppingAt`` = now, the reason
    ours); with ``stops_take_effect=False`` StopTask is accepted but the task keeps draining.
    """

    clock: Clock
    services: dict[tuple[str, str], ServiceInfo] = field(default_factory=dict)
    tasks: dict[str, TaskState] = field(default_factory=dict)
    stops: list[StopCall] = field(default_factory=list)
    stop_failures: dict[str, list[Exception]] = field(default_factory=lambda: defaultdict(list))
    describe_tasks_failures: list[Exception] = field(default_factory=list)
    #: Exceptions the next DescribeServices calls that include the service raise (FIFO).
    describe_services_failures: dict[str, list[Exception]] = field(
        default_factory=lambda: defaultdict(list)
    )
    describe_service_calls: list[tuple[str, str]] = field(default_factory=list)
    describe_services_calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    describe_tasks_calls: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    stops_take_effect: bool = True
    #: ECS-native deployments and revisions (ARN -> view / target groups).
    deployments: dict[str, DeploymentView] = field(default_factory=dict)
    revisions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deployment_calls: list[str] = field(default_factory=list)
    revision_calls: list[tuple[str, ...]] = field(default_factory=list)
    #: ListTasks(desiredStatus=STOPPED) per (cluster, service): task ARNs; page size.
    stopping: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    list_page_size: int = 100
    list_calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: Virtual seconds each call of an operation takes ("DescribeTasks", ...); the clock
    #: must be a ManualClock (or anything with ``advance``) to use it.
    latency: dict[str, float] = field(default_factory=dict)

    def _take(self, operation: str) -> None:
        seconds = self.latency.get(operation, 0.0)
        if seconds:
            self.clock.advance(seconds)  # type: ignore[attr-defined]

    def add_service(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        desired_count: int = 0,
        target_groups: tuple[str, ...] = (),
        cluster_arn: str = CLUSTER_ARN,
        lb_container: str | None = None,
    ) -> ServiceInfo:
        info = ServiceInfo(
            cluster_arn,
            name,
            dict(tags or {}),
            desired_count,
            target_groups,
            lb_container_name=lb_container,
        )
        self.services[(cluster_arn, name)] = info
        return info

    def set_task(
        self,
        task_arn: str,
        last: str,
        desired: str,
        stopped_reason: str | None = None,
        stopping_at: float | None = None,
        stopped_at: float | None = None,
        container_instance_arn: str | None = None,
    ) -> TaskState:
        state = TaskState(
            task_arn,
            last,
            desired,
            stopped_reason,
            stopping_at=stopping_at,
            stopped_at=stopped_at,
            container_instance_arn=container_instance_arn,
        )
        self.tasks[task_arn] = state
        return state

    def _now(self) -> float:
        return self.clock.now()

    # -- EcsPort ------------------------------------------------------------------------
    def describe_services(
        self, cluster_arn: str, service_names: Sequence[str]
    ) -> dict[str, ServiceInfo]:
        assert len(service_names) <= 10, "DescribeServices takes at most 10 services"
        self._take("DescribeServices")
        self.describe_services_calls.append((cluster_arn, tuple(service_names)))
        for name in service_names:
            self.describe_service_calls.append((cluster_arn, name))
            failures = self.describe_services_failures.get(name)
            if failures:
                raise failures.pop(0)
        return {
            name: self.services[(cluster_arn, name)]
            for name in service_names
            if (cluster_arn, name) in self.services
        }

    def describe_tasks(self, cluster_arn: str, task_arns: Sequence[str]) -> dict[str, TaskState]:
        self.describe_tasks_calls.append((cluster_arn, tuple(task_arns)))
        self._take("DescribeTasks")
        if self.describe_tasks_failures:
            raise self.describe_tasks_failures.pop(0)
        return {arn: self.tasks[arn] for arn in task_arns if arn in self.tasks}

    def stop_task(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        now = self._now()
        self.stops.append(StopCall(cluster_arn, task_arn, reason, now))
        failures = self.stop_failures.get(task_arn)
        if failures:
            raise failures.pop(0)
        state = self.tasks.get(task_arn)
        if state is None:
            raise NotFoundError(f"StopTask: task {task_arn} not found")
        if self.stops_take_effect and state.last_status in {"RUNNING", "DEACTIVATING"}:
            self.tasks[task_arn] = TaskState(
                task_arn, "STOPPING", "STOPPED", reason, "UserInitiated", stopping_at=now
            )
        elif state.draining:
            # The world where StopTask on a draining task changes only its stop reason.
            self.tasks[task_arn] = replace(state, stopped_reason=reason)
        self._take("StopTask")  # ECS acts when the call is sent; the caller waits for it

    def describe_service_deployment(self, deployment_arn: str) -> DeploymentView | None:
        self.deployment_calls.append(deployment_arn)
        return self.deployments.get(deployment_arn)

    def describe_service_revisions(
        self, revision_arns: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        self.revision_calls.append(tuple(revision_arns))
        return {arn: self.revisions[arn] for arn in revision_arns if arn in self.revisions}

    def list_stopping_tasks(
        self, cluster_arn: str, service_name: str, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        self.list_calls.append((cluster_arn, service_name, next_token))
        self._take("ListTasks")
        arns = self.stopping.get((cluster_arn, service_name), [])
        start = int(next_token or 0)
        end = start + self.list_page_size
        return arns[start:end], (str(end) if end < len(arns) else None)


@dataclass
class FakeTargetHealth:
    """:class:`serverless.ports.TargetHealthPort` over a dict of healthy counts."""

    healthy: dict[str, int] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def healthy_count(self, target_group_arn: str) -> int:
        self.calls.append(target_group_arn)
        if target_group_arn not in self.healthy:
            raise NotFoundError(f"target group {target_group_arn} not found")
        return self.healthy[target_group_arn]


class FakeTrigger:
    """:class:`serverless.ports.SweepTrigger` that counts the runs it was asked for (and
    raises ``failure``, when given, after counting)."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.starts = 0
        self.failure = failure

    def start(self) -> None:
        self.starts += 1
        if self.failure is not None:
            raise self.failure


@dataclass
class SignalCall:
    """One signal a :class:`FakeSignalPort` was asked to send."""

    target: SignalTarget
    command: SignalCommand
    at: float


@dataclass
class FakeSignalPort:
    """:class:`serverless.domain.signals.SignalPort` for one action (``exec`` or
    ``ssm-signal``) over a :class:`FakeEcs`.

    Each call answers with the next of ``outcomes`` (then ``outcome``); ``missing`` goes
    with PREREQUISITE_MISSING. A delivered signal (SIGNALLED, UNCONFIRMED) moves the draining
    task to STOPPING when ``ends_task`` (the app exits, the agent stops the task). ``raises``:
    an exception the next call raises instead. ``latency``: virtual seconds a call takes.
    """

    ecs: FakeEcs
    action: StopAction
    outcome: SignalOutcome = SignalOutcome.SIGNALLED
    outcomes: list[SignalOutcome] = field(default_factory=list)
    missing: Any = None
    raises: Exception | None = None
    ends_task: bool = True
    latency: float = 0.0
    bound: float = 60.0
    calls: list[SignalCall] = field(default_factory=list)
    #: Called with each call's target before it answers (e.g. to check the ledger then).
    on_call: Callable[[SignalTarget], None] | None = None

    @property
    def time_bound(self) -> float:
        return self.bound

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        now = self.ecs.clock.now()
        self.calls.append(SignalCall(target, command, now))
        if self.on_call is not None:
            self.on_call(target)
        if self.latency:
            self.ecs.clock.advance(self.latency)  # type: ignore[attr-defined]
        if self.raises is not None:
            error, self.raises = self.raises, None
            raise error
        outcome = self.outcomes.pop(0) if self.outcomes else self.outcome
        state = self.ecs.tasks.get(target.task_arn)
        if outcome.delivered and self.ends_task and state is not None and state.draining:
            self.ecs.tasks[target.task_arn] = TaskState(
                target.task_arn,
                "STOPPING",
                "STOPPED",
                "Essential container in task exited",
                "EssentialContainerExited",
                stopping_at=now,
            )
        missing = self.missing if outcome is SignalOutcome.PREREQUISITE_MISSING else None
        return SignalResult(
            action=str(self.action),
            outcome=outcome,
            elapsed=self.latency,
            exit_status=0 if outcome is SignalOutcome.SIGNALLED else None,
            missing=missing,
            detail=f"fake {self.action}: {outcome}",
            reference="session-1",
        )


def fake_ports(
    ecs: FakeEcs,
    ledger: FakeLedger | None = None,
    health: FakeTargetHealth | None = None,
    trigger: SweepTrigger | None = None,
    signals: Mapping[StopAction, SignalPort] | None = None,
) -> Ports:
    """:class:`Ports` made of the in-memory fakes (work runs in turn, on the caller)."""
    return Ports(
        ledger=ledger or FakeLedger(),
        ecs=ecs,
        health=health or FakeTargetHealth(),
        trigger=trigger,
        concurrency=InlineConcurrency(),
        signals=dict(signals or {}),
    )


def fake_app(
    settings: Settings, clock: Clock, ecs: FakeEcs, ledger: FakeLedger | None = None
) -> tuple[App, FakeLedger]:
    """An :class:`App` bootstrapped on in-memory fakes; returns it and its ledger."""
    ledger = ledger or FakeLedger()
    return bootstrap(settings, clock=clock, ports=fake_ports(ecs, ledger)), ledger
