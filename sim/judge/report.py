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
from sim.aws.ecs.model import TERMINATOR_REASON, Service, Task, WorldRules
from sim.aws.lambda_runtime import LambdaFunction
from sim.engine.observe import Kind, ObservationLog
from sim.scenarios import Scenario

__all__ = [
    "STOP_ACTIONS",
    "Invariant",
    "Report",
    "RunRecord",
    "Summary",
    "TaskTimeline",
    "actions_by_task",
    "build_report",
    "stop_actions_in_play",
]

_EPSILON = 1e-6
#: The functions' stop actions (the ``<prefix>stop-action`` tag's values).
STOP_ACTIONS = ("stop-task", "exec", "ssm-signal", "stop-task-then-exec")
_STEPS = {
    "stop-task": ("stop-task",),
    "exec": ("exec",),
    "ssm-signal": ("ssm-signal",),
    "stop-task-then-exec": ("stop-task", "exec"),
}


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

    #: The world the run was simulated in (StopTask on draining tasks, Exec on stopping ones).
    world: WorldRules = field(default_factory=WorldRules)
    #: ECS Exec sessions: opened, closed (by the agent), terminated (by the function),
    #: abandoned (by a killed invocation), left open.
    sessions: dict[str, int] = field(default_factory=dict)
    #: Faults injected into signal attempts, by kind (``ssm-`` for Run Command).
    signal_faults: dict[str, int] = field(default_factory=dict)
    #: The functions' stop action of a service without a valid tag, and the single-step
    #: actions the deployment enables (read from the settings the run used).
    default_stop_action: str = "stop-task"
    enabled_actions: frozenset[str] = frozenset({"stop-task"})

    def stop_action(self, service: Service) -> str:
        """The service's stop action as deployed (its tag, else the default)."""
        raw = (dict(service.spec.tags).get(f"{self.tag_prefix}stop-action") or "").strip()
        return raw.lower() if raw.lower() in STOP_ACTIONS else self.default_stop_action

    def can_stop_early(self, service: Service) -> bool:
        """Whether some step of the service's action can end its drains early in this
        world: StopTask where it is effective, exec where the service enables it and ECS
        does not refuse Exec on a stopping task, ssm-signal on EC2 (also as the fallback
        the ``ssm-fallback`` tag allows)."""
        action = self.stop_action(service)
        steps = [s for s in _STEPS[action] if s in self.enabled_actions]
        fallback = dict(service.spec.tags).get(f"{self.tag_prefix}ssm-fallback", "")
        if "exec" in steps and fallback.strip().lower() == "true":
            steps.append("ssm-signal")
        if not steps:
            steps = ["stop-task"]  # the functions fall back to StopTask
        ec2 = service.spec.launch_type == "EC2"
        world = self.world
        for step in steps:
            if step == "stop-task" and world.stoptask_on_draining == "effective":
                return True
            if (
                step == "exec"
                and "exec" in self.enabled_actions
                and service.spec.enable_execute_command
                and not world.exec_refused_when_stopping
            ):
                return True
            if step == "ssm-signal" and "ssm-signal" in self.enabled_actions and ec2:
                return True
        return False

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

    #: The service's stop action, and the functions' actions on the task in order (time,
    #: step): StopTasks, and ExecuteCommand/SendCommand requests that reached AWS.
    stop_action: str = "stop-task"
    actions: tuple[tuple[float, str], ...] = ()
    #: When a signal first reached the container (the app began its shutdown), if ever.
    signalled_at: float | None = None
    #: The step whose effect ended the task, when the terminator did.
    stopped_with: str | None = None

    @property
    def first_action_at(self) -> float | None:
        """When the functions first acted on the task (any step)."""
        return self.actions[0][0] if self.actions else None

    @property
    def unconfirmed(self) -> bool:
        """Acted on, yet left to ECS: what the functions must report unconfirmed."""
        return bool(self.actions) and self.stopped_by != "terminator"


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
            "world": asdict(self.record.world),
            "exec_sessions": dict(self.record.sessions),
            "wall_seconds": round(self.wall_seconds, 3),
        }
        if observations:
            body["observations"] = [o.to_dict() for o in self.record.log]
        return body


