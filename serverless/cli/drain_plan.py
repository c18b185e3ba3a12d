"""``drain TASK``'s rules and words: when a drain is refused, what it deregisters, its wait.

Pure: :class:`serverless.cli.drain.Drainer` gathers the facts through the adapters and
applies the plan. Each refusal is one :class:`DrainRefused` line that says what to do. The
guards are the sweeper's own: the serving target groups of
:func:`serverless.domain.serving.serving_of_service` (through ``Guards.serving``) and the
min-healthy rule of :func:`serverless.domain.serving.required_healthy`, applied to the
groups as they would be without the task's targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serverless.cli.model import TargetView, TaskAddresses, task_id
from serverless.cli.render import iso, when
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import ServiceInfo, TaskRecord, TaskState
from serverless.domain.serving import Serving, required_healthy
from serverless.domain.tags import PolicyResult

__all__ = [
    "NLB_PROPAGATION_SECONDS",
    "NLB_PROTOCOLS",
    "DrainPlan",
    "DrainRefused",
    "GroupFacts",
    "Removal",
    "check_record",
    "check_service",
    "check_task",
    "plan_drain",
    "task_not_found",
]

#: Target group protocols of a Network Load Balancer.
NLB_PROTOCOLS = frozenset({"TCP", "TLS", "UDP", "TCP_UDP"})
#: How long an NLB keeps sending new connections to a deregistered target (measured by
#: users, not documented: docs/operations.md; the sidecar's default wait).
NLB_PROPAGATION_SECONDS = 120
#: Target states in which a target still takes (or is about to take) traffic.
IN_ROTATION = frozenset({"initial", "healthy", "unhealthy", "unavailable"})


class DrainRefused(DrainTerminatorError):
    """``drain`` will not take the task out of rotation (the message says why and what to do)."""


def _group_name(arn: str) -> str:
    return arn.rsplit(":", maxsplit=1)[-1].removeprefix("targetgroup/").split("/")[0]


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """A serving target group as read now: protocol, deregistration delay, targets."""

    arn: str
    protocol: str
    delay_seconds: int | None
    targets: tuple[TargetView, ...]

    @property
    def name(self) -> str:
        """The group's name (from its ARN)."""
        return _group_name(self.arn)

    @property
    def nlb(self) -> bool:
        """A Network Load Balancer's group (by protocol)."""
        return self.protocol in NLB_PROTOCOLS

    def of_task(self, task: TaskAddresses) -> tuple[TargetView, ...]:
        """The task's targets still in rotation in this group."""
        return tuple(t for t in self.targets if t.belongs_to(task) and t.state in IN_ROTATION)

    def healthy(self) -> int:
        """Healthy targets of the group now."""
        return sum(1 for t in self.targets if t.state == "healthy")


@dataclass(frozen=True, slots=True)
class Removal:
    """The task's targets to deregister from one group."""

    group: GroupFacts
    targets: tuple[TargetView, ...]


