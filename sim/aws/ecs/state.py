"""The state of the ECS and ELB model: services, deployments, tasks, target groups.

Plain data; :class:`sim.aws.ecs.model.EcsModel` changes it as the loop runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.engine.loop import Handle
from sim.scenarios import ServiceSpec, TargetGroupSpec

__all__ = [
    "ACTIVE_STATUSES",
    "RUNNING",
    "STOPPED",
    "Deployment",
    "Service",
    "Target",
    "TargetGroup",
    "Task",
    "TaskNotFound",
]

STOPPED = "STOPPED"
RUNNING = "RUNNING"
ACTIVE_STATUSES = frozenset({"PROVISIONING", "PENDING", "ACTIVATING", RUNNING})


class TaskNotFound(LookupError):
    """No such task in the model."""


@dataclass(slots=True)
class Target:
    """One registration of a task in a target group."""

    target_id: str
    port: int
    task_arn: str
    state: str = "initial"  # initial | healthy | draining | unused
    reason: str | None = "Elb.RegistrationInProgress"


@dataclass(slots=True)
class TargetGroup:
    """A target group and the health of its targets."""

    spec: TargetGroupSpec
    arn: str
    targets: dict[str, Target] = field(default_factory=dict)
    deleted: bool = False


@dataclass(slots=True)
class Deployment:
    """A service deployment: ``ecs-svc/<id>`` and its task definition."""

    id: str
    task_definition_arn: str
    started_at: float
    completed_at: float | None = None


@dataclass(slots=True)
class Service:
    """Model state of one ECS service."""

    spec: ServiceSpec
    arn: str
    cluster_arn: str
    cluster_name: str
    target_groups: list[TargetGroup]
    deployments: list[Deployment]
    desired_count: int
    subnets: list[tuple[str, str]]  # (availability zone, subnet id)
    instances: list[tuple[str, str, str]]  # (container instance ARN, instance id, private IP)
    tasks: list[Task] = field(default_factory=list)
    launched: int = 0
    #: The task definition the scenario's deployment switches to.
    next_task_definition_arn: str = ""
    #: Current tags once an operator changed them (None: still the spec's).
    current_tags: dict[str, str] | None = None
    deleted: bool = False

    @property
    def name(self) -> str:
        """Service name."""
        return self.spec.name

    @property
    def primary(self) -> Deployment:
        """The newest deployment."""
        return self.deployments[-1]

    def tag(self, key: str) -> str | None:
        """Current value of a service tag."""
        if self.current_tags is not None:
            return self.current_tags.get(key)
        return dict(self.spec.tags).get(key)


@dataclass(slots=True)
class Task:
    """Model state of one task, close to DescribeTasks' Task object."""

    arn: str
    id: str
    service: Service
    deployment: Deployment
    timings: dict[str, float]
    network: dict[str, str]
    last_status: str = "PROVISIONING"
    desired_status: str = RUNNING
    version: int = 1
    times: dict[str, float] = field(default_factory=dict)
    stop_code: str | None = None
    stopped_reason: str | None = None
    healthy: bool = False
    drain_started_at: float | None = None
    ecs_alone_at: float | None = None
    stop_requests: list[tuple[float, str]] = field(default_factory=list)
    stop_began_at: float | None = None
    stopped_by: str | None = None  # "terminator" | "ecs" | "user"
    targets: list[tuple[TargetGroup, Target]] = field(default_factory=list)
    ecs_alone_timer: Handle | None = None
    #: Signals that reached the task's container, in order: (time, stop action).
    signals: list[tuple[float, str]] = field(default_factory=list)
    #: When the first effective signal reached the container (its app began shutting down).
    signalled_at: float | None = None
    #: The stop action whose effect ended the task ("stop-task", "exec", "ssm-signal"), if ours.
    stopped_with: str | None = None

    @property
    def live(self) -> bool:
        """Not STOPPED: counts towards the service's maximumPercent."""
        return self.last_status != STOPPED

    @property
    def draining(self) -> bool:
        """Desired STOPPED but still RUNNING/DEACTIVATING (what the terminator acts on)."""
        return self.desired_status == STOPPED and self.last_status in {RUNNING, "DEACTIVATING"}
