"""What a run shows: per-task timelines, a summary, and the run's own invariants.

Everything is derived from the model's state and the observation log, an independent
witness, never from what the handlers say they did. "ECS alone" for a task is its drain
start plus the longest deregistration delay of its target groups: exactly when the model
would have begun stopping it. The deployment duration without the terminator comes from
a second, simulated run of the same seeded scenario with the terminator disabled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sim.aws.costs import CostModel
from sim.aws.ecs.model import TERMINATOR_REASON, Service, Task
from sim.aws.lambda_runtime import LambdaFunction
from sim.engine.observe import Kind, ObservationLog
from sim.scenarios import Scenario

__all__ = ["Invariant", "Report", "RunRecord", "Summary", "TaskTimeline", "build_report"]

_EPSILON = 1e-6


@dataclass(slots=True)
class RunRecord:
    """Raw outcome of one run (see :meth:`sim.simulation.Simulation.run_once`)."""

    scenario: Scenario
    seed: int
    terminator: bool
    start: float
    end: float
    completed: bool
    real_time: bool
    services: list[Service]
    log: ObservationLog
    bus_stats: dict[str, int]
    functions: list[LambdaFunction]
    aws_calls: dict[str, int]
    output: list[str]
    metrics: dict[str, float]
    default_wait_seconds: int
    tag_prefix: str
    sweeper_runs: int
    #: Throttles, capacity units and peaks the run's calls cost (see :mod:`sim.aws.costs`).
    costs: CostModel | None = field(default=None, repr=False)
    #: Tasks every event of whose drain was lost (``Delivery.lost_drain_rate``).
    lost_tasks: frozenset[str] = frozenset()

    def elb_calls_by_functions(self) -> int:
        """Elastic Load Balancing calls the functions made (not the harness's set-up)."""
        return sum(
            1
            for call in self.log.of_kind(Kind.AWS_CALL)
            if call.subject.startswith("elastic-load-balancing-v2.") and call.data.get("caller")
        )

    def opted_in(self, service: Service) -> bool:
        """The service's opt-in tag as deployed, read independently of the code under test.

        Operators' later changes are in the observation log (``Kind.OPERATOR``).
        """
        raw = dict(service.spec.tags).get(f"{self.tag_prefix}enabled")
        return (raw or "").strip().lower() == "true"

    def wait_seconds(self, service: Service) -> int:
        """The service's wait tag as deployed (the default when absent or invalid)."""
        raw = (dict(service.spec.tags).get(f"{self.tag_prefix}wait-seconds") or "").strip()
        return int(raw) if raw.isdigit() else self.default_wait_seconds

    def deployment_window(self) -> tuple[float, float | None]:
        """First action's start to the last deployment's completion (None: incomplete)."""
        touched = [s for s in self.services if len(s.deployments) > 1]
        if not touched:
            return self.start, self.start
        begin = min(s.deployments[1].started_at for s in touched)
        ends = [s.primary.completed_at for s in touched]
        return begin, None if any(e is None for e in ends) else max(e for e in ends if e)


@dataclass(frozen=True, slots=True)
class TaskTimeline:
    """One drained task."""

    task_id: str
    task_arn: str
    service: str
    opted_in: bool
    wait_seconds: int
    deregistration_delay: int
    drain_started_at: float
    terminator_stop_at: float | None
    stop_calls: int
    ecs_alone_at: float
    stop_began_at: float | None
    stopped_at: float | None
    stopped_by: str | None
    stop_code: str | None
    stopped_reason: str | None
    saved_seconds: float
    left_to_ecs_because: str | None
    #: The same task's drain start in the counterfactual run (None: not run, or not
    #: drained there). Later waves drain later without the terminator: ECS starts their
    #: replacements only within maximumPercent, and draining tasks count until STOPPED.
    baseline_drain_started_at: float | None = None
    #: Why ECS stopped it (deployment, scale-in, task-set, blue-green, instance-drain,
    #: spot-interruption, unhealthy) and whether every event of its drain was lost.
    cause: str = ""
    events_lost: bool = False

    @property
    def nothing_to_cut(self) -> bool:
        """A Spot interruption or a task in no target group: no drain to shorten."""
        return self.cause == "spot-interruption" or self.deregistration_delay == 0


@dataclass(frozen=True, slots=True)
class Invariant:
    """A property the run must have; the demo exits 0 only if all hold."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Summary:
    """Totals of the run."""

    tasks_drained: int
    stopped_early: int
    left_to_ecs: int
    saved_seconds_total: float
    saved_seconds_per_task: float
    deployment_seconds: float | None
    baseline_deployment_seconds: float | None
    baseline_method: str
    deployment_seconds_by_service: dict[str, float | None] = field(default_factory=dict)
    baseline_seconds_by_service: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """The result of :meth:`sim.simulation.Simulation.run`."""

    scenario: str
    description: str
    seed: int
    real_time: bool
    start: float
    deployment_started_at: float
    timelines: list[TaskTimeline]
    summary: Summary
    invariants: list[Invariant]
    events: dict[str, int]
    lambdas: dict[str, dict[str, int]]
    #: Each function's reserved concurrency in the run (None: unreserved, never throttled).
    reserved_concurrency: dict[str, int | None]
    aws_calls: dict[str, int]
    metrics: dict[str, float]
    wall_seconds: float
    record: RunRecord = field(repr=False)
    baseline: RunRecord | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Every invariant holds."""
        return all(i.ok for i in self.invariants)

    def to_dict(self, *, observations: bool = False) -> dict[str, Any]:
        """JSON-friendly form (``observations``: include the full observation log)."""
        body: dict[str, Any] = {
            "scenario": self.scenario,
            "description": self.description,
            "seed": self.seed,
            "clock": "real-time" if self.real_time else "virtual",
            "start": self.start,
            "deployment_started_at": self.deployment_started_at,
            "ok": self.ok,
            "summary": asdict(self.summary),
            "tasks": [asdict(t) for t in self.timelines],
            "invariants": [asdict(i) for i in self.invariants],
            "events": self.events,
            "lambdas": self.lambdas,
            "reserved_concurrency": self.reserved_concurrency,
            "aws_calls": self.aws_calls,
            "metrics": self.metrics,
            "wall_seconds": round(self.wall_seconds, 3),
        }
        if observations:
            body["observations"] = [o.to_dict() for o in self.record.log]
        return body


def _delay(task: Task) -> int:
    """How long ECS alone would have kept ``task`` draining (0: nothing to cut)."""
    return round((task.ecs_alone_at or 0.0) - (task.drain_started_at or 0.0))


def _left_because(record: RunRecord, task: Task, wait: int) -> str | None:
    if task.stopped_by == "terminator":
        return None
    if not record.terminator:
        return "terminator disabled"
    if not record.opted_in(task.service):
        return "service did not opt in"
    if task.cause == "spot-interruption":
        return "Spot interruption: SIGTERM already sent, no drain to cut short"
    if not task.targets:
        return "no load balancer: no deregistration delay to shorten"
    if wait >= _delay(task):
        return f"wait ({wait} s) >= deregistration delay: ECS stops it first"
    if task.stopped_by is None:
        return "still draining at the end of the run"
    return "the terminator did not stop it in time (see the handler log)"


def _timeline(record: RunRecord, task: Task, baseline_drain: float | None) -> TaskTimeline:
    assert task.drain_started_at is not None
    assert task.ecs_alone_at is not None
    wait = record.wait_seconds(task.service)
    ours = [at for at, reason in task.stop_requests if reason.startswith(TERMINATOR_REASON)]
    stop_at = ours[0] if ours else None
    saved = 0.0
    if task.stopped_by == "terminator" and task.stop_began_at is not None:
        saved = task.ecs_alone_at - task.stop_began_at
    return TaskTimeline(
        task_id=task.id,
        task_arn=task.arn,
        service=task.service.name,
        opted_in=record.opted_in(task.service),
        wait_seconds=wait,
        deregistration_delay=_delay(task),
        drain_started_at=task.drain_started_at,
        terminator_stop_at=stop_at,
        stop_calls=len(task.stop_requests),
        ecs_alone_at=task.ecs_alone_at,
        stop_began_at=task.stop_began_at,
        stopped_at=task.times.get("stoppedAt"),
        stopped_by=task.stopped_by,
        stop_code=task.stop_code,
        stopped_reason=task.stopped_reason,
        saved_seconds=round(max(0.0, saved), 3),
        left_to_ecs_because=_left_because(record, task, wait),
        baseline_drain_started_at=baseline_drain,
        cause=task.cause,
        events_lost=task.arn in record.lost_tasks,
    )


def _invariants(record: RunRecord, timelines: list[TaskTimeline]) -> list[Invariant]:
    tasks = {t.arn: t for s in record.services for t in s.tasks}
    early, untagged = [], []
    for call in record.log.of_kind(Kind.ECS_STOP_TASK):
        task = tasks[call.subject]
        if not record.opted_in(task.service):
            untagged.append(task.id[:8])
        due = (task.drain_started_at or float("inf")) + record.wait_seconds(task.service)
        if call.at < due - _EPSILON:
            early.append(f"{task.id[:8]} at +{call.at - (task.drain_started_at or call.at):.1f}s")
    tolerance = record.scenario.stop_tolerance_seconds
    late, lost_late = [], []
    for line in timelines:
        if (
            not (record.terminator and line.opted_in)
            or line.wait_seconds >= line.deregistration_delay
        ):
            continue
        if line.events_lost:
            # Only the backstop can find it: stopped early (before ECS alone) is the bar.
            if line.stopped_by != "terminator":
                lost_late.append(line.task_id[:8])
            continue
        due = line.drain_started_at + line.wait_seconds + tolerance
        if line.stopped_by != "terminator" or (line.terminator_stop_at or 0) > due + _EPSILON:
            late.append(line.task_id[:8])
    failed = [
        f"{fn.name}:{inv.request_id[:8]} {inv.outcome}"
        for fn in record.functions
        for inv in fn.invocations
        if inv.outcome in {"error", "timeout"}
    ]
    return _basic(record, early, untagged, late, failed, tolerance) + _per_cause(
        record, timelines, lost_late
    )


def _per_cause(
    record: RunRecord, timelines: list[TaskTimeline], lost_late: list[str]
) -> list[Invariant]:
    """The invariants of the stop causes a run has (none for a plain rolling update)."""
    checks = []
    uncut = [t for t in timelines if t.nothing_to_cut]
    if uncut:
        stopped = [t.task_id[:8] for t in uncut if t.terminator_stop_at is not None]
        checks.append(
            Invariant(
                "no StopTask without a drain",
                not stopped,
                "no StopTask on a Spot-interrupted task or one in no target group"
                if not stopped
                else "stopped: " + ", ".join(stopped),
            )
        )
    if record.services and not any(s.target_groups for s in record.services):
        calls = record.elb_calls_by_functions()
        checks.append(
            Invariant(
                "no ELB call without a load balancer",
                not calls,
                "the functions made no Elastic Load Balancing call"
                if not calls
                else f"{calls} Elastic Load Balancing call(s)",
            )
        )
    lost = [t for t in timelines if t.events_lost]
    if lost and record.terminator:
        checks.append(
            Invariant(
                "lost drains stopped early",
                not lost_late,
                f"{len(lost)} drain(s) whose every event was lost: each found and stopped by "
                "the terminator after drain start + wait, before ECS alone"
                if not lost_late
                else "left to ECS: " + ", ".join(lost_late),
            )
        )
    return checks


def _basic(
    record: RunRecord,
    early: list[str],
    untagged: list[str],
    late: list[str],
    failed: list[str],
    tolerance: float,
) -> list[Invariant]:
    return [
        Invariant(
            "no task stopped early",
            not early,
            "every StopTask came at or after drain start + wait"
            if not early
            else "early: " + ", ".join(early),
        ),
        Invariant(
            "no untagged service touched",
            not untagged,
            "no StopTask on a service that did not opt in"
            if not untagged
            else "stopped: " + ", ".join(untagged),
        ),
        Invariant(
            "every opted-in drain stopped",
            not late,
            f"each stopped by the terminator within wait + {tolerance:g} s"
            if not late
            else "not stopped in time: " + ", ".join(late),
        ),
        Invariant(
            "deployment completed",
            record.completed,
            "the service(s) reached steady state"
            if record.completed
            else f"not complete after {record.scenario.max_seconds:g} s",
        ),
        Invariant(
            "handlers did not fail",
            not failed,
            "no invocation raised or timed out" if not failed else "; ".join(failed[:5]),
        ),
    ]


def _by_service(record: RunRecord) -> dict[str, float | None]:
    return {
        s.name: (
            None
            if s.primary.completed_at is None
            else round(s.primary.completed_at - s.primary.started_at, 3)
        )
        for s in record.services
        if len(s.deployments) > 1
    }


def build_report(record: RunRecord, baseline: RunRecord | None, *, wall_seconds: float) -> Report:
    """Derive the report of ``record`` (``baseline``: the same run without the terminator)."""
    drained = sorted(
        (t for s in record.services for t in s.tasks if t.drain_started_at is not None),
        key=lambda t: (t.drain_started_at or 0.0, t.arn),
    )
    baseline_drains = (
        {t.arn: t.drain_started_at for s in baseline.services for t in s.tasks}
        if baseline is not None
        else {}
    )
    timelines = [_timeline(record, t, baseline_drains.get(t.arn)) for t in drained]
    early = [t for t in timelines if t.stopped_by == "terminator"]
    begin, end = record.deployment_window()
    base_seconds = None
    if baseline is not None:
        base_begin, base_end = baseline.deployment_window()
        base_seconds = None if base_end is None else base_end - base_begin
    saved_total = sum(t.saved_seconds for t in early)
    summary = Summary(
        tasks_drained=len(timelines),
        stopped_early=len(early),
        left_to_ecs=len(timelines) - len(early),
        saved_seconds_total=round(saved_total, 3),
        saved_seconds_per_task=round(saved_total / len(early), 3) if early else 0.0,
        deployment_seconds=None if end is None else round(end - begin, 3),
        baseline_deployment_seconds=None if base_seconds is None else round(base_seconds, 3),
        baseline_method=(
            "simulated: same seed, terminator disabled" if baseline else "not simulated"
        ),
        deployment_seconds_by_service=_by_service(record),
        baseline_seconds_by_service=_by_service(baseline) if baseline else {},
    )
    lambdas = {}
    for fn in record.functions:
        outcomes: dict[str, int] = {"invocations": len(fn.invocations), "throttled": fn.throttles}
        for inv in fn.invocations:
            outcomes[inv.outcome] = outcomes.get(inv.outcome, 0) + 1
        lambdas[fn.name] = outcomes
    return Report(
        scenario=record.scenario.name,
        description=record.scenario.description,
        seed=record.seed,
        real_time=record.real_time,
        start=record.start,
        deployment_started_at=begin,
        timelines=timelines,
        summary=summary,
        invariants=_invariants(record, timelines),
        events=dict(record.bus_stats),
        lambdas=lambdas,
        reserved_concurrency={fn.name: fn.reserved_concurrency for fn in record.functions},
        aws_calls=dict(sorted(record.aws_calls.items())),
        metrics=dict(sorted(record.metrics.items())),
        wall_seconds=wall_seconds,
        record=record,
        baseline=baseline,
    )
