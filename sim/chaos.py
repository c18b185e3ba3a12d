"""Chaos runs: randomized, seeded deployments with injected faults, judged from the witness log.

Each case builds a random mix of services (opted in, not opted in, opted out, dry-run,
guarded by min-healthy and/or max-stops-per-minute, invalid wait tags), deploys them,
and injects faults until ``faults_clear_at``: throttling, 5xx and time-outs on ECS,
DynamoDB and ELB calls of the functions (DescribeServices and DescribeTargetHealth
included), fake conditional-check conflicts on DynamoDB writes, duplicated and reordered
deliveries, and sweeper invocations killed at random points (right after a claim, right
after a StopTask, anywhere). Operators act in the middle of drains: they opt a service
out, turn dry-run on, raise its wait, delete its target group or the service itself.
Each service also drains one of the ways ECS drains or stops service tasks (``SHAPES``,
the demo's scenarios of those names): a rolling update, ECS-native blue/green, CodeDeploy
or EXTERNAL task sets, a container instance set to DRAINING (some tasks with old-format
ARNs), Fargate Spot interruptions, no load balancer, failing health checks and a
replacement that never becomes healthy, or drains whose every event is lost. The judge
holds each cause to its expectation: no StopTask for a Spot interruption or a task in no
target group, a lost drain stopped by the terminator (through its backstop) after its wait.
A case can also be a *burst world* (``burst_drains``): that many drains due at once.
A case in the *ignored* world (``stoptask_on_draining``: StopTask on a draining task
changes only its reason) tags its opted-in services with a mix of stop actions
(stop-task, exec, stop-task-then-exec, ssm-signal; some without ``enableExecuteCommand``,
some with the SSM fallback) and injects faults into their exec sessions and SSM commands
(dropped, exit 127, never ending, refused); some such worlds also refuse ExecuteCommand on a
task ECS is stopping.
Every call costs latency and draws from the account's rate limits (:mod:`sim.aws.costs`).
A case can spread its services over a hub and member accounts (``accounts``), one
member's role broken: its drains must be left to ECS and counted, the others unaffected.
The verdict is computed from the simulator's observation log, never from the functions'
own logs or ledger.

``python -m sim.chaos --drains 5000 --workers 2`` runs a larger campaign.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context

from botocore.exceptions import ReadTimeoutError

from sim.aws.ecs.model import WorldRules
from sim.aws.embedded import AwsCall, AwsHook, Reply
from sim.aws.lambda_runtime import Invocation, LambdaKilled
from sim.aws.signals import SignalFaults
from sim.judge.verdict import ChaosConfig, ChaosResult, aggregate, format_result, judge
from sim.scenarios import (
    TAG_PREFIX,
    Action,
    Delivery,
    Scenario,
    ServiceSpec,
    TargetGroupSpec,
    burst_scenario,
    member_account,
    stop_action_settings,
)
from sim.simulation import Simulation

__all__ = [
    "OPERATOR_ACTIONS",
    "ChaosConfig",
    "ChaosResult",
    "Faults",
    "aggregate",
    "case_world",
    "chaos_scenario",
    "format_result",
    "ignored_world",
    "judge",
    "planned_drains",
    "run_campaign",
    "run_case",
]

SWEEPER = "sweeper"
#: How each service drains, mixed into the same worlds (drawn from a stream of its own, so
#: the services, tags and operators of a seed stay as they were): the rolling update, and
#: every other way ECS drains or stops service tasks (the demo's scenarios of those names).
SHAPES: tuple[tuple[str, float], ...] = (
    ("rolling", 0.42),
    ("blue-green", 0.06),
    ("codedeploy", 0.06),
    ("external-task-sets", 0.06),
    ("instance-drain", 0.08),
    ("spot-interruption", 0.06),
    ("no-target-group", 0.06),
    ("unhealthy-replacement", 0.06),
    ("lost-events", 0.14),
)
#: Shapes that only exist on one launch type (the others fall back to rolling).
_FARGATE_ONLY = frozenset({"blue-green", "codedeploy", "external-task-sets", "spot-interruption"})
_EC2_ONLY = frozenset({"instance-drain"})
_UNGUARDED = frozenset({"plain", "invalid-wait"})
#: Operators' changes a shape cannot take: no group to delete, or a group that task sets or
#: blue/green deployments move traffic away from (its deletion is not a guard question).
_NO_GROUP_DELETION = frozenset(
    {"no-target-group", "blue-green", "codedeploy", "external-task-sets"}
)
KINDS: tuple[tuple[str, float], ...] = (
    ("plain", 0.38),
    ("min-healthy", 0.12),
    ("stagger", 0.12),
    ("both-guards", 0.06),
    ("dry-run", 0.08),
    ("not-opted-in", 0.10),
    ("opted-out", 0.07),
    ("invalid-wait", 0.07),
)


# -- scenario ---------------------------------------------------------------------------


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...] = ()) -> str:
    table = table or KINDS
    roll, total = rng.random(), 0.0
    for kind, weight in table:
        total += weight
        if roll < total:
            return kind
    return table[0][0]


def _shaped(
    spec: ServiceSpec, shape: str, deploy_at: float, rng: random.Random
) -> tuple[ServiceSpec, list[Action]]:
    """``spec`` drained the way ``shape`` says, and the actions that make ECS do it."""
    delay = spec.target_groups[0].deregistration_delay
    two = tuple(
        TargetGroupSpec(f"{spec.target_groups[0].name}{side}", port=80, deregistration_delay=delay)
        for side in ("b", "g")
    )
    actions = [Action(at=deploy_at, service=spec.name)]
    if shape == "blue-green":
        spec = replace(spec, strategy="BLUE_GREEN", target_groups=two)
    elif shape == "codedeploy":
        spec = replace(spec, controller="CODE_DEPLOY", target_groups=two)
    elif shape == "external-task-sets":
        spec = replace(spec, controller="EXTERNAL", target_groups=two)
    elif shape == "no-target-group":
        spec = replace(spec, target_groups=())
    elif shape == "lost-events":
        # A delay long enough for the backstop's round (10 minutes) to find a lost drain
        # before ECS ends it, as users run them (containers-roadmap #2171: 30 minutes).
        groups = tuple(replace(g, deregistration_delay=1200) for g in spec.target_groups)
        spec = replace(spec, target_groups=groups)
    elif shape == "spot-interruption":
        spec = replace(spec, spot=True)
        at = round(deploy_at + rng.uniform(-20.0, 200.0), 1)
        actions.append(
            Action(at=at, service=spec.name, kind="spot-interruption", count=rng.randint(1, 2))
        )
    elif shape == "instance-drain":
        at = round(deploy_at + rng.uniform(-20.0, 200.0), 1)
        actions.append(Action(at=at, service=spec.name, kind="drain-instance"))
        spec = replace(spec, old_arn_tasks=rng.randint(0, spec.desired_count))
    elif shape == "unhealthy-replacement":
        spec = replace(spec, never_healthy=(spec.desired_count,))
        at = round(deploy_at + rng.uniform(-20.0, 100.0), 1)
        actions.append(Action(at=at, service=spec.name, kind="fail-health-checks"))
    return spec, actions


#: The stop actions an ignored world's opted-in services are tagged with, and their weights.
STOP_ACTION_MIX: tuple[tuple[str, float], ...] = (
    ("stop-task", 0.25),
    ("exec", 0.25),
    ("stop-task-then-exec", 0.35),
    ("ssm-signal", 0.15),
)


def _stop_action_tags(ec2: bool, rng: random.Random) -> tuple[dict[str, str], bool]:
    """A stop action's tags (ignored worlds) and whether the service enables ECS Exec."""
    roll, total, action = rng.random(), 0.0, STOP_ACTION_MIX[0][0]
    for name, weight in STOP_ACTION_MIX:
        total += weight
        if roll < total:
            action = name
            break
    tags = {f"{TAG_PREFIX}stop-action": action}
    if ec2 and action in {"exec", "stop-task-then-exec"} and rng.random() < 0.5:
        tags[f"{TAG_PREFIX}ssm-fallback"] = "true"
    # Most services that chose exec enabled it; the others lack the prerequisite.
    return tags, rng.random() < 0.85


