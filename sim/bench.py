"""``make bench``: N drains that all become due at once, measured on the costed simulator.

The burst world: ``--services`` services share ``--drains`` warm, opted-in tasks
(``wait-seconds`` 120, deregistration delay 300 s) and all scale to zero at the same
moment, so every drain starts together and every deadline is the same. The real handlers
run on moto with the latency, account buckets and DynamoDB partition limits of
:mod:`sim.aws.costs` (assumed latencies, scaled by ``--latency-scale``).

Every figure is counted from the simulator's own observation log and cost model, never
from what the functions log:

``python -m sim.bench --drains 1000 --services 10 [--latency-scale 1] [--json]``

``--stoptask-on-draining ignored --stop-action stop-task exec ssm-signal stop-task-then-exec``
measures each stop action in the world where StopTask on a draining task changes only its
reason (a row per action; ``ssm-signal`` on EC2 services, the others on Fargate): the time
from the deadline to the container's signal, exec sessions left open, API calls per drain.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from sim.aws.costs import Costs
from sim.aws.ecs.model import STOPTASK_ON_DRAINING, TERMINATOR_REASON, Task, WorldRules
from sim.aws.lambda_runtime import deployed_reserved_concurrency, reserved_concurrency_argument
from sim.engine.observe import Kind
from sim.judge.report import RunRecord, actions_by_task
from sim.scenarios import (
    DEREGISTRATION_DELAY,
    STOP_ACTIONS,
    WAIT_SECONDS,
    burst_scenario,
    stop_action_settings,
    with_stop_action,
)
from sim.simulation import SWEEPER_NAME, TASK_EVENTS_NAME, Simulation
from sim.terraform import variable_default

__all__ = ["BenchResult", "format_result", "main", "measure", "plot", "run_bench"]

#: The ECS StopTask bucket (see sim.aws.costs.ACCOUNT_BUCKETS): burst and refill per second.
STOP_BURST, STOP_RATE = 100, 40
#: The simulated functions by name, and the module's variable prefix of each.
_FUNCTIONS = {SWEEPER_NAME: "sweeper", TASK_EVENTS_NAME: "task_events"}
#: The calls of the signal steps (ECS Exec, SSM Run Command).
SIGNAL_CALLS = frozenset(
    {
        "ecs.ExecuteCommand",
        "ecs.DescribeContainerInstances",
        "ssm.TerminateSession",
        "ssm.SendCommand",
        "ssm.GetCommandInvocation",
        "ssm.CancelCommand",
    }
)


@dataclass(slots=True)
class BenchResult:
    """One run's figures (all from the observation log and the cost model)."""

    drains: int
    services: int
    latency_scale: float
    #: ECS stops every task itself this long after its drain began (wait + this - wait
    #: after the deadline): the terminator can only stop tasks before then.
    deregistration_delay: int = DEREGISTRATION_DELAY
    #: The sweeper's reserved concurrency in the run (None: unreserved, the module's default).
    sweeper_concurrency: int | None = None
    stopped_by_terminator: int = 0
    #: StopTasks that reached a task ECS had already begun stopping itself (no-ops).
    stops_after_ecs: int = 0
    premature: int = 0
    double_stops: int = 0
    left_to_ecs: int = 0
    sweeper_timeouts: int = 0
    sweeper_runs: int = 0
    #: Sweeper invocations Lambda throttled (all reserved slots busy) and retried later.
    sweeper_throttles: int = 0
    #: Most sweeper invocations running at once (all drawn from the account's concurrency).
    sweeper_peak_concurrency: int = 0
    throttled: dict[str, int] = field(default_factory=dict)
    throttled_partitions: dict[str, int] = field(default_factory=dict)
    peak_partition_units: float = 0.0
    peak_partition: str = ""
    first_stop: float | None = None
    last_stop: float | None = None
    rate_floor: float = 0.0
    lateness_p50: float | None = None
    lateness_p99: float | None = None
    lateness_max: float | None = None
    read_units_per_drain: float = 0.0
    write_units_per_drain: float = 0.0
    calls_per_drain: dict[str, float] = field(default_factory=dict)
    gb_seconds_per_drain: float = 0.0
    wall_seconds: float = 0.0
    #: The world and the services' stop action (None: untagged, the module's default).
    stoptask_on_draining: str = "effective"
    stop_action: str | None = None
    launch_type: str = "FARGATE"
    #: From the deadline to the signal that ended each task stopped early (SIGTERM by
    #: StopTask, or the exec/ssm-signal command reaching the container), seconds.
    signal_p50: float | None = None
    signal_p99: float | None = None
    signal_max: float | None = None
    #: Drains acted on (a step taken) but left to ECS: what the functions must report.
    unconfirmed: int = 0
    #: Tasks stopped by each step's effect (stop-task, exec, ssm-signal).
    stopped_with: dict[str, int] = field(default_factory=dict)
    sessions_opened: int = 0
    sessions_left_open: int = 0
    #: AWS calls the functions made per drain: all of them, and the signal steps' alone.
    api_calls_per_drain: float = 0.0
    signal_calls_per_drain: float = 0.0
    #: Accounts the drains are spread over (1: a single-account deployment; more: a hub
    #: and its members, each with its own API buckets).
    accounts: int = 1
    #: Per account ("hub" or the member's id): drains, stopped by the terminator, the
    #: last StopTask after the deadline, and that account's own rate floor.
    per_account: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Accounts whose last stop came later than their own rate floor + 2 s.
    accounts_over_floor: int = 0
    #: (seconds after the deadline, cumulative StopTasks) for the plot.
    stop_times: list[float] = field(default_factory=list, repr=False)

    def to_dict(self, *, stop_times: bool = False) -> dict[str, object]:
        """JSON-friendly form (``stop_times``: with every stop's time, for plots)."""
        data = asdict(self)
        if not stop_times:
            data.pop("stop_times")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> BenchResult:
        """Read back what :meth:`to_dict` wrote (with ``stop_times``)."""
        return cls(**data)  # type: ignore[arg-type]


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure(record: RunRecord, *, latency_scale: float, wall_seconds: float = 0.0) -> BenchResult:
    """Count the run's figures from its observation log."""
    tasks = {t.arn: t for s in record.services for t in s.tasks}
    drained = [t for t in tasks.values() if t.drain_started_at is not None]
    result = BenchResult(
        drains=len(drained),
        services=len(record.services),
        latency_scale=latency_scale,
        wall_seconds=round(wall_seconds, 1),
        sweeper_concurrency=next(
            (f.reserved_concurrency for f in record.functions if f.name == SWEEPER_NAME), None
        ),
    )
    deadlines = {
        t.arn: (t.drain_started_at or 0.0) + record.wait_seconds(t.service) for t in drained
    }
    common = min(deadlines.values(), default=record.start)
    ours: dict[str, list[float]] = defaultdict(list)
    throttled: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for obs in record.log:
        if obs.kind == Kind.ECS_STOP_TASK and str(obs.data["reason"]).startswith(TERMINATOR_REASON):
            task = tasks.get(obs.subject)
            if not obs.data.get("draining", True) and task is not None and task.stopped_by == "ecs":
                result.stops_after_ecs += 1  # ECS had begun stopping it: not our stop
            else:
                ours[obs.subject].append(obs.at)
        elif obs.kind == Kind.AWS_CALL and obs.data.get("caller"):
            calls[obs.subject] += 1
            if obs.data.get("source") == "limit":
                throttled[obs.subject] += 1
    _lambda_figures(record, result)
    steps = actions_by_task(record)
    for arn, taken in steps.items():
        # Signal steps count with StopTasks: the first step is the stop's time.
        signal_times = [at for at, step in taken if step != "stop-task"]
        if signal_times:
            ours[arn] = sorted([*ours.get(arn, []), *signal_times])
    lateness = []
    for arn, times in ours.items():
        if times[0] < deadlines.get(arn, math.inf) - 1e-6:
            result.premature += 1
        names = [step for _, step in steps.get(arn, [])]
        result.double_stops += any(names.count(name) > 1 for name in names)
        lateness.append(times[0] - deadlines.get(arn, times[0]))
    for obs in record.log.of_kind(Kind.CONTAINER_SIGNAL):
        if obs.at < deadlines.get(obs.subject, math.inf) - 1e-6:
            result.premature += 1
    _effect_figures(record, result, drained, deadlines, set(ours))
    firsts = sorted(times[0] for times in ours.values())
    result.stop_times = [round(t - common, 3) for t in firsts]
    if firsts:
        result.first_stop, result.last_stop = (
            round(firsts[0] - common, 3),
            round(firsts[-1] - common, 3),
        )
    result.rate_floor = max(0.0, (result.drains - STOP_BURST) / STOP_RATE)
    _account_figures(record, drained, ours, common, result)
    result.lateness_p50 = _rounded(_percentile(lateness, 0.50))
    result.lateness_p99 = _rounded(_percentile(lateness, 0.99))
    result.lateness_max = _rounded(max(lateness, default=None))
    result.throttled = dict(sorted(throttled.items()))
    per_drain = max(result.drains, 1)
    result.calls_per_drain = {k: round(v / per_drain, 2) for k, v in sorted(calls.items())}
    result.api_calls_per_drain = round(sum(calls.values()) / per_drain, 2)
    result.signal_calls_per_drain = round(
        sum(v for k, v in calls.items() if k in SIGNAL_CALLS) / per_drain, 2
    )
    result.gb_seconds_per_drain = round(result.gb_seconds_per_drain / per_drain, 4)
    _dynamodb_figures(record, result, per_drain)
    return result


