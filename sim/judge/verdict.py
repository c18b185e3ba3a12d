"""The chaos verdict: counted from the simulator's witness log, never from the functions.

See :mod:`sim.chaos` for the cases it judges. :class:`ChaosConfig` lives here, beside
the judge that reads it, so that :mod:`sim.chaos` depends on this module and not the
other way round.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from sim.aws.ecs.model import TERMINATOR_REASON, Task
from sim.engine.capture import emf_metrics
from sim.engine.observe import Kind, Observation
from sim.judge.report import RunRecord
from sim.scenarios import TAG_PREFIX
from sim.terraform import variable_default

__all__ = [
    "GUARDED",
    "STALENESS_SECONDS",
    "STOPPABLE",
    "TASK_STATE_SECONDS",
    "ChaosConfig",
    "ChaosResult",
    "aggregate",
    "format_result",
    "judge",
]

SWEEPER = "sweeper"
#: Tolerance of the "missed stop" check once faults have cleared (wait + 2 s).
ON_TIME_SECONDS = 2.0
#: The same for a drain whose first step is a signal (exec, ssm-signal): the functions
#: start a signal step only with its time bound left in the run, so a due one can wait
#: for the next scheduled run (the schedule's period, ``rate(1 minute)``).
SIGNAL_ON_TIME_SECONDS = ON_TIME_SECONDS + 60.0
#: Service kinds whose drains the terminator may stop, and those with guards.
STOPPABLE = frozenset({"plain", "min-healthy", "stagger", "both-guards", "invalid-wait"})
GUARDED = frozenset({"min-healthy", "stagger", "both-guards"})
MIN_HEALTHY = frozenset({"min-healthy", "both-guards"})
#: How old the opt-in, dry-run and wait a stop decision uses may be (seconds): a stop
#: later than this after an operator's change must honour it. The product's documented
#: bound (docs/contracts.md) is the reference; this is the judge's parameter.
STALENESS_SECONDS = 5.0
#: How old the task state a StopTask is first sent on may be (seconds), and how much later
#: botocore's retries of a throttled StopTask may resend it (the product's bounds,
#: docs/contracts.md): a StopTask that reaches a task ECS began stopping itself within
#: this window raced ECS (a no-op, counted apart); one later acted on a stale state.
TASK_STATE_SECONDS = 2.0
RETRY_SECONDS = 15.0
#: How long the backstop may take to first see a drain: its round (the module's
#: ``backstop_round_minutes``) and a minute for its run to come.
BACKSTOP_VISIT_SECONDS = 60.0 * (int(variable_default("backstop_round_minutes")) + 1)


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    """One chaos case: the scenario is drawn from ``seed``; the rates are per call."""

    seed: int
    services: int = 12
    throttle_rate: float = 0.20
    server_error_rate: float = 0.03
    timeout_rate: float = 0.02
    conflict_rate: float = 0.05
    duplicate_rate: float = 0.30
    reorder_rate: float = 0.20
    #: Share of sweeper invocations killed while faults are active; each victim dies at one
    #: of: right after its n-th claim, right after its first StopTask (before recording
    #: it), or at a random moment.
    kill_rate: float = 0.15
    faults_clear_at: float = 900.0  # seconds after the start
    lease_seconds: int = 30
    #: Share of opted-in services whose operator acts in the middle of their drains.
    operator_rate: float = 0.25
    #: See :data:`STALENESS_SECONDS`.
    staleness_seconds: float = STALENESS_SECONDS
    #: See :data:`TASK_STATE_SECONDS` and :data:`RETRY_SECONDS`.
    task_state_seconds: float = TASK_STATE_SECONDS
    retry_seconds: float = RETRY_SECONDS
    #: > 0: this case is a burst world of that many drains due at once (no operators).
    burst_drains: int = 0
    #: The world: StopTask on a draining task ``effective`` or ``ignored``. An ignored
    #: world tags its opted-in services with a mix of stop actions and injects
    #: :attr:`signal_fault_rate` faults into their exec sessions and SSM commands.
    stoptask_on_draining: str = "effective"
    #: In an ignored world: ECS refuses ExecuteCommand on a task it is stopping.
    exec_refused_when_stopping: bool = False
    #: Share of signal attempts that fail while faults are active, split evenly between
    #: session dropped, exit 127, never ending and refused.
    signal_fault_rate: float = 0.2
    #: > 1: the services are dealt out over a hub and ``accounts - 1`` member accounts,
    #: the first member's role broken (its drains must be left to ECS, and counted).
    accounts: int = 1


@dataclass(slots=True)
class ChaosResult:
    """What a case (or a campaign, see :func:`aggregate`) observed."""

    cases: int = 0
    drains: int = 0
    eligible_drains: int = 0
    stopped_by_terminator: int = 0
    premature_stops: int = 0
    forbidden_stops: int = 0
    #: StopTasks that reached a task ECS (or an operator) had begun stopping within the
    #: task-state window: no-ops, reported but not failures.
    stops_racing_ecs: int = 0
    #: Tasks on which one stop step (StopTask, exec, ssm-signal) was taken more than once,
    #: whether or not ECS ignored it (a StopTask resent after a run died is one of them).
    stopped_more_than_once: int = 0
    missed_stops: int = 0
    late_under_faults: int = 0
    max_lateness_under_faults: float = 0.0
    stagger_violations: int = 0
    min_healthy_violations: int = 0
    guarded_left_to_ecs: int = 0
    #: Drains in a member account whose role is broken (all left to ECS), the stops made
    #: there anyway (must be 0), and the LookupsFailed counted with that account.
    broken_member_drains: int = 0
    broken_member_stops: int = 0
    broken_member_lookups_failed: int = 0
    stops_after_opt_out: int = 0
    stops_before_raised_wait: int = 0
    sweeper_runs_failed: int = 0
    operator_actions: int = 0
    burst_drains: int = 0
    #: Drains per stop cause (deployment, scale-in, blue-green, task-set, instance-drain,
    #: spot-interruption, unhealthy); drains in no target group; drains whose every event
    #: was lost, and how many of those the terminator stopped (found by its backstop).
    drains_by_cause: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    drains_without_target_group: int = 0
    lost_drains: int = 0
    lost_drains_stopped: int = 0
    #: Lost drains ECS ended before the backstop had a round free of injected faults.
    lost_left_under_faults: int = 0
    #: Drains of cases in the ``ignored`` world, and what their stop actions did.
    ignored_world_drains: int = 0
    stopped_by_signal: int = 0
    #: Drains acted on (every step on time) but left to ECS: an ignored StopTask, or a
    #: signal step that failed or lacked a prerequisite. Reported, not a failure.
    acted_but_left_to_ecs: int = 0
    #: Drains whose first step is a signal (exec, ssm-signal) left to ECS with no step
    #: reaching AWS while faults were active: a signal step whose calls stayed unavailable
    #: is not taken again (at most once per step), so the task is left to ECS. Reported;
    #: once faults have cleared, such a drain is a missed stop.
    signal_left_to_ecs_under_faults: int = 0
    #: Signal steps taken (ExecuteCommand, SendCommand reaching AWS) and exec sessions.
    signal_steps: int = 0
    sessions_opened: int = 0
    sessions_abandoned: int = 0
    sessions_left_open: int = 0
    faults_injected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sweeper_kills: int = 0
    sweeper_overlaps: int = 0
    handler_errors: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every safety and liveness count is zero."""
        return not (
            self.premature_stops
            or self.forbidden_stops
            or self.stopped_more_than_once
            or self.missed_stops
            or self.stagger_violations
            or self.min_healthy_violations
            or self.stops_after_opt_out
            or self.stops_before_raised_wait
            or self.sweeper_runs_failed
            or self.sessions_left_open
            or self.broken_member_stops
            or (self.broken_member_drains and not self.broken_member_lookups_failed)
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["faults_injected"] = dict(self.faults_injected)
        data["drains_by_cause"] = dict(self.drains_by_cause)
        data["details"] = list(self.details)
        data["ok"] = self.ok
        return data


def _windows_exceeded(times: list[float], per_minute: int) -> int:
    """How many stops start a 60-s window holding more than ``per_minute`` stops."""
    ordered = sorted(times)
    return sum(
        1 for i, t in enumerate(ordered) if sum(1 for u in ordered[i:] if u < t + 60.0) > per_minute
    )


def judge(record: RunRecord, kinds: dict[str, str], config: ChaosConfig) -> ChaosResult:
    """Count every safety and liveness figure from the observation log alone."""
    result = ChaosResult(cases=1)
    tasks = {t.arn: t for s in record.services for t in s.tasks}
    operators = _operator_actions(record, result)
    ours = _judge_stops(record, kinds, tasks, config, result)
    _judge_operators(record, kinds, config, tasks, ours, operators, result)
    _judge_stagger(record, tasks, ours, result)
    _judge_drains(record, kinds, config, tasks, ours, operators, result)
    _judge_invocations(record, config, result)
    _judge_sessions(record, result)
    if record.scenario.broken_accounts:
        counted = emf_metrics(record.output, by_account=True)
        result.broken_member_lookups_failed = int(
            sum(counted.get(f"LookupsFailed#{a}", 0.0) for a in record.scenario.broken_accounts)
        )
    if config.burst_drains:
        result.burst_drains = result.drains
    if config.stoptask_on_draining == "ignored":
        result.ignored_world_drains = result.drains
    for name, count in record.signal_faults.items():
        result.faults_injected[f"signal-{name}"] += count
    return result


def _judge_sessions(record: RunRecord, result: ChaosResult) -> None:
    """Exec sessions left open (a safety count) and the signals that stopped tasks."""
    sessions = record.sessions
    result.sessions_opened += sessions.get("opened", 0)
    result.sessions_abandoned += sessions.get("abandoned", 0)
    result.sessions_left_open += sessions.get("left_open", 0)
    if sessions.get("left_open", 0):
        result.details.append(f"{sessions['left_open']} exec session(s) left open")
    for service in record.services:
        for task in service.tasks:
            result.stopped_by_signal += task.stopped_with in {"exec", "ssm-signal"}


def _operator_actions(record: RunRecord, result: ChaosResult) -> dict[str, list[Observation]]:
    """Operators' changes per service name, in order."""
    actions: dict[str, list[Observation]] = defaultdict(list)
    for obs in sorted(record.log.of_kind(Kind.OPERATOR), key=lambda o: o.at):
        actions[str(obs.data["service"])].append(obs)
        result.operator_actions += 1
    return actions


def _judge_operators(
    record: RunRecord,
    kinds: dict[str, str],
    config: ChaosConfig,
    tasks: dict[str, Task],
    ours: dict[str, list[float]],
    operators: dict[str, list[Observation]],
    result: ChaosResult,
) -> None:
    """Stops that ignored an operator's change older than the staleness bound.

    Every step honours an opt-out or dry-run; a raised wait postpones a task's first step
    only: a later step (an escalation) completes a stop already taken once the wait was
    over, as the functions decide (``serverless.sweep.decide``: the raised wait applies
    before the first step).
    """
    for arn, times in ours.items():
        task = tasks[arn]
        changes = operators.get(task.service.name, [])
        for at in times:
            visible = [c for c in changes if c.at <= at - config.staleness_seconds]
            if not visible:
                continue
            tags = dict(visible[-1].data["tags"])
            enabled = tags.get(f"{TAG_PREFIX}enabled", "").strip().lower() == "true"
            dry_run = tags.get(f"{TAG_PREFIX}dry-run", "").strip().lower() == "true"
            if not enabled or dry_run:
                result.stops_after_opt_out += 1
                result.details.append(f"{task.id[:8]} stopped after opt-out/dry-run at {at:.1f}")
            raw = tags.get(f"{TAG_PREFIX}wait-seconds", "").strip()
            wait = int(raw) if raw.isdigit() else record.default_wait_seconds
            start = task.drain_started_at
            if (
                at == times[0]
                and wait > record.wait_seconds(task.service)
                and start is not None
                and at < start + wait - 1e-6
            ):
                result.stops_before_raised_wait += 1
                result.details.append(f"{task.id[:8]} stopped before its raised wait ({wait} s)")
            deleted = any(c.data["action"] == "delete-target-group" for c in visible)
            if deleted and kinds[task.service.name] in MIN_HEALTHY:
                result.min_healthy_violations += 1
                result.details.append(f"{task.id[:8]} stopped with its target group deleted")


def _raced_ecs(task: Task, obs: Observation, config: ChaosConfig) -> bool:
    """``obs`` (a StopTask) reached ``task`` after someone else began stopping it, within the
    window the product's task-state bound allows."""
    began = task.stop_began_at
    if began is None or task.stopped_by == "terminator" or began > obs.at:
        return False
    window = config.task_state_seconds
    if int(obs.data.get("attempt", 1)) > 1:
        window += config.retry_seconds
    return obs.at - began <= window


def _nothing_to_cut(task: Task) -> bool:
    """A Spot interruption, or a task in no target group: no drain to shorten."""
    return task.cause == "spot-interruption" or not task.targets


def _initial_serving(task: Task) -> list[str]:
    spec = task.service.spec
    groups = [g.spec.name for g in task.service.target_groups]
    return groups[:1] if spec.task_sets or spec.blue_green else groups


def _steps(record: RunRecord) -> list[Observation]:
    """The functions' stop steps in order: StopTasks with the terminator's reason and the
    ExecuteCommand/SendCommand requests they made; then every signal that took effect."""
    steps = []
    for obs in record.log.of_kind(Kind.ECS_STOP_TASK, Kind.SIGNAL_REQUEST):
        if obs.kind == Kind.ECS_STOP_TASK:
            if str(obs.data["reason"]).startswith(TERMINATOR_REASON):
                steps.append(obs)
        elif obs.data.get("caller") is not None:
            steps.append(obs)
    return steps


def _judge_min_healthy(
    task: Task,
    step: str,
    states: dict[tuple[str, str], str],
    serving: dict[str, list[str]],
    result: ChaosResult,
) -> None:
    """A stop step under the service's min-healthy tag: every group its listener forwards
    to must keep that many healthy targets."""
    percent = dict(task.service.spec.tags).get(f"{TAG_PREFIX}min-healthy-percent")
    if percent is None:
        return
    need = math.ceil(int(percent) * task.service.desired_count / 100)
    for name in serving.get(task.service.name) or _initial_serving(task):
        count = sum(1 for (tg, _), st in states.items() if tg == name and st == "healthy")
        if count < need:
            result.min_healthy_violations += 1
            result.details.append(f"{task.id[:8]} {step}: {count} healthy in {name} < {need}")


def _judge_stops(
    record: RunRecord,
    kinds: dict[str, str],
    tasks: dict[str, Task],
    config: ChaosConfig,
    result: ChaosResult,
) -> dict[str, list[float]]:
    """Premature, forbidden, repeated and under-min-healthy stop steps (StopTask, exec,
    ssm-signal) and signals; returns the times of our steps per task."""
    ours: dict[str, list[float]] = defaultdict(list)
    taken: dict[str, list[str]] = defaultdict(list)
    states: dict[tuple[str, str], str] = {}
    #: The groups each service's listener forwards to (blue/green and task sets move it):
    #: the ones a min-healthy guard must count.
    serving: dict[str, list[str]] = {}
    steps = {id(obs) for obs in _steps(record)}
    for obs in record.log:
        if obs.kind == Kind.TARGET_STATE:
            states[(str(obs.data["target_group"]), obs.subject)] = str(obs.data["state"])
            continue
        if obs.kind == Kind.SERVING:
            serving[str(obs.data["service"])] = list(obs.data["target_groups"])
            continue
        if obs.kind == Kind.CONTAINER_SIGNAL:
            _judge_signal(record, tasks[obs.subject], obs, result)
            continue
        if id(obs) not in steps:
            continue
        task = tasks[obs.subject]
        kind = kinds[task.service.name]
        step = "stop-task" if obs.kind == Kind.ECS_STOP_TASK else str(obs.data["action"])
        if kind in STOPPABLE and not obs.data["draining"] and _raced_ecs(task, obs, config):
            result.stops_racing_ecs += 1
            result.details.append(
                f"{step} of {task.id[:8]} raced ECS ({kind}, "
                f"{obs.at - (task.stop_began_at or 0.0):.2f} s after {task.stopped_by})"
            )
            continue
        ours[task.arn].append(obs.at)
        # Never twice per step: a StopTask ECS ignored counts like any other.
        taken[task.arn].append(step)
        result.signal_steps += step != "stop-task"
        wait = record.wait_seconds(task.service)
        if task.drain_started_at is None or obs.at < task.drain_started_at + wait - 1e-6:
            result.premature_stops += 1
            result.details.append(f"premature {step} of {task.id[:8]} ({kind})")
        if kind not in STOPPABLE or not obs.data["draining"]:
            result.forbidden_stops += 1
            result.details.append(f"forbidden {step} of {task.id[:8]} ({kind}, {obs.data})")
        elif _nothing_to_cut(task):
            result.forbidden_stops += 1
            result.details.append(f"{step} of {task.id[:8]} with no drain to cut ({task.cause})")
        _judge_min_healthy(task, step, states, serving, result)
    for arn, names in taken.items():
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            result.stopped_more_than_once += 1
            result.details.append(f"{arn[-8:]}: {', '.join(repeated)} taken more than once")
    return ours


def _judge_signal(record: RunRecord, task: Task, obs: Observation, result: ChaosResult) -> None:
    """A signal that reached a container before the drain's deadline is premature."""
    wait = record.wait_seconds(task.service)
    if task.drain_started_at is None or obs.at < task.drain_started_at + wait - 1e-6:
        result.premature_stops += 1
        result.details.append(f"premature {obs.data['action']} signal to {task.id[:8]}")


def _judge_stagger(
    record: RunRecord,
    tasks: dict[str, Task],
    ours: dict[str, list[float]],
    result: ChaosResult,
) -> None:
    """Stops per service and minute: a task's first StopTask, or the first signal that
    reached its container (a refused or failed exec or ssm-signal costs no capacity and
    is not a stop; the functions let the next one follow)."""
    stops: dict[str, float] = {}
    for obs in record.log.of_kind(Kind.ECS_STOP_TASK, Kind.CONTAINER_SIGNAL):
        if obs.subject not in ours or obs.subject in stops:
            continue
        if obs.kind == Kind.ECS_STOP_TASK and obs.at not in ours[obs.subject]:
            continue  # not ours (ECS's, or one racing ECS's own stop)
        stops[obs.subject] = obs.at
    per_service: dict[str, list[float]] = defaultdict(list)
    for arn, at in stops.items():
        per_service[tasks[arn].service.name].append(at)
    for service in record.services:
        limit = dict(service.spec.tags).get(f"{TAG_PREFIX}max-stops-per-minute")
        if limit is not None:
            exceeded = _windows_exceeded(per_service[service.name], int(limit))
            result.stagger_violations += exceeded
            if exceeded:
                result.details.append(f"{service.name}: more than {limit} stops in 60 s")


def _judge_lost(
    record: RunRecord,
    task: Task,
    kind: str,
    first: float | None,
    strict_after: float,
    result: ChaosResult,
) -> None:
    """A drain whose every event was lost: only the backstop can find it, once per round."""
    # Only the backstop can find it, once per round: stopped early is the bar, for
    # every lost drain that had a full round free of faults before ECS would end it.
    result.lost_drains_stopped += first is not None
    if first is not None:
        return
    quiet_from = max(task.drain_started_at or 0.0, strict_after)
    chance = BACKSTOP_VISIT_SECONDS + record.wait_seconds(task.service)
    if (task.ecs_alone_at or 0.0) - quiet_from >= chance:
        result.missed_stops += 1
        result.details.append(f"missed: lost drain {task.id[:8]} ({kind}) left to ECS")
    else:
        result.lost_left_under_faults += 1


def _judge_drains(
    record: RunRecord,
    kinds: dict[str, str],
    config: ChaosConfig,
    tasks: dict[str, Task],
    ours: dict[str, list[float]],
    operators: dict[str, list[Observation]],
    result: ChaosResult,
) -> None:
    """Missed stops: left to ECS, or late once faults (and the leases they left) cleared.

    Services an operator changed are judged by :func:`_judge_operators` instead; a
    broken service holding up another shows here, as the other's missed stops.
    """
    strict_after = record.start + config.faults_clear_at + config.lease_seconds + 5.0
    broken = set(record.scenario.broken_accounts)
    for task in tasks.values():
        if task.drain_started_at is None:
            continue
        result.drains += 1
        result.drains_by_cause[task.cause or "other"] += 1
        if task.service.cluster_arn.split(":")[4] in broken:
            # Nothing can be called there: every drain is ECS's, none is stopped.
            result.broken_member_drains += 1
            if ours.get(task.arn):
                result.broken_member_stops += 1
                result.details.append(f"{task.id[:8]} stopped in an account with a broken role")
            continue
        kind = kinds[task.service.name]
        lost = task.arn in record.lost_tasks
        result.lost_drains += lost
        if _nothing_to_cut(task):
            result.drains_without_target_group += not task.targets
            continue  # judged by _judge_stops: never stopped
        if kind not in STOPPABLE:
            continue
        result.eligible_drains += 1
        first = ours[task.arn][0] if ours.get(task.arn) else None
        # Acted on (a step on time) and stopped by it; in the ignored world a StopTask
        # alone leaves the task to ECS.
        result.stopped_by_terminator += first is not None and task.stopped_by == "terminator"
        result.acted_but_left_to_ecs += first is not None and task.stopped_by != "terminator"
        if task.service.name in operators:
            continue
        if lost and kind not in GUARDED:
            _judge_lost(record, task, kind, first, strict_after, result)
            continue
        if kind in GUARDED:
            result.guarded_left_to_ecs += first is None
            continue
        deadline = task.drain_started_at + record.wait_seconds(task.service)
        late = None if first is None else first - deadline
        signal_first = record.stop_action(task.service) in {"exec", "ssm-signal"}
        on_time = SIGNAL_ON_TIME_SECONDS if signal_first else ON_TIME_SECONDS
        if late is None and signal_first and deadline < strict_after:
            result.signal_left_to_ecs_under_faults += 1
            result.details.append(f"{task.id[:8]} ({kind}) left to ECS: its signal step failed")
        elif late is None:
            result.missed_stops += 1
            result.details.append(f"missed: {task.id[:8]} ({kind}) left to ECS")
        elif late > on_time and deadline >= strict_after:
            result.missed_stops += 1
            result.details.append(f"missed: {task.id[:8]} ({kind}) {late:.1f}s late")
        elif late > on_time:
            result.late_under_faults += 1
            result.max_lateness_under_faults = max(result.max_lateness_under_faults, late)


def _judge_invocations(record: RunRecord, config: ChaosConfig, result: ChaosResult) -> None:
    sweeper = next(f for f in record.functions if SWEEPER in f.name)
    spans = [(i.started_at, i.ended_at or record.end) for i in sweeper.invocations]
    result.sweeper_overlaps = sum(
        1 for i, (a, b) in enumerate(spans) for c, _ in spans[i + 1 :] if a < c < b
    )
    # Once the injected faults have cleared, only a broken service (deleted target group
    # or service) can make a sweeper run fail: each such run is one too many.
    clear_at = record.start + config.faults_clear_at
    for invocation in sweeper.invocations:
        if invocation.outcome == "error" and invocation.started_at >= clear_at:
            result.sweeper_runs_failed += 1
            result.details.append(f"sweeper run failed: {invocation.error}")
    for function in record.functions:
        for invocation in function.invocations:
            result.sweeper_kills += invocation.outcome == "killed"
            result.handler_errors += invocation.outcome == "error"


def aggregate(results: Iterable[ChaosResult]) -> ChaosResult:
    """Sum the counts of several cases."""
    total = ChaosResult()
    for r in results:
        for name in (
            "cases", "drains", "eligible_drains", "stopped_by_terminator", "premature_stops",
            "forbidden_stops", "stops_racing_ecs", "stopped_more_than_once", "missed_stops",
            "late_under_faults",
            "stagger_violations", "min_healthy_violations", "guarded_left_to_ecs",
            "sweeper_kills", "sweeper_overlaps", "handler_errors", "stops_after_opt_out",
            "stops_before_raised_wait", "sweeper_runs_failed", "operator_actions",
            "drains_without_target_group", "lost_drains", "lost_drains_stopped",
            "lost_left_under_faults",
            "burst_drains", "ignored_world_drains", "stopped_by_signal",
            "acted_but_left_to_ecs", "signal_left_to_ecs_under_faults", "signal_steps",
            "sessions_opened", "sessions_abandoned", "sessions_left_open",
            "broken_member_drains", "broken_member_stops",
            "broken_member_lookups_failed",
        ):  # fmt: skip
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.max_lateness_under_faults = max(
            total.max_lateness_under_faults, r.max_lateness_under_faults
        )
        for name, count in r.faults_injected.items():
            total.faults_injected[name] += count
        for name, count in r.drains_by_cause.items():
            total.drains_by_cause[name] += count
        total.details.extend(r.details)
    return total


def format_result(result: ChaosResult) -> str:
    """The human-readable summary the test suite prints."""
    faults = ", ".join(f"{k} {v}" for k, v in sorted(result.faults_injected.items()))
    lines = [
        f"chaos: {result.cases} cases, {result.drains} drains "
        f"({result.burst_drains} of them in a burst world due at once), "
        f"{result.eligible_drains} of opted-in services, "
        f"{result.stopped_by_terminator} stopped early by the terminator; "
        f"{result.operator_actions} operator actions mid-drain",
        "  drains by cause: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.drains_by_cause.items()))
        + f"; in no target group {result.drains_without_target_group}; every event lost "
        f"{result.lost_drains} (of them stopped early through the backstop "
        f"{result.lost_drains_stopped}; left to ECS before a fault-free backstop round "
        f"{result.lost_left_under_faults})",
        f"  faults injected: {faults}; sweeper invocations killed {result.sweeper_kills}, "
        f"overlapping sweeper runs {result.sweeper_overlaps}",
        f"  premature stops (before drain start + wait):         {result.premature_stops}",
        f"  stops of tasks not opted in/opted out/dry-run/not draining: {result.forbidden_stops}",
        f"  StopTasks racing ECS's own stop (no-ops, within {TASK_STATE_SECONDS:.0f} s): "
        f"{result.stops_racing_ecs}",
        f"  tasks stopped more than once:                        {result.stopped_more_than_once}",
        f"  missed stops:                                        {result.missed_stops}",
        f"  max-stops-per-minute exceeded:                       {result.stagger_violations}",
        f"  early stops below min-healthy-percent:               {result.min_healthy_violations}",
        f"  stops after an opt-out/dry-run (beyond staleness):   {result.stops_after_opt_out}",
        f"  stops before a raised wait:                          {result.stops_before_raised_wait}",
        f"  sweeper runs failed once faults cleared:             {result.sweeper_runs_failed}",
        f"  exec sessions left open:                             {result.sessions_left_open}",
        f"  ignored world (StopTask on a draining task changes only its reason): "
        f"{result.ignored_world_drains} drains; {result.signal_steps} signal steps, "
        f"{result.stopped_by_signal} tasks stopped by a signal, {result.sessions_opened} exec "
        f"sessions ({result.sessions_abandoned} abandoned by killed invocations); "
        f"{result.acted_but_left_to_ecs} drains acted on but left to ECS, "
        f"{result.signal_left_to_ecs_under_faults} left to ECS under faults when a first "
        "signal step's calls failed",
        f"  late while faults were active: {result.late_under_faults} "
        f"(at most {result.max_lateness_under_faults:.1f} s); guarded drains left to ECS: "
        f"{result.guarded_left_to_ecs}; handler invocations that failed: {result.handler_errors}",
    ]
    if result.broken_member_drains:
        lines.append(
            f"  member account with a broken role: {result.broken_member_drains} drains left "
            f"to ECS, {result.broken_member_stops} stopped, {result.broken_member_lookups_failed}"
            " LookupsFailed counted with its account"
        )
    return "\n".join(lines)