def _tags(kind: str, wait: int, rng: random.Random) -> tuple[tuple[str, str], ...]:
    if kind == "not-opted-in":
        return ()
    tags = {
        f"{TAG_PREFIX}enabled": "false" if kind == "opted-out" else rng.choice(["true", "TRUE"])
    }
    tags[f"{TAG_PREFIX}wait-seconds"] = "soon" if kind == "invalid-wait" else str(wait)
    if kind in {"min-healthy", "both-guards"}:
        tags[f"{TAG_PREFIX}min-healthy-percent"] = "100"
    if kind in {"stagger", "both-guards"}:
        tags[f"{TAG_PREFIX}max-stops-per-minute"] = str(rng.choice([1, 2, 3]))
    if kind == "dry-run":
        tags[f"{TAG_PREFIX}dry-run"] = "true"
    return tuple(sorted(tags.items()))


#: What an operator does in the middle of a service's drains.
OPERATOR_ACTIONS = (
    "opt-out",
    "opt-out-false",
    "dry-run-on",
    "wait-raised",
    "target-group-deleted",
    "service-deleted",
)


def _operator_action(name: str, at: float, wait: int, rng: random.Random) -> Action:
    if name == "opt-out":
        return Action(at=at, service="", kind="untag", tags=((f"{TAG_PREFIX}enabled", ""),))
    if name == "opt-out-false":
        return Action(at=at, service="", kind="tag", tags=((f"{TAG_PREFIX}enabled", "false"),))
    if name == "dry-run-on":
        return Action(at=at, service="", kind="tag", tags=((f"{TAG_PREFIX}dry-run", "true"),))
    if name == "wait-raised":
        raised = str(wait + rng.choice([60, 150, 400]))
        return Action(at=at, service="", kind="tag", tags=((f"{TAG_PREFIX}wait-seconds", raised),))
    kind = "delete-target-group" if name == "target-group-deleted" else "delete-service"
    return Action(at=at, service="", kind=kind)