def _delay(task: Task) -> int:
    """How long ECS alone would have kept ``task`` draining (0: nothing to cut)."""
    return round((task.ecs_alone_at or 0.0) - (task.drain_started_at or 0.0))


def actions_by_task(record: RunRecord) -> dict[str, list[tuple[float, str]]]:
    """The functions' stop steps per task, in order, from the witness log: StopTasks with
    the terminator's reason, and ExecuteCommand/SendCommand requests the functions made."""
    actions: dict[str, list[tuple[float, str]]] = {}
    for obs in record.log.of_kind(Kind.ECS_STOP_TASK, Kind.SIGNAL_REQUEST):
        if obs.kind == Kind.ECS_STOP_TASK:
            if not str(obs.data["reason"]).startswith(TERMINATOR_REASON):
                continue
            step = "stop-task"
        elif obs.data.get("caller") is None:
            continue
        else:
            step = str(obs.data["action"])
        actions.setdefault(obs.subject, []).append((obs.at, step))
    return actions


def _left_because(
    record: RunRecord, task: Task, wait: int, actions: list[tuple[float, str]]
) -> str | None:
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
    if actions:
        steps = " then ".join(dict.fromkeys(step for _, step in actions))
        return f"{steps} had no effect in this world (unconfirmed)"
    return "the terminator did not stop it in time (see the handler log)"


def _timeline(
    record: RunRecord,
    task: Task,
    baseline_drain: float | None,
    actions: list[tuple[float, str]],
) -> TaskTimeline:
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
        left_to_ecs_because=_left_because(record, task, wait, actions),
        baseline_drain_started_at=baseline_drain,
        cause=task.cause,
        events_lost=task.arn in record.lost_tasks,
        stop_action=record.stop_action(task.service),
        actions=tuple(actions),
        signalled_at=task.signalled_at,
        stopped_with=task.stopped_with if task.stopped_by == "terminator" else None,
    )


def _signal_steps(record: RunRecord) -> list[tuple[float, str, str]]:
    """(time, task ARN, what) of every signal step the functions took or that took effect."""
    steps = []
    for obs in record.log.of_kind(Kind.SIGNAL_REQUEST, Kind.CONTAINER_SIGNAL):
        if obs.kind == Kind.SIGNAL_REQUEST and obs.data.get("caller") is None:
            continue
        what = "signal" if obs.kind == Kind.CONTAINER_SIGNAL else str(obs.data["action"])
        steps.append((obs.at, obs.subject, what))
    return steps


def stop_actions_in_play(record: RunRecord) -> bool:
    """Whether the run goes beyond StopTask in the effective world (more invariants apply)."""
    return record.world != WorldRules() or any(
        record.stop_action(s) != "stop-task" for s in record.services if record.opted_in(s)
    )


def _invariants(record: RunRecord, timelines: list[TaskTimeline]) -> list[Invariant]:
    tasks = {t.arn: t for s in record.services for t in s.tasks}
    early, untagged = [], []
    moments = [
        (call.at, call.subject, "StopTask") for call in record.log.of_kind(Kind.ECS_STOP_TASK)
    ]
    for at, arn, what in [*moments, *_signal_steps(record)]:
        task = tasks[arn]
        if not record.opted_in(task.service):
            untagged.append(task.id[:8])
        due = (task.drain_started_at or float("inf")) + record.wait_seconds(task.service)
        if at < due - _EPSILON:
            since = at - (task.drain_started_at or at)
            early.append(f"{task.id[:8]} {what} at +{since:.1f}s")
    tolerance = record.scenario.stop_tolerance_seconds
    late, lost_late, expected_left = [], [], 0
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
        first = line.first_action_at if line.actions else line.terminator_stop_at
        if record.can_stop_early(tasks[line.task_arn].service):
            if line.stopped_by != "terminator" or (first or 0) > due + _EPSILON:
                late.append(line.task_id[:8])
        elif first is None or first > due + _EPSILON:
            late.append(line.task_id[:8])
        else:
            expected_left += 1
    failed = [
        f"{fn.name}:{inv.request_id[:8]} {inv.outcome}"
        for fn in record.functions
        for inv in fn.invocations
        if inv.outcome in {"error", "timeout"}
    ]
    invariants = _basic(record, early, untagged, late, expected_left, failed, tolerance)
    if stop_actions_in_play(record):
        invariants += _stop_action_invariants(record, timelines)
    return invariants + _per_cause(record, timelines, lost_late)


