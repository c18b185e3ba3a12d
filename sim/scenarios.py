"""What a simulated run sets up and does: services, target groups, actions, delivery.

A :class:`Scenario` is plain data, so the demo's named scenarios, the tests, the chaos
suite and the benchmarks build theirs the same way (e.g. 200 services x 5 tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = [
    "DEREGISTRATION_DELAY",
    "SCALE_AT",
    "SCENARIOS",
    "STOP_ACTIONS",
    "TAG_PREFIX",
    "WAIT_SECONDS",
    "Action",
    "Delivery",
    "Scenario",
    "ServiceSpec",
    "TargetGroupSpec",
    "burst_scenario",
    "member_account",
    "scenario_named",
    "stop_action_settings",
    "with_stop_action",
]

#: The tag prefix the scenarios opt in with (the functions' default ``TAG_PREFIX``).
TAG_PREFIX = "drain-terminator:"
#: The burst world (``make bench``, the chaos campaign's burst case): every drain waits
#: this long, ECS would stop the tasks itself after the deregistration delay.
WAIT_SECONDS = 120
DEREGISTRATION_DELAY = 300
#: When the services scale to zero (seconds after the start; drains begin ~2 s later).
SCALE_AT = 60.0
#: The functions' stop actions (the ``<prefix>stop-action`` tag's values).
STOP_ACTIONS = ("stop-task", "exec", "ssm-signal", "stop-task-then-exec")


@dataclass(frozen=True, slots=True)
class Delivery:
    """EventBridge delivery semantics: at least once, order not guaranteed.

    ``duplicate_rate``: probability that a matched event is delivered twice;
    ``reorder_rate``: probability that a delivery is held back long enough for later
    events of the same task to overtake it.
    """

    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    latency_seconds: tuple[float, float] = (0.2, 1.5)
    duplicate_delay_seconds: tuple[float, float] = (0.5, 20.0)
    reorder_delay_seconds: tuple[float, float] = (3.0, 25.0)
    #: Probability that every event of a drain is lost (past EventBridge's and Lambda's
    #: retries, or sent while the terminator was down): decided per task at its first
    #: event with desiredStatus STOPPED; every later event of that task is dropped too.
    lost_drain_rate: float = 0.0
    #: Only drains of these services may be lost (empty: any service).
    lost_services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "reorder_rate", "lost_drain_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")


@dataclass(frozen=True, slots=True)
class TargetGroupSpec:
    """An NLB target group; its deregistration delay is how long ECS alone drains."""

    name: str
    port: int = 80
    deregistration_delay: int = 300
    health_check_interval: int = 10
    healthy_threshold: int = 3


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """An ECS service and how its tasks behave.

    ``target_groups`` empty: a service with no load balancer (Service Connect only, or
    none). ``controller`` CODE_DEPLOY or EXTERNAL: tasks run in task sets, each with its
    own target group (``target_groups[0]`` the original set's, ``[1]`` the replacement's).
    ``strategy`` BLUE_GREEN (controller ECS): ECS-native blue/green between
    ``target_groups[0]`` (production) and ``[1]`` (alternate).
    """

    name: str
    desired_count: int = 4
    launch_type: str = "FARGATE"  # FARGATE or EC2
    min_healthy_percent: int = 100
    max_percent: int = 200
    target_groups: tuple[TargetGroupSpec, ...] = (TargetGroupSpec("web"),)
    #: Service tags (the opt-in); empty for a service that did not opt in.
    tags: tuple[tuple[str, str], ...] = ()
    #: Emit DEACTIVATING during drains; None: only with two or more target groups
    #: (ECS was reported to skip it with a single target group).
    deactivating: bool | None = None
    container_port: int = 8080
    stop_timeout: int = 30
    #: Network mode on EC2: bridge (default) or awsvpc; Fargate is always awsvpc.
    network: str | None = None
    #: Deployment controller: ECS, CODE_DEPLOY or EXTERNAL.
    controller: str = "ECS"
    #: ``deploymentConfiguration.strategy`` of an ECS-controlled service: ROLLING or
    #: BLUE_GREEN.
    strategy: str = "ROLLING"
    #: Blue/green: how long the production traffic shift takes ("with an NLB, ECS adds
    #: a 10-minute delay to traffic-shift stages": aws-behaviour.md) and the bake time.
    traffic_shift_seconds: int = 600
    bake_seconds: int = 120
    #: CODE_DEPLOY: ``terminationWaitTimeInMinutes`` (the original task set is deleted
    #: this long after traffic moved). EXTERNAL: the aws-samples controlled scale-down's
    #: ``scaledown_decrement`` (percent of the old set per step) and ``scaledown_wait``.
    termination_wait_seconds: int = 300
    scaledown_decrement: int = 25
    scaledown_wait_seconds: int = 60
    #: Fargate Spot (capacity provider FARGATE_SPOT) instead of on-demand Fargate.
    spot: bool = False
    #: How many of the service's initial tasks carry old-format ARNs (``task/<id>``):
    #: started before the account enabled ``taskLongArnFormat``.
    old_arn_tasks: int = 0
    #: Launch indices of tasks that never pass their health checks (ECS stops them).
    never_healthy: tuple[int, ...] = ()
    #: The service's ``enableExecuteCommand`` (ECS Exec into its tasks' containers).
    enable_execute_command: bool = False
    #: The account the service runs in: "" the hub's own, else a member account
    #: (:attr:`Scenario.member_accounts`).
    account: str = ""

    @property
    def network_mode(self) -> str:
        """awsvpc for Fargate; bridge (or ``network``) on EC2."""
        if self.launch_type == "FARGATE":
            return "awsvpc"
        return self.network or "bridge"

    @property
    def task_sets(self) -> bool:
        """Whether the service runs task sets (CODE_DEPLOY or EXTERNAL controller)."""
        return self.controller in {"CODE_DEPLOY", "EXTERNAL"}

    @property
    def blue_green(self) -> bool:
        """Whether deployments are ECS-native blue/green."""
        return self.controller == "ECS" and self.strategy == "BLUE_GREEN"

    @property
    def emits_deactivating(self) -> bool:
        """Whether drains of this service go through DEACTIVATING."""
        if self.deactivating is None:
            return len(self.target_groups) >= 2
        return self.deactivating

    @property
    def drain_seconds(self) -> int:
        """How long ECS alone keeps a draining task: the longest deregistration delay
        (a task-set or blue/green task is in one of the groups: see ``Task.drain_seconds``)."""
        return max((tg.deregistration_delay for tg in self.target_groups), default=0)


@dataclass(frozen=True, slots=True)
class Action:
    """At ``at`` seconds after the start: a new deployment, or a new desired count."""

    at: float
    service: str
    #: deploy | scale, or an operator's change: tag (set ``tags``), untag (remove the
    #: keys of ``tags``), delete-target-group (the service's first), delete-service;
    #: or something ECS does on its own: drain-instance (set the container instance
    #: hosting the service's first task to DRAINING), spot-interruption (``count``
    #: tasks get Fargate Spot's two-minute warning), fail-health-checks (``count``
    #: tasks start failing their ELB health checks).
    kind: str = "deploy"
    desired_count: int | None = None
    tags: tuple[tuple[str, str], ...] = ()
    count: int = 1


@dataclass(frozen=True, slots=True)
class Scenario:
    """A complete run description."""

    name: str
    description: str
    services: tuple[ServiceSpec, ...]
    actions: tuple[Action, ...]
    delivery: Delivery = field(default_factory=Delivery)
    #: A terminator stop counts as on time up to this long after drain start + wait.
    stop_tolerance_seconds: float = 10.0
    #: Simulated time after the last deployment completes (late stops would show here).
    settle_seconds: float = 120.0
    #: Give up (and fail) after this much simulated time.
    max_seconds: float = 4 * 3600.0
    #: A hub's member accounts (services name theirs in ``account``): the functions act
    #: in each with its member role. Empty: a single-account deployment.
    member_accounts: tuple[str, ...] = ()
    #: Member accounts whose member role cannot be assumed (AssumeRole is denied).
    broken_accounts: tuple[str, ...] = ()

    def with_delivery(self, delivery: Delivery) -> Scenario:
        """The same scenario with other delivery semantics."""
        return replace(self, delivery=delivery)


def _opt_in(wait: int) -> tuple[tuple[str, str], ...]:
    return ((f"{TAG_PREFIX}enabled", "true"), (f"{TAG_PREFIX}wait-seconds", str(wait)))


_FARGATE = ServiceSpec(
    name="web",
    desired_count=4,
    min_healthy_percent=100,
    max_percent=150,
    target_groups=(TargetGroupSpec("web", port=80, deregistration_delay=300),),
    tags=_opt_in(120),
)

SCENARIOS: dict[str, Scenario] = {
    "fargate": Scenario(
        name="fargate",
        description="Fargate rolling deployment of an opted-in service behind an NLB",
        services=(_FARGATE,),
        actions=(Action(at=30.0, service="web"),),
    ),
    "bridge": Scenario(
        name="bridge",
        description="EC2 bridge-mode rolling deployment (dynamic host ports)",
        services=(
            ServiceSpec(
                name="api",
                desired_count=4,
                launch_type="EC2",
                min_healthy_percent=50,
                max_percent=100,
                target_groups=(TargetGroupSpec("api", port=80, deregistration_delay=300),),
                tags=_opt_in(90),
            ),
        ),
        actions=(Action(at=30.0, service="api"),),
    ),
    "two-target-groups": Scenario(
        name="two-target-groups",
        description="a service in two target groups (drains go through DEACTIVATING)",
        services=(
            ServiceSpec(
                name="edge",
                desired_count=3,
                min_healthy_percent=100,
                max_percent=200,
                target_groups=(
                    TargetGroupSpec("edge-http", port=80, deregistration_delay=300),
                    TargetGroupSpec("edge-grpc", port=50051, deregistration_delay=600),
                ),
                tags=_opt_in(120),
            ),
        ),
        actions=(Action(at=30.0, service="edge"),),
    ),
    "not-opted-in": Scenario(
        name="not-opted-in",
        description="an opted-in and an untagged service deploy together; the untagged "
        "one is left to ECS",
        services=(
            _FARGATE,
            replace(
                _FARGATE,
                name="legacy",
                tags=(),
                target_groups=(TargetGroupSpec("legacy", port=81, deregistration_delay=300),),
            ),
        ),
        actions=(Action(at=30.0, service="web"), Action(at=30.0, service="legacy")),
    ),
    "scale-in": Scenario(
        name="scale-in",
        description="an opted-in service scaled in from 6 to 2 tasks",
        services=(replace(_FARGATE, desired_count=6, tags=_opt_in(60)),),
        actions=(Action(at=30.0, service="web", kind="scale", desired_count=2),),
    ),
    "duplicates": Scenario(
        name="duplicates",
        description="the Fargate deployment with 30% duplicated and 20% reordered deliveries",
        services=(_FARGATE,),
        actions=(Action(at=30.0, service="web"),),
        delivery=Delivery(duplicate_rate=0.3, reorder_rate=0.2),
    ),
    # Every other way ECS drains (or stops) a service task. Where each behaviour and event
    # shape comes from is cited beside the code that makes it: sim/aws/ecs/model.py (stop
    # reasons and codes), sim/aws/ecs/scheduler.py (controllers), sim/aws/eventbridge.py
    # (lost events), sim/aws/model_api.py (what moto lacks).
    "blue-green": Scenario(
        name="blue-green",
        description="an ECS-native blue/green deployment: the new revision scales up in the "
        "alternate target group, traffic shifts (10 minutes with an NLB), bake time, then the "
        "old revision's tasks drain",
        services=(
            ServiceSpec(
                name="shop",
                desired_count=4,
                min_healthy_percent=100,
                max_percent=200,
                strategy="BLUE_GREEN",
                target_groups=(
                    TargetGroupSpec("shop-blue", port=80, deregistration_delay=300),
                    TargetGroupSpec("shop-green", port=80, deregistration_delay=300),
                ),
                tags=_opt_in(120),
            ),
        ),
        actions=(Action(at=30.0, service="shop"),),
    ),
    "codedeploy": Scenario(
        name="codedeploy",
        description="a CodeDeploy blue/green deployment: a replacement task set in the green "
        "target group, traffic rerouted, the original task set deleted 5 minutes later",
        services=(
            ServiceSpec(
                name="checkout",
                desired_count=4,
                controller="CODE_DEPLOY",
                target_groups=(
                    TargetGroupSpec("checkout-blue", port=80, deregistration_delay=300),
                    TargetGroupSpec("checkout-green", port=80, deregistration_delay=300),
                ),
                termination_wait_seconds=300,
                tags=_opt_in(120),
            ),
        ),
        actions=(Action(at=30.0, service="checkout"),),
    ),
    "external-task-sets": Scenario(
        name="external-task-sets",
        description="the EXTERNAL controller's controlled scale-down over an NLB (aws-samples): "
        "a new task set, the listener swapped, the old set scaled down 25% a minute",
        services=(
            ServiceSpec(
                name="stream",
                desired_count=4,
                controller="EXTERNAL",
                target_groups=(
                    TargetGroupSpec("stream-a", port=80, deregistration_delay=600),
                    TargetGroupSpec("stream-b", port=80, deregistration_delay=600),
                ),
                scaledown_decrement=25,
                scaledown_wait_seconds=60,
                tags=_opt_in(120),
            ),
        ),
        actions=(Action(at=30.0, service="stream"),),
    ),
    "instance-drain": Scenario(
        name="instance-drain",
        description="an EC2 container instance set to DRAINING: the bridge and awsvpc service "
        "tasks on it are replaced within min/max percent; some carry old-format task ARNs",
        services=(
            ServiceSpec(
                name="api",
                desired_count=4,
                launch_type="EC2",
                min_healthy_percent=50,
                max_percent=100,
                target_groups=(TargetGroupSpec("api", port=80, deregistration_delay=300),),
                old_arn_tasks=1,
                tags=_opt_in(90),
            ),
            ServiceSpec(
                name="worker",
                desired_count=4,
                launch_type="EC2",
                network="awsvpc",
                min_healthy_percent=100,
                max_percent=200,
                target_groups=(TargetGroupSpec("worker", port=81, deregistration_delay=300),),
                old_arn_tasks=4,
                tags=_opt_in(120),
            ),
        ),
        actions=(Action(at=30.0, service="api", kind="drain-instance"),),
    ),
    "spot-interruption": Scenario(
        name="spot-interruption",
        description="Fargate Spot reclaims two tasks: SIGTERM at once, deregistered only when "
        "STOPPED; there is no drain to cut, so the terminator sends no StopTask",
        services=(replace(_FARGATE, name="batch", spot=True),),
        actions=(Action(at=30.0, service="batch", kind="spot-interruption", count=2),),
    ),
    "no-target-group": Scenario(
        name="no-target-group",
        description="a service with no load balancer (Service Connect only) deploys: ECS stops "
        "its tasks at once, the terminator makes no ELB call and sends no StopTask",
        services=(replace(_FARGATE, name="mesh", target_groups=()),),
        actions=(Action(at=30.0, service="mesh"),),
    ),
    "unhealthy-replacement": Scenario(
        name="unhealthy-replacement",
        description="a task fails its ELB health checks and its first replacement never becomes "
        "healthy: ECS drains and replaces both (stopped early by default)",
        services=(replace(_FARGATE, max_percent=200, never_healthy=(4,)),),
        actions=(Action(at=30.0, service="web", kind="fail-health-checks", count=1),),
    ),
    "lost-events": Scenario(
        name="lost-events",
        description="a deployment whose drains hold tasks for a 30-minute delay, and every "
        "event of about half the drains is lost: the backstop finds them",
        services=(
            replace(
                _FARGATE,
                target_groups=(TargetGroupSpec("web", port=80, deregistration_delay=1800),),
            ),
        ),
        actions=(Action(at=30.0, service="web"),),
        delivery=Delivery(lost_drain_rate=0.5),
    ),
}


def scenario_named(name: str) -> Scenario:
    """The named scenario; KeyError lists the valid names."""
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}") from None


def member_account(index: int) -> str:
    """The simulated member account number ``index`` (1, 2, ...): 12 digits."""
    return f"{200000000000 + index:012d}"


def burst_scenario(
    drains: int,
    services: int,
    deregistration_delay: int = DEREGISTRATION_DELAY,
    *,
    launch_type: str = "FARGATE",
    accounts: int = 1,
) -> Scenario:
    """``services`` services holding ``drains`` tasks between them, all scaled in at once;
    ECS stops the tasks itself ``deregistration_delay`` seconds after their drains began
    (``launch_type`` EC2: bridge-mode tasks on container instances).

    ``accounts`` > 1: a hub and ``accounts - 1`` member accounts, the services dealt out
    over them in turn (so are the drains)."""
    if drains < 1 or services < 1 or accounts < 1:
        raise ValueError("drains, services and accounts must be at least 1")
    services = max(min(services, drains), min(accounts, drains))
    members = tuple(member_account(i) for i in range(1, accounts))
    owners = ("", *members)
    per, extra = divmod(drains, services)
    specs, actions = [], []
    for index in range(services):
        name = f"burst{index:03d}"
        specs.append(
            ServiceSpec(
                name=name,
                desired_count=per + (index < extra),
                launch_type=launch_type,
                target_groups=(
                    TargetGroupSpec(f"tg{index:03d}", deregistration_delay=deregistration_delay),
                ),
                tags=(
                    (f"{TAG_PREFIX}enabled", "true"),
                    (f"{TAG_PREFIX}wait-seconds", str(WAIT_SECONDS)),
                ),
                account=owners[index % len(owners)],
            )
        )
        actions.append(Action(at=SCALE_AT, service=name, kind="scale", desired_count=0))
    return Scenario(
        name=f"burst-{drains}",
        description=f"{drains} drains due at once across {services} services",
        services=tuple(specs),
        actions=tuple(actions),
        settle_seconds=60.0,
        max_seconds=SCALE_AT + deregistration_delay + 900.0,
        member_accounts=members,
    )


def _opted_in(spec: ServiceSpec) -> bool:
    return dict(spec.tags).get(f"{TAG_PREFIX}enabled", "").strip().lower() == "true"


def with_stop_action(scenario: Scenario, action: str) -> Scenario:
    """The scenario with every opted-in service tagged ``<prefix>stop-action=action``; an
    action that signals through ECS Exec also turns the service's ``enableExecuteCommand``
    on (a prerequisite the user sets with the tag)."""
    if action not in STOP_ACTIONS:
        raise ValueError(f"unknown stop action {action!r}; choose from {', '.join(STOP_ACTIONS)}")
    exec_needed = action in {"exec", "stop-task-then-exec"}
    services = []
    for spec in scenario.services:
        if not _opted_in(spec):
            services.append(spec)
            continue
        tags = {**dict(spec.tags), f"{TAG_PREFIX}stop-action": action}
        services.append(
            replace(
                spec,
                tags=tuple(sorted(tags.items())),
                enable_execute_command=spec.enable_execute_command or exec_needed,
            )
        )
    return replace(scenario, services=tuple(services))


def stop_action_settings(actions: set[str] | frozenset[str]) -> dict[str, bool]:
    """The module settings (``Settings`` fields) a deployment needs for ``actions``: exec
    and ssm-signal are off unless the module turns them on (their IAM)."""
    settings = {}
    if actions & {"exec", "stop-task-then-exec"}:
        settings["exec_enabled"] = True
    if "ssm-signal" in actions:
        settings["ssm_signal_enabled"] = True
    return settings
