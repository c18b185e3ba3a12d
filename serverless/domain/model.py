"""Value objects of the domain: parsed task events, live task states, policies, ledger records."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "DELIVERED_OUTCOMES",
    "DRAINING_LAST_STATUSES",
    "STEP_ACTIONS",
    "ActionTaken",
    "DueEntry",
    "Outcome",
    "RecordStatus",
    "ServiceInfo",
    "ServicePolicy",
    "ServiceSnapshot",
    "StopAction",
    "StopCause",
    "TaskEvent",
    "TaskRecord",
    "TaskSetInfo",
    "TaskState",
    "UnhealthyAction",
    "is_draining",
]

#: lastStatus values during which a task whose desiredStatus is STOPPED is still draining.
DRAINING_LAST_STATUSES = frozenset({"RUNNING", "DEACTIVATING"})

SERVICE_GROUP_PREFIX = "service:"


class StopCause(StrEnum):
    """Why ECS is stopping a task, read from the event or DescribeTasks (see
    :mod:`serverless.domain.causes`, which cites the texts it recognises)."""

    DEPLOYMENT = "deployment"  # a deployment replaces the task (rolling, task set, revision)
    SCALE_IN = "scale-in"  # the service (or its primary task set) needs fewer tasks
    SERVICE_SCHEDULER = "service-scheduler"  # the scheduler, for a reason not told apart
    INSTANCE_DRAINING = "instance-draining"  # its EC2 container instance is DRAINING
    SPOT_INTERRUPTION = "spot-interruption"  # Fargate Spot capacity reclaimed
    HEALTH_CHECK = "health-check"  # failed ELB or container health checks
    MAINTENANCE = "maintenance"  # AWS retires the infrastructure hosting the task
    USER_INITIATED = "user-initiated"  # StopTask by someone else than this tool
    NO_TARGET_GROUP = "no-target-group"  # the service has no load balancer at all
    #: ``drain-terminator drain TASK``: an operator took the RUNNING task out of rotation
    #: (DeregisterTargets); ECS does not know, so the task stays desired RUNNING until the
    #: sweeper stops it. Never read from ECS: only the command writes it.
    OPERATOR = "operator"
    OTHER = "other"  # no stopCode or reason this tool knows


class UnhealthyAction(StrEnum):
    """What happens to the drains of tasks stopped for failing health checks."""

    STOP_EARLY = "stop-early"  # like any drain: stopped once the wait is over
    LEAVE = "leave"  # never stopped early: ECS's deregistration delay runs in full


def is_draining(last_status: str | None, desired_status: str | None) -> bool:
    """True when ECS wants the task stopped but it has not begun stopping yet."""
    return desired_status == "STOPPED" and last_status in DRAINING_LAST_STATUSES


@dataclass(frozen=True, slots=True)
class TaskEvent:
    """The parts of an "ECS Task State Change" event this tool uses."""

    event_id: str
    time: float  # epoch seconds of the state change (detail.updatedAt, else the envelope time)
    task_arn: str
    cluster_arn: str
    group: str
    last_status: str
    desired_status: str
    version: int
    stopped_reason: str | None = None
    stop_code: str | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    started_by: str | None = None  # the deployment or task set that started the task

    @property
    def service_name(self) -> str | None:
        """The service's name when the task belongs to a service, else None."""
        if self.group.startswith(SERVICE_GROUP_PREFIX):
            name = self.group[len(SERVICE_GROUP_PREFIX) :]
            return name or None
        return None

    @property
    def is_drain(self) -> bool:
        """A service task that ECS wants stopped and that is still draining."""
        return is_draining(self.last_status, self.desired_status)

    @property
    def is_stopped(self) -> bool:
        """The task has reached STOPPED."""
        return self.last_status == "STOPPED"


@dataclass(frozen=True, slots=True)
class TaskState:
    """A task as DescribeTasks shows it now."""

    task_arn: str
    last_status: str
    desired_status: str
    stopped_reason: str | None = None
    stop_code: str | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    started_by: str | None = None
    group: str = ""
    version: int = 0  # detail.version of the task's last state change
    #: The EC2 (or external) container instance the task runs on; None on Fargate. The
    #: ``ssm-signal`` action needs one.
    container_instance_arn: str | None = None

    @property
    def draining(self) -> bool:
        """Whether the task is still draining (see :func:`is_draining`)."""
        return is_draining(self.last_status, self.desired_status)