def _per_cause(
    record: RunRecord, timelines: list[TaskTimeline], lost_late: list[str]
) -> list[Invariant]:
    """The invariants of the stop causes a run has (none for a plain rolling update)."""
    checks = []
    uncut = [t for t in timelines if t.nothing_to_cut]
    if uncut:
        stopped = [t.task_id[:8] for t in uncut if t.actions or t.terminator_stop_at is not None]
        checks.append(
            Invariant(
                "no StopTask without a drain",
                not stopped,
                "no stop step on a Spot-interrupted task or one in no target group"
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
    expected_left: int,
    failed: list[str],
    tolerance: float,
) -> list[Invariant]:
    return [
        Invariant(
            "no task stopped early",
            not early,
            (
                "every StopTask came at or after drain start + wait"
                if not stop_actions_in_play(record)
                else "every stop step (StopTask, exec, ssm-signal) and every signal came at or "
                "after drain start + wait"
            )
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
        _stopped_invariant(record, late, expected_left, tolerance),
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


def _stopped_invariant(
    record: RunRecord, late: list[str], expected_left: int, tolerance: float
) -> Invariant:
    if late:
        return Invariant(
            "every opted-in drain stopped", False, "not stopped in time: " + ", ".join(late)
        )
    detail = f"each stopped by the terminator within wait + {tolerance:g} s"
    if expected_left:
        detail = (
            f"each acted on within wait + {tolerance:g} s; {expected_left} left to ECS "
            f"because no step of their action takes effect in this world (StopTask on a "
            f"draining task {record.world.stoptask_on_draining}"
            + (
                ", Exec refused on a stopping task"
                if record.world.exec_refused_when_stopping
                else ""
            )
            + ")"
        )
    name = "every opted-in drain acted on" if expected_left else "every opted-in drain stopped"
    return Invariant(name, True, detail)


def _stop_action_invariants(record: RunRecord, timelines: list[TaskTimeline]) -> list[Invariant]:
    """Each step at most once per task; ineffective stops reported; no session left open."""
    twice = []
    for line in timelines:
        steps = [step for _, step in line.actions]
        repeated = sorted({s for s in steps if steps.count(s) > 1})
        if repeated:
            twice.append(f"{line.task_id[:8]} ({', '.join(repeated)})")
    unconfirmed = [t for t in timelines if t.opted_in and t.unconfirmed]
    metrics = record.metrics
    said_unconfirmed = int(metrics.get("StopsUnconfirmed", 0))
    said_failed = int(metrics.get("StopsFailed", 0)) + int(
        metrics.get("StopPrerequisitesMissing", 0)
    )
    reported = said_unconfirmed + said_failed >= len(unconfirmed)
    sessions = record.sessions
    left_open = sessions.get("left_open", 0)
    return [
        Invariant(
            "no step taken twice",
            not twice,
            "StopTask, exec and ssm-signal each at most once per task"
            if not twice
            else "repeated: " + ", ".join(twice),
        ),
        Invariant(
            "ineffective stops reported",
            reported,
            f"{len(unconfirmed)} drain(s) acted on but left to ECS; the functions reported "
            f"{said_unconfirmed} unconfirmed (StopsUnconfirmed, the alarm) and {said_failed} "
            "failed or lacking a prerequisite",
        ),
        Invariant(
            "no exec session left open",
            left_open == 0,
            f"{sessions.get('opened', 0)} opened: {sessions.get('closed', 0)} closed by the "
            f"agent, {sessions.get('terminated', 0)} terminated by the function, "
            f"{sessions.get('abandoned', 0)} abandoned by a killed invocation, {left_open} "
            "left open",
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
    actions = actions_by_task(record)
    timelines = [
        _timeline(record, t, baseline_drains.get(t.arn), actions.get(t.arn, [])) for t in drained
    ]
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