@dataclass(frozen=True, slots=True)
class DrainPlan:
    """What ``drain`` does: deregister ``removals``, record a drain of ``wait_seconds``."""

    task: TaskState
    cluster_arn: str
    service_name: str
    wait_seconds: int
    wait_from: str  # "--wait" or "the service's wait-seconds tag"
    stop_action: str
    serving_source: str
    removals: tuple[Removal, ...]
    warnings: tuple[str, ...] = ()
    #: Why ``--yes`` is needed even at a terminal (None: a question is enough).
    needs_yes: str | None = None

    @property
    def task_arn(self) -> str:
        """The task's ARN."""
        return self.task.task_arn

    @property
    def target_count(self) -> int:
        """Targets to deregister, over every group."""
        return sum(len(r.targets) for r in self.removals)

    def lines(self, started_at: float | None, dry_run: bool) -> list[str]:
        """The plan (``started_at`` None: not applied yet) for people."""
        verb = "would deregister" if dry_run or started_at is None else "deregistered"
        head = f"task {task_id(self.task_arn)} of service {self.service_name}"
        lines = [f"{head} (serving target groups: {self.serving_source}):"]
        for removal in self.removals:
            group = removal.group
            kind = "NLB" if group.nlb else (group.protocol or "?")
            delay = "?" if group.delay_seconds is None else f"{group.delay_seconds} s"
            targets = ", ".join(t.label for t in removal.targets)
            lines.append(
                f"  {verb} {targets} from {group.name} ({kind}, deregistration delay {delay})"
            )
        stop = (
            f"the sweeper stops it with {self.stop_action} (guards apply) once the wait is "
            "over, confirms the stop, and the service replaces it"
        )
        if started_at is None:
            lines.append(
                f"  {'would record' if dry_run else 'then records'} an operator drain in the "
                f"ledger, wait {self.wait_seconds} s ({self.wait_from}): {stop}"
            )
        else:
            lines.append(
                f"  recorded an operator drain, wait {self.wait_seconds} s ({self.wait_from}): "
                f"no stop before {when(started_at + self.wait_seconds)}; {stop}"
            )
        return lines

    def as_dict(self, started_at: float | None, dry_run: bool) -> dict[str, object]:
        """JSON form."""
        return {
            "task_arn": self.task_arn,
            "cluster_arn": self.cluster_arn,
            "service": self.service_name,
            "dry_run": dry_run,
            "changed": started_at is not None,
            "cause": "operator",
            "serving_target_groups": self.serving_source,
            "targets": [
                {
                    "target_group_arn": r.group.arn,
                    "id": t.id,
                    "port": t.port,
                    "state": t.state,
                    "nlb": r.group.nlb,
                    "deregistration_delay_seconds": r.group.delay_seconds,
                }
                for r in self.removals
                for t in r.targets
            ],
            "wait_seconds": self.wait_seconds,
            "wait_from": self.wait_from,
            "stop_action": self.stop_action,
            "drain_started_at": iso(started_at),
            "due_at": iso(None if started_at is None else started_at + self.wait_seconds),
            "warnings": list(self.warnings),
        }


def task_not_found(task_ref: str, cluster: str) -> DrainRefused:
    """The refusal of a task ECS does not know."""
    return DrainRefused(
        f"task {task_ref} not found in cluster {cluster} (check --cluster and the region)"
    )


def check_task(task_ref: str, task: TaskState | None, cluster: str) -> str:
    """The service the task belongs to; refused unless it is a RUNNING service task that
    ECS does not want stopped."""
    if task is None:
        raise task_not_found(task_ref, cluster)
    name = task.group.removeprefix("service:") if task.group.startswith("service:") else ""
    if not name:
        raise DrainRefused(
            f"task {task_id(task.task_arn)} is not a service task (group "
            f"{task.group or 'none'!r}): no service would replace it; stop it with "
            "aws ecs stop-task if that is what you want"
        )
    if task.desired_status != "RUNNING":
        raise DrainRefused(
            f"ECS is already stopping task {task_id(task.task_arn)} (last status "
            f"{task.last_status}, desired {task.desired_status}): its drain is under way; "
            f"see drain-terminator explain {task_id(task.task_arn)}"
        )
    if task.last_status != "RUNNING":
        raise DrainRefused(
            f"task {task_id(task.task_arn)} is {task.last_status}, not RUNNING: only a "
            "running task can be drained; try again once it runs"
        )
    return name


def check_record(record: TaskRecord | None) -> None:
    """Refused when the ledger already tracks an open drain of the task."""
    if record is not None and record.is_open:
        raise DrainRefused(
            f"task {task_id(record.task_arn)} already has an open drain in the ledger "
            f"({record.status.value}, cause {record.cause or 'unknown'}, due "
            f"{when(record.due_at)}): see drain-terminator explain {task_id(record.task_arn)}"
        )


