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
    "ContainerInstance",
    "Deployment",
    "Service",
    "ServiceDeployment",
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
class ContainerInstance:
    """An EC2 container instance of the cluster (shared by the services on it)."""

    arn: str
    instance_id: str
    private_ip: str
    status: str = "ACTIVE"  # ACTIVE | DRAINING


@dataclass(slots=True)
class Deployment:
    """What starts a task (its ``startedBy``): a deployment ``ecs-svc/<id>`` of a rolling or
    blue/green service, or a task set (CODE_DEPLOY, EXTERNAL) with the same id form.

    ``target_groups``: the groups its tasks register in (None: the service's, as in a
    rolling service). A task set also has its ARN, status (PRIMARY, ACTIVE, DRAINING) and
    scale; a blue/green deployment the service revision its tasks run.
    """

    id: str
    task_definition_arn: str
    started_at: float
    completed_at: float | None = None
    target_groups: list[TargetGroup] | None = None
    task_set_arn: str | None = None
    task_set_status: str = "PRIMARY"
    scale_percent: float = 100.0
    external_id: str = ""
    revision_arn: str | None = None


@dataclass(slots=True)
class ServiceDeployment:
    """An ECS-native blue/green deployment (DescribeServiceDeployments): it moves the
    service from the source revisions to the target one through lifecycle stages."""

    arn: str
    source_revision_arns: list[str]
    target_revision_arn: str
    created_at: float
    status: str = "IN_PROGRESS"  # IN_PROGRESS | SUCCESSFUL
    stage: str = "RECONCILE_SERVICE"
    finished_at: float | None = None


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
    instances: list[ContainerInstance]
    tasks: list[Task] = field(default_factory=list)
    launched: int = 0
    #: The task definition the scenario's deployment switches to.
    next_task_definition_arn: str = ""
    #: Current tags once an operator changed them (None: still the spec's).
    current_tags: dict[str, str] | None = None
    deleted: bool = False
    #: The target groups the load balancer's listener forwards to now (what a
    #: min-healthy guard must count); every group of a rolling service.
    serving: list[TargetGroup] = field(default_factory=list)
    #: ECS-native blue/green: the service's deployments, newest last, and revisions
    #: (revision ARN -> the target groups its tasks register in).
    service_deployments: list[ServiceDeployment] = field(default_factory=list)
    revisions: dict[str, list[TargetGroup]] = field(default_factory=dict)
    #: The listener the service's production traffic comes through (blue/green, task sets).
    listener_arn: str = ""
    security_group: str = ""

    @property
    def name(self) -> str:
        """Service name."""
        return self.spec.name

    @property
    def primary(self) -> Deployment:
        """The newest deployment (for task sets: the newest PRIMARY set)."""
        if self.spec.task_sets:
            for deployment in reversed(self.deployments):
                if deployment.task_set_status == "PRIMARY":
                    return deployment
        return self.deployments[-1]

    def groups_of(self, deployment: Deployment) -> list[TargetGroup]:
        """The target groups tasks of ``deployment`` register in."""
        if deployment.target_groups is not None:
            return deployment.target_groups
        return self.target_groups

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
    #: Why ECS is stopping the task: deployment, scale-in, task-set, blue-green,
    #: instance-drain, spot-interruption, unhealthy ("" while it is not).
    cause: str = ""
    #: The container instance (EC2 only).
    instance: ContainerInstance | None = None
    #: Failing its health checks (set by fail-health-checks or ``never_healthy``).
    failing: bool = False

    #: Signals that reached the task's container, in order: (time, stop action).
    signals: list[tuple[float, str]] = field(default_factory=list)
    #: When the first effective signal reached the container (its app began shutting down).
    signalled_at: float | None = None
    #: The stop action whose effect ended the task ("stop-task", "exec", "ssm-signal"), if ours.
    stopped_with: str | None = None

    @property
    def drain_seconds(self) -> int:
        """How long ECS alone keeps it draining: the longest delay of its groups."""
        return max((g.spec.deregistration_delay for g, _ in self.targets), default=0)

    @property
    def live(self) -> bool:
        """Not STOPPED: counts towards the service's maximumPercent."""
        return self.last_status != STOPPED

    @property
    def draining(self) -> bool:
        """Desired STOPPED but still RUNNING/DEACTIVATING (what the terminator acts on)."""
        return self.desired_status == STOPPED and self.last_status in {RUNNING, "DEACTIVATING"}
