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

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "reorder_rate"):
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
    """An ECS service and how its tasks behave."""

    name: str
    desired_count: int = 4
    launch_type: str = "FARGATE"  # FARGATE (awsvpc) or EC2 (bridge)
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
    #: The service's ``enableExecuteCommand`` (ECS Exec into its tasks' containers).
    enable_execute_command: bool = False
    #: The account the service runs in: "" the hub's own, else a member account
    #: (:attr:`Scenario.member_accounts`).
    account: str = ""

    @property
    def network_mode(self) -> str:
        """awsvpc for Fargate, bridge for EC2."""
        return "awsvpc" if self.launch_type == "FARGATE" else "bridge"

    @property
    def emits_deactivating(self) -> bool:
        """Whether drains of this service go through DEACTIVATING."""
        if self.deactivating is None:
            return len(self.target_groups) >= 2
        return self.deactivating

    @property
    def drain_seconds(self) -> int:
        """How long ECS alone keeps a draining task: the longest deregistration delay."""
        return max((tg.deregistration_delay for tg in self.target_groups), default=0)


@dataclass(frozen=True, slots=True)
class Action:
    """At ``at`` seconds after the start: a new deployment, or a new desired count."""

    at: float
    service: str
    #: deploy | scale, or an operator's change: tag (set ``tags``), untag (remove the
    #: keys of ``tags``), delete-target-group (the service's first), delete-service.
    kind: str = "deploy"
    desired_count: int | None = None
    tags: tuple[tuple[str, str], ...] = ()


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