def check_service(
    info: ServiceInfo | None,
    service_name: str,
    cluster_name: str,
    result: PolicyResult,
    prefix: str,
) -> None:
    """Refused unless the service exists, opts in and is not in dry-run: otherwise the
    sweeper would never stop the task, and it would stay out of rotation for good."""
    tags = f"drain-terminator tags --cluster {cluster_name} --service {service_name}"
    if info is None:
        raise DrainRefused(f"service {service_name} not found in cluster {cluster_name}")
    if not result.policy.enabled:
        raise DrainRefused(
            f"service {service_name} is not opted in ({prefix}enabled is not true): the "
            f"sweeper would never stop the task; opt it in first ({tags} --wait N), or stop "
            "the task with aws ecs stop-task (ECS drains it for the full deregistration delay)"
        )
    if result.policy.dry_run:
        raise DrainRefused(
            f"service {service_name} is in dry-run: the sweeper would only log the stop and "
            f"the task would stay out of rotation; end dry-run first ({tags} --no-dry-run), "
            "or stop the task with aws ecs stop-task"
        )
    if not info.load_balanced:
        raise DrainRefused(
            f"service {service_name} has no load balancer: there is nothing to take the task "
            "out of; stop it with aws ecs stop-task"
        )


def _guard(
    removal: Removal,
    serving: Serving,
    min_healthy_percent: int | None,
    task_ref: str,
) -> None:
    group = removal.group
    mine_healthy = sum(1 for t in removal.targets if t.state == "healthy")
    after = group.healthy() - mine_healthy
    if mine_healthy and after == 0:
        raise DrainRefused(
            f"task {task_ref} is the only healthy target of {group.name}: taking it out "
            "would leave the group no healthy target; start another task first (raise the "
            "desired count) or let the unhealthy ones recover"
        )
    if min_healthy_percent is None:
        return
    required = required_healthy(min_healthy_percent, serving.desired_count)
    if after < required:
        raise DrainRefused(
            f"taking task {task_ref} out would leave {after} healthy target(s) in "
            f"{group.name}, below the service's min-healthy-percent {min_healthy_percent}% of "
            f"desired {serving.desired_count} ({required}); wait for the service to be "
            "healthy or raise its desired count first"
        )


def plan_drain(
    task: TaskState,
    addresses: TaskAddresses,
    cluster_arn: str,
    service_name: str,
    result: PolicyResult,
    serving: Serving,
    groups: Sequence[GroupFacts],
    wait: int | None,
) -> DrainPlan:
    """The drain of ``task`` from the ``groups`` that serve traffic now (``serving``), or
    refused: no target of the task in them, or a guard would be broken."""
    ref = task_id(task.task_arn)
    if not groups:
        raise DrainRefused(
            f"service {service_name} has no target group serving traffic now "
            f"({serving.source}): nothing to take the task out of"
        )
    removals = tuple(
        Removal(group, targets) for group in groups if (targets := group.of_task(addresses))
    )
    if not removals:
        names = ", ".join(g.name for g in groups)
        raise DrainRefused(
            f"task {ref} has no target in rotation in the target groups serving traffic now "
            f"({names}; {serving.source}): it is already out of rotation or not in it yet"
        )
    policy = result.policy
    for removal in removals:
        _guard(removal, serving, policy.min_healthy_percent, ref)
    seconds = policy.wait_seconds if wait is None else wait
    wait_from = "the service's wait-seconds tag" if wait is None else "--wait"
    warnings: list[str] = []
    needs_yes = None
    short = [r.group.name for r in removals if r.group.nlb and seconds < NLB_PROPAGATION_SECONDS]
    if short:
        needs_yes = (
            f"wait {seconds} s is shorter than the ~{NLB_PROPAGATION_SECONDS} s a Network Load "
            f"Balancer keeps sending new connections after deregistration ({', '.join(short)}): "
            "connections may be cut"
        )
        warnings.append(needs_yes)
    return DrainPlan(
        task=task,
        cluster_arn=cluster_arn,
        service_name=service_name,
        wait_seconds=seconds,
        wait_from=wait_from,
        stop_action=policy.stop_action.value,
        serving_source=serving.source,
        removals=removals,
        warnings=tuple(warnings),
        needs_yes=needs_yes,
    )