@dataclass(frozen=True, slots=True)
class TaskSetInfo:
    """A task set of a CODE_DEPLOY or EXTERNAL service (DescribeServices' ``taskSets``).

    ``task_set_id`` (``ecs-svc/<number>``) is the ``startedBy`` of the set's tasks;
    ``status`` is PRIMARY (serves production traffic), ACTIVE or DRAINING.
    """

    task_set_id: str
    status: str
    target_group_arns: tuple[str, ...] = ()
    desired_count: int = 0  # computedDesiredCount


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What DescribeServices tells about a service.

    ``target_group_arns``: the service's own ``loadBalancers`` (ECS controller);
    ``alternate_target_group_arns``: their ``advancedConfiguration`` (ECS-native
    blue/green, linear, canary); ``task_sets``: CODE_DEPLOY and EXTERNAL services' sets.
    ``load_balanced``: any load balancer at all (a target group, a Classic Load Balancer,
    in the service or a task set); False: nothing to drain, so nothing to shorten.
    """

    cluster_arn: str
    service_name: str
    tags: dict[str, str] = field(default_factory=dict)
    desired_count: int = 0
    target_group_arns: tuple[str, ...] = ()
    load_balanced: bool = True
    controller: str = "ECS"  # deploymentController.type: ECS, CODE_DEPLOY, EXTERNAL
    strategy: str = "ROLLING"  # deploymentConfiguration.strategy (ECS controller)
    alternate_target_group_arns: tuple[str, ...] = ()
    task_sets: tuple[TaskSetInfo, ...] = ()
    primary_deployment_id: str | None = None  # deployments[PRIMARY].id (ecs-svc/...)
    deployment_arn: str | None = None  # currentServiceDeployment
    revision_arns: tuple[str, ...] = ()  # currentServiceRevisions[].arn

    @property
    def revision_based(self) -> bool:
        """ECS-native blue/green, linear or canary: traffic moves between revisions."""
        return self.controller == "ECS" and self.strategy in {"BLUE_GREEN", "LINEAR", "CANARY"}

    #: ``containerName`` of the service's (first) load balancer: the container that holds
    #: the load-balanced port, which the ``exec`` and ``ssm-signal`` actions signal.
    lb_container_name: str | None = None


class StopAction(StrEnum):
    """How a draining task is stopped once its wait is over (tag ``<prefix>stop-action``).

    ``stop-task``, ``exec`` and ``ssm-signal`` are single steps; ``stop-task-then-exec`` is
    a plan of steps: StopTask, then ``exec`` when the task still drains ``escalate_after``
    seconds later (then ``ssm-signal`` where the service allows it and the task is on EC2).
    """

    STOP_TASK = "stop-task"  # ecs:StopTask with our reason
    EXEC = "exec"  # ECS Exec session runs the signal command in the task's container
    SSM_SIGNAL = "ssm-signal"  # SSM Run Command on the container instance signals it
    STOP_TASK_THEN_EXEC = "stop-task-then-exec"  # stop-task, escalating to exec once


#: The actions that are one step (one AWS effect): what a plan is made of.
STEP_ACTIONS = frozenset({StopAction.STOP_TASK, StopAction.EXEC, StopAction.SSM_SIGNAL})


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    """How the terminator treats a service's drains, from the service's tags."""

    enabled: bool
    wait_seconds: int
    min_healthy_percent: int | None = None
    max_stops_per_minute: int | None = None
    dry_run: bool = False
    stop_action: StopAction = StopAction.STOP_TASK
    unhealthy: UnhealthyAction = UnhealthyAction.STOP_EARLY
    #: Tag ``<prefix>exec-container``: the container to signal (None: the load balancer's).
    exec_container: str | None = None
    #: Tag ``<prefix>stop-signal``: the signal (None: the module's default, SIGTERM).
    stop_signal: str | None = None
    #: Tag ``<prefix>stop-command``: a command run in the container instead of ``kill``
    #: (None: the module's default command, if any).
    stop_command: str | None = None
    #: Tag ``<prefix>ssm-fallback``: ``ssm-signal`` may follow a failed or ineffective
    #: ``exec`` (EC2 tasks only, where the module enables it).
    ssm_fallback: bool = False


@dataclass(frozen=True, slots=True)
class ServiceSnapshot:
    """A service as DescribeServices showed it at ``read_at`` (``info`` None: it does not
    exist), with the policy its tags give."""

    info: ServiceInfo | None
    policy: ServicePolicy
    read_at: float


class RecordStatus(StrEnum):
    """Where a tracked task stands."""

    DRAINING = "draining"  # waiting for its deadline (or deferred by a guard)
    STOP_REQUESTED = "stop_requested"  # a stop action taken; awaiting confirmation/escalation
    CLOSED = "closed"  # nothing left to do; expires through TTL


class Outcome(StrEnum):
    """Why a record was closed."""

    STOPPED_BY_TERMINATOR = "stopped_by_terminator"
    STOPPED_BY_ECS = "stopped_by_ecs"
    NOT_DRAINING = "not_draining"
    TASK_GONE = "task_gone"
    OPTED_OUT = "opted_out"
    DRY_RUN = "dry_run"
    UNCONFIRMED = "unconfirmed"
    STOP_FAILED = "stop_failed"
    #: Closed at once: the stop cause leaves nothing to shorten, or the service's policy
    #: leaves it to ECS (the record's ``cause`` says which).
    NOT_SHORTENED = "not_shortened"
    #: A signal action lacked a prerequisite (``ActionTaken.missing``) and no step was
    #: left: the task is left to ECS.
    PREREQUISITE_MISSING = "prerequisite_missing"


@dataclass(frozen=True, slots=True)
class ActionTaken:
    """One stop action the sweeper took on a task: what, when, and how it went.

    ``outcome``: ``STARTED`` (written before a signal action's call: an action is never
    taken twice, even when the run dies during it), ``SENT`` (StopTask accepted), else a
    :class:`serverless.domain.signals.SignalOutcome` value or ``UNAVAILABLE`` (AWS stayed
    unavailable through the retries). ``missing``: the prerequisite a
    ``PREREQUISITE_MISSING`` lacked; ``detail``: one line (error, exit status).
    """

    action: StopAction
    at: float
    outcome: str
    missing: str | None = None
    detail: str = ""

    @property
    def delivered(self) -> bool:
        """Whether the action reached (or may have reached) the task."""
        return self.outcome in DELIVERED_OUTCOMES


#: ``ActionTaken.outcome`` values after which the task may be stopping.
DELIVERED_OUTCOMES = frozenset({"STARTED", "SENT", "SIGNALLED", "UNCONFIRMED"})


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task in the ledger. ``rev`` increments on every write (optimistic concurrency)."""

    task_arn: str
    cluster_arn: str
    service_name: str
    status: RecordStatus
    version: int
    drain_started_at: float
    wait_seconds: int
    due_at: float
    rev: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    attempts: int = 0
    deferrals: int = 0
    defer_reason: str | None = None
    stop_requested_at: float | None = None
    stop_reason: str | None = None
    outcome: Outcome | None = None
    closed_at: float | None = None
    observed_status: str | None = None
    stopped_reason: str | None = None
    stopping_at: float | None = None
    stopped_at: float | None = None
    confirmation_seconds: float | None = None
    expires_at: int | None = None
    cause: str | None = None  # a StopCause value (None: recorded before causes were kept)
    started_by: str | None = None  # the task's deployment or task set (ecs-svc/...)
    found_by: str | None = None  # "backstop" when no event recorded the drain
    #: The steps the first stop chose (``stop-task``, ``exec``, ``ssm-signal``), in order.
    plan: tuple[StopAction, ...] = ()
    #: The steps taken so far, in order: each at most once.
    actions: tuple[ActionTaken, ...] = ()

    @property
    def deadline(self) -> float:
        """The earliest moment an early stop is allowed: drain start + wait."""
        return self.drain_started_at + self.wait_seconds

    @property
    def next_step(self) -> StopAction | None:
        """The first step of the plan not taken yet (None: every step was taken)."""
        taken = {action.action for action in self.actions}
        return next((step for step in self.plan if step not in taken), None)

    @property
    def last_stop_at(self) -> float | None:
        """When the latest delivered step was taken (a record of an older release: its
        StopTask): the confirmation of the stop is measured from it."""
        delivered = [action.at for action in self.actions if action.delivered]
        return delivered[-1] if delivered else self.stop_requested_at

    @property
    def stopped_by(self) -> StopAction | None:
        """The latest delivered action: the one that stopped the task, if we stopped it."""
        if self.outcome is not Outcome.STOPPED_BY_TERMINATOR:
            return None
        delivered = [action.action for action in self.actions if action.delivered]
        if delivered:
            return delivered[-1]
        return StopAction.STOP_TASK if self.stop_requested_at is not None else None

    @property
    def is_open(self) -> bool:
        """Whether the sweeper still has work on this record."""
        return self.status is not RecordStatus.CLOSED

    def leased(self, now: float) -> bool:
        """True while a sweeper run's claim on the record has not expired."""
        return self.lease_until is not None and self.lease_until > now


@dataclass(frozen=True, slots=True)
class DueEntry:
    """What the ledger's due index tells about an open record (no full read needed)."""

    task_arn: str
    due_at: float
    status: RecordStatus
    lease_until: float | None = None

    def leased(self, now: float) -> bool:
        """True while a sweeper run's claim on the record has not expired."""
        return self.lease_until is not None and self.lease_until > now
