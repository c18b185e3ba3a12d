"""What the operator commands read from AWS, as plain values (the adapters build them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from serverless.domain.model import SERVICE_GROUP_PREFIX, is_draining

__all__ = [
    "DeploymentView",
    "ServiceView",
    "TargetView",
    "TaskAddresses",
    "TaskView",
    "task_id",
]


def task_id(task_ref: str) -> str:
    """The task id of a task ARN (or the id itself)."""
    return task_ref.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """One deployment of a service (DescribeServices)."""

    id: str
    status: str
    rollout_state: str | None = None
    created_at: float | None = None


@dataclass(frozen=True, slots=True)
class ServiceView:
    """A service as DescribeServices (with tags) shows it."""

    arn: str
    name: str
    cluster_arn: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    desired_count: int = 0
    running_count: int = 0
    target_group_arns: tuple[str, ...] = ()
    task_definition: str = ""
    deployments: tuple[DeploymentView, ...] = ()
    #: Containers a load balancer of the service sends traffic to (loadBalancers).
    load_balanced_containers: tuple[str, ...] = ()
    enable_execute_command: bool = False
    #: ``launchType``, or the capacity providers of its strategy (e.g. ``FARGATE_SPOT``).
    launch_types: tuple[str, ...] = ()

    @property
    def long_arn(self) -> bool:
        """Long ARN format (``service/<cluster>/<name>``): the only one that can carry tags."""
        return self.arn.partition(":service/")[2].count("/") >= 1


@dataclass(frozen=True, slots=True)
class TaskView:
    """A task as DescribeTasks shows it."""

    task_arn: str
    cluster_arn: str
    group: str
    last_status: str
    desired_status: str
    started_at: float | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    stopped_reason: str | None = None
    stop_code: str | None = None

    @property
    def draining(self) -> bool:
        """ECS wants the task stopped and it has not begun stopping yet."""
        return is_draining(self.last_status, self.desired_status)

    @property
    def service_name(self) -> str | None:
        """The service the task belongs to, if any."""
        if self.group.startswith(SERVICE_GROUP_PREFIX):
            return self.group[len(SERVICE_GROUP_PREFIX) :] or None
        return None


@dataclass(frozen=True, slots=True)
class TaskAddresses:
    """Where a load balancer reaches a task: its private IPs (``awsvpc``: targets of type
    ``ip``) and, on EC2, its instance and host ports (``bridge``/``host``: type
    ``instance``)."""

    task_arn: str
    cluster_arn: str
    ips: tuple[str, ...] = ()
    instance_id: str | None = None
    host_ports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetView:
    """One registered target of a target group (DescribeTargetHealth)."""

    id: str
    port: int | None
    state: str
    availability_zone: str | None = None

    @property
    def label(self) -> str:
        """``id:port`` as the console shows it."""
        return self.id if self.port is None else f"{self.id}:{self.port}"

    def belongs_to(self, task: TaskAddresses) -> bool:
        """Whether this target is the task's: one of its IPs, or its instance on one of its
        host ports."""
        if self.id in task.ips:
            return True
        return (
            task.instance_id is not None
            and self.id == task.instance_id
            and self.port in task.host_ports
        )