def _effect_figures(
    record: RunRecord,
    result: BenchResult,
    drained: list[Task],
    deadlines: dict[str, float],
    acted_on: set[str],
) -> None:
    """Who stopped the tasks, how long after the deadline the signal came, the sessions."""
    early = [t for t in drained if t.stopped_by == "terminator"]
    result.stopped_by_terminator = len(early)
    result.left_to_ecs = sum(1 for t in drained if t.stopped_by == "ecs")
    result.unconfirmed = sum(
        1 for t in drained if t.arn in acted_on and t.stopped_by != "terminator"
    )
    result.stopped_with = dict(Counter(str(t.stopped_with) for t in early))
    to_signal = [(t.stop_began_at or 0.0) - deadlines[t.arn] for t in early]
    result.signal_p50 = _rounded(_percentile(to_signal, 0.50))
    result.signal_p99 = _rounded(_percentile(to_signal, 0.99))
    result.signal_max = _rounded(max(to_signal, default=None))
    result.sessions_opened = record.sessions.get("opened", 0)
    result.sessions_left_open = record.sessions.get("left_open", 0)
    result.stoptask_on_draining = record.world.stoptask_on_draining


#: An account's last stop may come this long after its own rate floor (the bench's target).
ACCOUNT_FLOOR_SLACK_SECONDS = 2.0