def chaos_scenario(config: ChaosConfig) -> tuple[Scenario, dict[str, str]]:
    """The case's random scenario and the kind of each service."""
    if config.burst_drains:
        scenario = burst_scenario(config.burst_drains, max(1, config.burst_drains // 100))
        scenario = replace(
            scenario,
            name=f"chaos-burst-{config.seed}",
            delivery=Delivery(config.duplicate_rate, config.reorder_rate),
        )
        return scenario, {s.name: "plain" for s in scenario.services}
    rng = random.Random(f"chaos-scenario:{config.seed}")
    operators = random.Random(f"chaos-operators:{config.seed}")
    shapes = random.Random(f"chaos-shapes:{config.seed}")
    actions_rng = random.Random(f"chaos-stop-actions:{config.seed}")
    services, actions, kinds = [], [], {}
    lost: list[str] = []
    for index in range(config.services):
        kind = _pick(rng)
        name = f"svc{index:02d}-{kind}"
        kinds[name] = kind
        wait = rng.choice([60, 90, 120, 120, 180])
        delays = [rng.choice([300, 300, 600])]
        if rng.random() < 0.2:
            delays.append(rng.choice([300, 600]))
        ec2 = rng.random() < 0.3
        # Drawn in the order the effective world always drew them (its scenarios unchanged).
        desired_count = rng.randint(2, 8)
        tags = _tags(kind, wait, rng)
        enable_exec = False
        if config.stoptask_on_draining == "ignored" and tags:
            # Drawn from a stream of its own: the effective world's scenario is unchanged.
            extra, enable_exec = _stop_action_tags(ec2, actions_rng)
            tags = tuple(sorted({**dict(tags), **extra}.items()))
        spec = ServiceSpec(
            name=name,
            desired_count=desired_count,
            launch_type="EC2" if ec2 else "FARGATE",
            min_healthy_percent=50 if ec2 else 100,
            max_percent=100 if ec2 else 200,
            target_groups=tuple(
                TargetGroupSpec(f"tg{index:02d}{n}", port=80 + n, deregistration_delay=d)
                for n, d in enumerate(delays)
            ),
            tags=tags,
            enable_execute_command=enable_exec,
        )
        deploy_at = round(rng.uniform(30.0, 600.0), 1)
        shape = _pick(shapes, SHAPES)
        if (shape in _FARGATE_ONLY and ec2) or (shape in _EC2_ONLY and not ec2):
            shape = "rolling"
        if shape == "lost-events" and kind not in _UNGUARDED:
            # Lost drains where the terminator must stop them; a service it leaves to ECS
            # would only hold the world for the long delay (and cost CPU, not coverage).
            shape = "rolling"
        spec, made = _shaped(spec, shape, deploy_at, shapes)
        services.append(spec)
        actions.extend(made)
        if shape == "lost-events":
            lost.append(name)
        if kind != "not-opted-in" and operators.random() < config.operator_rate:
            what = operators.choice(OPERATOR_ACTIONS)
            if what == "target-group-deleted" and shape in _NO_GROUP_DELETION:
                what = "opt-out"
            at = round(deploy_at + operators.uniform(40.0, 160.0), 1)
            actions.append(replace(_operator_action(what, at, wait, operators), service=name))
    scenario = Scenario(
        name=f"chaos-{config.seed}",
        description="randomized deployments with injected faults",
        services=tuple(services),
        actions=tuple(sorted(actions, key=lambda a: a.at)),
        delivery=Delivery(
            config.duplicate_rate,
            config.reorder_rate,
            lost_drain_rate=0.5 if lost else 0.0,
            lost_services=tuple(lost),
        ),
    )
    return _over_accounts(scenario, config.accounts), kinds


#: Every this many services, one runs in the member account whose role is broken.
BROKEN_EVERY = 10


def _over_accounts(scenario: Scenario, accounts: int) -> Scenario:
    """``scenario`` with its services dealt out over a hub and ``accounts - 1`` members,
    the first member's role broken (``accounts`` <= 1: unchanged). The broken member gets
    one service in :data:`BROKEN_EVERY` (each of its events fails, and Lambda tries it
    twice more), the others take turns with the rest."""
    if accounts <= 1:
        return scenario
    members = tuple(member_account(i) for i in range(1, accounts))
    broken, owners = members[0], ("", *members[1:])
    services = tuple(
        replace(
            spec,
            account=broken if n % BROKEN_EVERY == BROKEN_EVERY - 1 else owners[n % len(owners)],
        )
        for n, spec in enumerate(scenario.services)
    )
    return replace(
        scenario,
        name=f"{scenario.name}-accounts",
        services=services,
        member_accounts=members,
        broken_accounts=members[:1],
    )


# -- faults -----------------------------------------------------------------------------

_ELB = "elastic-load-balancing-v2"
_FAULTY = frozenset({"ecs", "dynamodb", _ELB})
_THROTTLE = {
    "ecs": "ThrottlingException",
    "dynamodb": "ProvisionedThroughputExceededException",
    _ELB: "Throttling",
}
_SERVER_ERROR = {
    "ecs": "ServerException",
    "dynamodb": "InternalServerError",
    _ELB: "InternalFailure",
}


class Faults:
    """The fault hooks and kill policy of one case; counts what it injected."""

    def __init__(self, config: ChaosConfig, start: float) -> None:
        self.config = config
        self.clear_at = start + config.faults_clear_at
        self.rng = random.Random(f"chaos-faults:{config.seed}")
        self.counts: dict[str, int] = defaultdict(int)
        self._plans: dict[str, _KillPlan] = {}

    def _active(self, call: AwsCall) -> bool:
        return call.caller is not None and call.at < self.clear_at

    def kill_hook(self, call: AwsCall) -> Reply | None:
        """Kill a doomed sweeper right after its n-th claim or its first StopTask."""
        caller = call.caller
        if caller is None or caller.request_id not in self._plans:
            return None
        plan = self._plans[caller.request_id]
        if plan.armed:
            del self._plans[caller.request_id]
            self.counts[f"kill-after-{plan.mode}"] += 1
            raise LambdaKilled(f"chaos: killed after {plan.mode}, before {call.operation}")
        if plan.mode == "claim" and call.operation == "UpdateItem":
            # A claim is one conditional UpdateItem that sets the lease (DynamoLedger.claim).
            if "lease_owner" in str(call.params.get("UpdateExpression", "")):
                plan.claims_left -= 1
                plan.armed = plan.claims_left <= 0
        elif plan.mode == "stop" and call.operation == "StopTask":
            plan.armed = True
        return None

    def error_hook(self, call: AwsCall) -> Reply | None:
        """Throttling, 5xx, time-outs (request never arrives) and fake write conflicts."""
        if call.service not in _FAULTY or not self._active(call):
            return None
        roll = self.rng.random()
        cfg = self.config
        if roll < cfg.throttle_rate:
            self.counts["throttle"] += 1
            if call.service == _ELB:
                self.counts["elb-fault"] += 1
            code = _THROTTLE[call.service]
            return Reply.error(call.service, code, "Rate exceeded", 400)
        roll -= cfg.throttle_rate
        if roll < cfg.server_error_rate:
            self.counts["5xx"] += 1
            if call.service == _ELB:
                self.counts["elb-fault"] += 1
            return Reply.error(call.service, _SERVER_ERROR[call.service], "injected", 500)
        roll -= cfg.server_error_rate
        if roll < cfg.timeout_rate:
            self.counts["timeout"] += 1
            raise ReadTimeoutError(endpoint_url=f"https://{call.service}.chaos")
        roll -= cfg.timeout_rate
        writes = {"PutItem", "UpdateItem"}
        if call.service == "dynamodb" and call.operation in writes and roll < cfg.conflict_rate:
            self.counts["conflict"] += 1
            return Reply.error(
                "dynamodb", "ConditionalCheckFailedException", "The conditional request failed"
            )
        return None

    def hooks(self) -> list[AwsHook]:
        """Kill decisions first (they must see every call), then errors."""
        return [self.kill_hook, self.error_hook]

    def kill_policy(self, invocation: Invocation, rng: random.Random) -> float | None:
        """Doom some sweeper invocations; returns a kill time for the "time" mode."""
        if SWEEPER not in invocation.function or invocation.started_at >= self.clear_at:
            return None
        if self.rng.random() >= self.config.kill_rate:
            return None
        mode = self.rng.choice(["claim", "stop", "time"])
        if mode == "time":
            self.counts["kill-at-random-time"] += 1
            return self.rng.uniform(0.0, 100.0)
        self._plans[invocation.request_id] = _KillPlan(mode, claims_left=self.rng.randint(1, 3))
        return None


@dataclass(slots=True)
class _KillPlan:
    mode: str  # claim | stop
    claims_left: int = 1
    armed: bool = False


# -- running ----------------------------------------------------------------------------


def run_case(config: ChaosConfig) -> ChaosResult:
    """Run one chaos case and judge it."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    scenario, kinds = chaos_scenario(config)
    ignored = config.stoptask_on_draining == "ignored"
    settings: dict[str, object] = {"lease_seconds": config.lease_seconds}
    signal_faults = None
    if ignored:
        settings |= stop_action_settings({a for a, _ in STOP_ACTION_MIX})
        share = config.signal_fault_rate / 4
        signal_faults = SignalFaults(dropped=share, exit_127=share, timeout=share, refused=share)
    simulation = Simulation(
        scenario,
        seed=config.seed,
        counterfactual=False,
        settings=settings,
        world=WorldRules(
            stoptask_on_draining="ignored" if ignored else "effective",
            exec_refused_when_stopping=config.exec_refused_when_stopping,
        ),
    )
    if signal_faults is not None:
        simulation.signal_faults = replace(
            signal_faults, until=simulation.start + config.faults_clear_at
        )
    faults = Faults(config, simulation.start)
    simulation.aws_hooks = faults.hooks()
    simulation.kill_policy = faults.kill_policy
    record = simulation.run_once()
    result = judge(record, kinds, config)
    for name, count in faults.counts.items():
        result.faults_injected[name] += count
    return result


def planned_drains(config: ChaosConfig) -> int:
    """The drains a case's scenario sets off: every task its deployments replace (the
    judge counts the drains that really began, a few more where operators act)."""
    scenario, _ = chaos_scenario(config)
    return sum(service.desired_count for service in scenario.services)


def ignored_world(seed: int, share: float) -> bool:
    """Whether the case of ``seed`` runs in the ignored world when a ``share`` of the cases
    do: spread evenly over the seeds (share 0.5: every second seed)."""
    return math.floor(seed * share) > math.floor((seed - 1) * share)


def case_world(template: ChaosConfig, seed: int, ignored_share: float | None) -> ChaosConfig:
    """The case of ``seed``: ``ignored_share`` (None: the template's world for all) picks
    the ignored ones; every second ignored world also refuses Exec on stopping tasks."""
    config = replace(template, seed=seed)
    if ignored_share is None or not ignored_world(seed, ignored_share):
        return config
    nth = math.floor(seed * ignored_share)
    return replace(config, stoptask_on_draining="ignored", exec_refused_when_stopping=nth % 2 == 0)


def run_campaign(
    min_drains: int,
    *,
    base: ChaosConfig | None = None,
    workers: int = 2,
    progress: Callable[[ChaosResult], None] | None = None,
    burst_drains: int = 0,
    ignored_share: float | None = None,
    accounts: int = 1,
) -> ChaosResult:
    """Run cases with successive seeds until at least ``min_drains`` drains were seen.

    The seeds are chosen up front from the drains their scenarios plan, and all of them go
    to the pool at once, the longest (the burst world) first, so the workers stay busy to
    the end; should the cases see fewer drains than planned, more follow.
    ``burst_drains``: also run one burst world of that many simultaneous drains (its
    drains count on top of ``min_drains``). ``ignored_share``: run that share of the other
    cases in the ignored world (see :func:`ignored_world`); None: every case in the
    template's world. ``accounts`` > 1: the first case's services
    are spread over that many accounts, one member's role broken (ChaosConfig.accounts).
    """
    template = base or ChaosConfig(seed=1)
    total = ChaosResult()
    seed = template.seed
    context = get_context("spawn")
    burst = [replace(template, burst_drains=burst_drains)] if burst_drains else []
    with ProcessPoolExecutor(max_workers=max(workers, 1), mp_context=context) as pool:
        while total.drains - total.burst_drains < min_drains or burst:
            configs, planned = list(burst), total.drains - total.burst_drains
            burst = []
            while planned < min_drains or not configs:
                config = case_world(template, seed, ignored_share)
                if seed == template.seed and accounts > 1:
                    config = replace(config, accounts=accounts)
                configs.append(config)
                planned += planned_drains(config)
                seed += 1
            for result in pool.map(run_case, configs):
                total = aggregate([total, result])
                if progress is not None:
                    progress(total)
    return total


def _count(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """CLI: a chaos campaign; exit 0 only when every safety count is zero."""
    from sim.output.progress import DEFAULT_INTERVAL, ProgressLine, elapsed, interval_argument

    parser = argparse.ArgumentParser(prog="python -m sim.chaos", description=__doc__)
    parser.add_argument("--drains", type=_count, default=1000, help="minimum drains (default 1000)")
    parser.add_argument("--workers", type=_count, default=2, help="processes (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--services", type=_count, default=12, help="services per case")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--stoptask-on-draining",
        choices=("effective", "ignored", "mixed"),
        default="effective",
        help="the world of every case: StopTask on a draining task sends SIGTERM now "
        "(effective, the default) or changes only its reason (ignored: a mix of stop actions, "
        "signal faults injected); mixed: every second case ignored (the campaign of make test)",
    )
    parser.add_argument(
        "--progress-every",
        type=interval_argument,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between progress lines on stderr (default {DEFAULT_INTERVAL:g})",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    args = parser.parse_args(argv)
    base = ChaosConfig(
        seed=args.seed,
        services=args.services,
        stoptask_on_draining="ignored" if args.stoptask_on_draining == "ignored" else "effective",
    )
    share = 0.5 if args.stoptask_on_draining == "mixed" else None
    latest = ChaosResult()

    def record(total: ChaosResult) -> None:
        nonlocal latest
        latest = total

    def describe() -> str:
        return (
            f"{elapsed(progress.seconds)} elapsed, {latest.cases} cases done, "
            f"{latest.drains} of at least {args.drains} drains"
        )

    progress = ProgressLine(
        describe, prefix="chaos: ", interval=args.progress_every, enabled=not args.no_progress
    )
    with progress:
        result = run_campaign(
            args.drains, base=base, workers=args.workers, progress=record, ignored_share=share
        )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_result(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