def _account_figures(
    record: RunRecord,
    drained: list[Task],
    ours: dict[str, list[float]],
    common: float,
    result: BenchResult,
) -> None:
    """Per account: its drains, its stops, its last stop against its own rate floor (each
    account has its own StopTask bucket: (N - 100) / 40 s for its N drains)."""
    members = set(record.scenario.member_accounts)
    result.accounts = 1 + len(members)
    by_account: dict[str, list[Task]] = defaultdict(list)
    for task in drained:
        account = task.service.cluster_arn.split(":")[4]
        by_account[account if account in members else "hub"].append(task)
    for account, tasks in sorted(by_account.items()):
        firsts = [ours[t.arn][0] for t in tasks if ours.get(t.arn)]
        floor = max(0.0, (len(tasks) - STOP_BURST) / STOP_RATE)
        last = round(max(firsts) - common, 3) if firsts else None
        result.per_account[account] = {
            "drains": len(tasks),
            "stopped": len(firsts),
            "last_stop": last if last is not None else math.nan,
            "rate_floor": floor,
        }
        if last is None or last > floor + ACCOUNT_FLOOR_SLACK_SECONDS:
            result.accounts_over_floor += 1


def _lambda_figures(record: RunRecord, result: BenchResult) -> None:
    """GB-seconds (at the module's memory sizes), and the sweeper's runs, time-outs,
    throttles and most invocations at once."""
    memory_mb = {
        name: float(variable_default(f"{var}_memory_size")) for name, var in _FUNCTIONS.items()
    }
    running = 0
    for obs in record.log:
        sweeper = obs.subject == SWEEPER_NAME
        if obs.kind == Kind.LAMBDA_END:
            seconds = float(obs.data.get("seconds") or 0.0)
            memory = memory_mb[obs.subject]
            result.gb_seconds_per_drain += math.ceil(seconds * 1000) / 1000 * memory / 1024
            if sweeper:
                running -= 1
                result.sweeper_runs += 1
                result.sweeper_timeouts += obs.data.get("outcome") == "timeout"
        elif obs.kind == Kind.LAMBDA_START and sweeper:
            running += 1
            result.sweeper_peak_concurrency = max(result.sweeper_peak_concurrency, running)
        elif obs.kind == Kind.LAMBDA_THROTTLED and sweeper:
            result.sweeper_throttles += 1


def _dynamodb_figures(record: RunRecord, result: BenchResult, per_drain: int) -> None:
    if record.costs is None:
        return
    result.read_units_per_drain = round(record.costs.units["read"] / per_drain, 2)
    result.write_units_per_drain = round(record.costs.units["write"] / per_drain, 2)
    result.throttled_partitions = dict(record.costs.throttled_partitions)
    if record.costs.peak_partition_units:
        label, peak = max(record.costs.peak_partition_units.items(), key=lambda kv: kv[1])
        result.peak_partition, result.peak_partition_units = label, peak


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run_bench(
    drains: int,
    services: int,
    *,
    latency_scale: float = 1.0,
    seed: int = 1,
    deregistration_delay: int = DEREGISTRATION_DELAY,
    sweeper_concurrency: int | Literal["module"] | None = "module",
    stoptask_on_draining: Literal["effective", "ignored"] = "effective",
    stop_action: str | None = None,
    accounts: int = 1,
) -> BenchResult:
    """Run the burst world once and measure it (``sweeper_concurrency``: the sweeper's
    reserved concurrency, None for unreserved; the module's default unless given).

    ``stop_action``: tag every service with it (``ssm-signal`` needs EC2 services; the
    module's exec or ssm-signal setting is turned on as the action needs);
    ``stoptask_on_draining``: the world; ``accounts`` > 1: the services and drains dealt
    out over a hub and its members."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    wall = time.monotonic()
    launch_type = "EC2" if stop_action == "ssm-signal" else "FARGATE"
    scenario = burst_scenario(
        drains, services, deregistration_delay, launch_type=launch_type, accounts=accounts
    )
    if stop_action is not None:
        scenario = with_stop_action(scenario, stop_action)
    simulation = Simulation(
        scenario,
        seed=seed,
        counterfactual=False,
        costs=Costs(latency_scale=latency_scale),
        sweeper_concurrency=sweeper_concurrency,
        world=WorldRules(stoptask_on_draining=stoptask_on_draining),
        settings=stop_action_settings({stop_action} if stop_action else set()),
    )
    record = simulation.run_once()
    result = measure(record, latency_scale=latency_scale, wall_seconds=time.monotonic() - wall)
    result.deregistration_delay = deregistration_delay
    result.stop_action, result.launch_type = stop_action, launch_type
    return result


def format_result(result: BenchResult) -> str:
    """The human-readable block ``make bench`` prints."""

    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:+.1f} s"

    calls = ", ".join(f"{k} {v}" for k, v in result.calls_per_drain.items())
    throttled = ", ".join(f"{k} {v}" for k, v in result.throttled.items()) or "none"
    concurrency = (
        "unreserved"
        if result.sweeper_concurrency is None
        else f"reserved concurrency {result.sweeper_concurrency}"
    )
    return "\n".join(
        [
            f"bench: {result.drains} drains due at once, {result.services} services, "
            f"latency x{result.latency_scale:g}, sweeper {concurrency} "
            f"({result.wall_seconds:.0f} s wall)",
            f"  stopped by the terminator {result.stopped_by_terminator} (and "
            f"{result.stops_after_ecs} StopTasks after ECS's own); premature "
            f"{result.premature}; double stops {result.double_stops}; left to ECS "
            f"{result.left_to_ecs}; sweeper timeouts {result.sweeper_timeouts} "
            f"(of {result.sweeper_runs} runs, at most {result.sweeper_peak_concurrency} at once; "
            f"{result.sweeper_throttles} sweeper invocations throttled)",
            f"  first / last {_first_step(result)} after the deadline: {s(result.first_stop)} / "
            f"{s(result.last_stop)}; rate floor (N - 100) / 40 = {result.rate_floor:.1f} s; "
            f"ECS stops the rest itself at +{result.deregistration_delay - WAIT_SECONDS} s",
            f"  lateness p50 / p99 / max: {s(result.lateness_p50)} / {s(result.lateness_p99)}"
            f" / {s(result.lateness_max)}",
            f"  throttled calls: {throttled}; hottest partition {result.peak_partition_units:g}"
            f" units in one second ({result.peak_partition or '-'}); partition throttles "
            f"{sum(result.throttled_partitions.values())}",
            f"  per drain: DynamoDB {result.read_units_per_drain} read / "
            f"{result.write_units_per_drain} write units; Lambda "
            f"{result.gb_seconds_per_drain} GB-s; calls: {calls}",
            *_action_lines(result),
            *_account_lines(result),
        ]
    )


def _first_step(result: BenchResult) -> str:
    return "StopTask" if result.stop_action in {None, "stop-task"} else "stop step"


def _action_lines(result: BenchResult) -> list[str]:
    """The stop action's figures (only when the run was about stop actions)."""
    if result.stop_action is None and result.stoptask_on_draining == "effective":
        return []
    stopped = ", ".join(f"{k} {v}" for k, v in sorted(result.stopped_with.items())) or "none"

    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    return [
        f"  stop action {result.stop_action or 'stop-task (untagged)'} on {result.launch_type}, "
        f"StopTask on a draining task {result.stoptask_on_draining}: stopped early by "
        f"{stopped}; acted on but left to ECS (unconfirmed) {result.unconfirmed}",
        f"  deadline to the container's signal p50 / p99 / max: {s(result.signal_p50)} / "
        f"{s(result.signal_p99)} / {s(result.signal_max)}; exec sessions opened "
        f"{result.sessions_opened}, left open {result.sessions_left_open}; API calls per "
        f"drain {result.api_calls_per_drain} (signal steps' {result.signal_calls_per_drain})",
    ]


def _account_lines(result: BenchResult) -> list[str]:
    if result.accounts <= 1:
        return []
    lasts = [
        (figures["last_stop"] - figures["rate_floor"], account)
        for account, figures in result.per_account.items()
    ]
    worst, account = max(lasts)
    return [
        f"  {result.accounts} accounts (each its own API buckets): last StopTask minus the "
        f"account's own rate floor at most {worst:+.1f} s ({account}); accounts over floor "
        f"+ {ACCOUNT_FLOOR_SLACK_SECONDS:g} s: {result.accounts_over_floor}"
    ]


def plot(results: Sequence[BenchResult], path: Path) -> None:
    """StopTasks over time after the common deadline, against the StopTask bucket."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    horizon = max((r.stop_times[-1] for r in results if r.stop_times), default=10.0)
    horizon = max(horizon, *(r.rate_floor for r in results)) * 1.05 + 1
    xs = [0.0, horizon]
    axes.plot(
        xs,
        [STOP_BURST, STOP_BURST + STOP_RATE * horizon],
        "k--",
        label="StopTask bucket: 100 + 40/s",
    )
    for result in results:
        times = [max(0.0, t) for t in result.stop_times]
        axes.step(times, range(1, len(times) + 1), where="post", label=f"{result.drains} drains")
    axes.set_xlim(0, horizon)
    axes.set_ylim(0, max(r.drains for r in results) * 1.05)
    axes.set_xlabel("seconds after the common deadline")
    axes.set_ylabel("tasks stopped by the terminator (cumulative)")
    axes.set_title("StopTasks over time against ECS's rate limit")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _module_concurrency() -> str:
    value = deployed_reserved_concurrency("sweeper")
    return "unreserved" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    """CLI: one run per ``--drains`` value; exit 1 when a stop was premature or doubled."""
    parser = argparse.ArgumentParser(prog="python -m sim.bench", description=__doc__)
    parser.add_argument("--drains", type=int, nargs="+", default=[1000], help="drains due at once")
    parser.add_argument(
        "--services", type=int, default=None, help="services (default: drains / 100, at least 1)"
    )
    parser.add_argument("--latency-scale", type=float, default=1.0, help="x the assumed latencies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--deregistration-delay",
        type=int,
        default=DEREGISTRATION_DELAY,
        help=f"seconds, {WAIT_SECONDS + 1}-3600 (default {DEREGISTRATION_DELAY}): ECS stops "
        "the tasks itself this long after their drains began",
    )
    parser.add_argument(
        "--sweeper-concurrency",
        type=reserved_concurrency_argument,
        default="module",
        metavar="N|unreserved|module",
        help="the sweeper's reserved concurrency, 1-10 or 'unreserved' (default "
        f"'module': the module's sweeper_reserved_concurrency, {_module_concurrency()})",
    )
    parser.add_argument(
        "--stoptask-on-draining",
        choices=STOPTASK_ON_DRAINING,
        default="effective",
        help="the world: StopTask on a draining task sends SIGTERM now (effective, the "
        "default) or changes only its stop reason (ignored)",
    )
    parser.add_argument(
        "--stop-action",
        choices=STOP_ACTIONS,
        nargs="+",
        default=[None],
        help="tag the services with each of these stop actions, a run each (ssm-signal on "
        "EC2 services); default: untagged (stop-task)",
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1,
        help="accounts the services and drains are spread over: a hub and N - 1 members "
        "(default 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--plot", type=Path, default=None, help="write a PNG of StopTasks over time"
    )
    parser.add_argument(
        "--save", type=Path, default=None, help="directory: write each run as bench-N.json"
    )
    parser.add_argument(
        "--plot-from", type=Path, nargs="*", default=[], help="saved runs to plot (no new run)"
    )
    args = parser.parse_args(argv)
    if args.accounts < 1:
        parser.error("--accounts must be at least 1")
    if not WAIT_SECONDS < args.deregistration_delay <= 3600:
        parser.error(f"--deregistration-delay must be from {WAIT_SECONDS + 1} to 3600")
    if args.plot_from:
        saved = [BenchResult.from_dict(json.loads(p.read_text())) for p in args.plot_from]
        for result in saved:
            print(format_result(result))
        plot(saved, args.plot or Path("stoptasks.png"))
        return 0
    results = []
    runs = [(drains, action) for action in args.stop_action for drains in args.drains]
    for drains, action in runs:
        services = args.services or max(1, drains // 100, args.accounts)
        result = run_bench(
            drains,
            services,
            latency_scale=args.latency_scale,
            seed=args.seed,
            deregistration_delay=args.deregistration_delay,
            sweeper_concurrency=args.sweeper_concurrency,
            stoptask_on_draining=args.stoptask_on_draining,
            stop_action=action,
            accounts=args.accounts,
        )
        results.append(result)
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            suffix = "" if action is None else f"-{args.stoptask_on_draining}-{action}"
            path = args.save / f"bench-{drains}{suffix}.json"
            path.write_text(json.dumps(result.to_dict(stop_times=True)))
        if not args.json:
            print(format_result(result), flush=True)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    if args.plot is not None:
        plot(results, args.plot)
    safe = all(
        r.premature == 0
        and r.double_stops == 0
        and r.sessions_left_open == 0
        and r.accounts_over_floor == 0
        for r in results
    )
    return 0 if safe else 1


if __name__ == "__main__":
    sys.exit(main())
