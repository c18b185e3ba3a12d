"""Human-readable output of a :class:`sim.judge.report.Report`."""

from __future__ import annotations

from sim.aws.ecs.events import iso_s
from sim.aws.lambda_runtime import deployed_reserved_concurrency
from sim.judge.report import Report, TaskTimeline, stop_actions_in_play

__all__ = ["duration_text", "render_text"]


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else "+"
    whole = round(abs(seconds))
    return f"T{sign}{whole // 60:02d}:{whole % 60:02d}"


def duration_text(seconds: float | None) -> str:
    """``394.2`` → ``6m34s (394 s)``; None → ``did not complete``."""
    if seconds is None:
        return "did not complete"
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s ({seconds:.0f} s)"


def _service_lines(report: Report) -> list[str]:
    lines = []
    record = report.record
    for service in record.services:
        spec = service.spec
        groups = (
            ", ".join(
                f"{g.name} (deregistration delay {g.deregistration_delay} s)"
                for g in spec.target_groups
            )
            or "no load balancer"
        )
        shape = []
        if spec.task_sets:
            shape.append(f"{spec.controller} controller (task sets)")
        if spec.blue_green:
            shape.append("ECS blue/green")
        if spec.spot:
            shape.append("Fargate Spot")
        if spec.old_arn_tasks:
            shape.append(f"{spec.old_arn_tasks} task(s) with old-format ARNs")
        kind = f"{spec.launch_type}/{spec.network_mode}" + "".join(f", {s}" for s in shape)
        opt = (
            f"opted in, wait-seconds {record.wait_seconds(service)}"
            if record.opted_in(service)
            else "NOT opted in (no tags)"
        )
        lines.append(
            f"  service {spec.name}: {kind}, "
            f"{spec.desired_count} tasks, min {spec.min_healthy_percent}% / "
            f"max {spec.max_percent}%; {groups}; {opt}"
        )
    return lines


def _baseline_lines(report: Report) -> list[str]:
    """The counterfactual run's deployment duration, and why its later waves drain later."""
    summary = report.summary
    if report.baseline is None:
        return ["                         without the terminator: not simulated (--no-baseline)"]
    lines = [
        f"                         {duration_text(summary.baseline_deployment_seconds)} without "
        f"({summary.baseline_method})",
        *(
            f"    service {name:<14} {duration_text(seconds)} with, "
            f"{duration_text(summary.baseline_seconds_by_service.get(name))} without"
            for name, seconds in summary.deployment_seconds_by_service.items()
            if len(summary.deployment_seconds_by_service) > 1
        ),
    ]
    later = [
        line.baseline_drain_started_at - line.drain_started_at
        for line in report.timelines
        if line.baseline_drain_started_at is not None
        and line.baseline_drain_started_at - line.drain_started_at >= 1.0
    ]
    if later:
        lines.append(
            f"  later waves            without the terminator, {len(later)} of "
            f"{len(report.timelines)} drains began later (by up to {_minutes(max(later))}): "
            "draining tasks count towards maximumPercent until STOPPED, so each wave of new "
            "tasks waits for the previous wave to stop"
        )
    return lines


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


def _lambda_line(report: Report, name: str, stats: dict[str, int]) -> str:
    """Invocations by outcome, and the function's concurrency: why any were throttled."""
    outcomes = ", ".join(f"{k} {v}" for k, v in stats.items() if k not in _NOT_OUTCOMES)
    short = name.removeprefix("ecs-drain-terminator-")
    line = f"  lambda {short:<15} {stats['invocations']} invocations ({outcomes or 'none'})"
    reserved = report.reserved_concurrency.get(name)
    throttled = stats.get("throttled", 0)
    default = reserved == deployed_reserved_concurrency(short.replace("-", "_"))
    where = " (the module's default)" if default else ""
    if reserved is None:
        return f"{line}; concurrency unreserved{where}, never throttled"
    if not throttled:
        return f"{line}; reserved concurrency {reserved}{where}, never throttled"
    return (
        f"{line}; reserved concurrency {reserved}{where}: {throttled} attempts throttled, "
        f"all {reserved} slots being busy; Lambda retried each (after 1 s, then doubling) "
        "until it ran or was too old"
    )


_NOT_OUTCOMES = frozenset({"invocations", "throttled"})


def _row(line: TaskTimeline, zero: float, steps: bool = False) -> str:
    ours = _clock(line.terminator_stop_at - zero) if line.terminator_stop_at else "-"
    if steps:
        first = line.actions[0] if line.actions else None
        ours = f"{_clock(first[0] - zero)} {first[1]}" if first else "-"
    stopped = _clock(line.stopped_at - zero) if line.stopped_at else "-"
    saved = f"{line.saved_seconds:.0f} s" if line.stopped_by == "terminator" else "-"
    width = 22 if steps else 12
    by = f" (by {line.stopped_with})" if steps and line.stopped_with else ""
    return (
        f"  {line.task_id[:8]}  {line.service:<8} {_clock(line.drain_started_at - zero):>11}"
        f"  {ours:>{width}}  {_clock(line.ecs_alone_at - zero):>9}  {stopped:>8}  {saved:>6}"
        f"  {line.stop_code or '-'}: {line.stopped_reason or '-'}{by}"
    )


def _stop_action_lines(report: Report) -> list[str]:
    """The world, the steps taken and their effects, the exec sessions (stop actions only)."""
    record = report.record
    world = record.world
    steps: dict[str, int] = {}
    for line in report.timelines:
        for _, step in line.actions:
            steps[step] = steps.get(step, 0) + 1
    effects: dict[str, int] = {}
    for line in report.timelines:
        if line.stopped_with:
            effects[line.stopped_with] = effects.get(line.stopped_with, 0) + 1
    unconfirmed = sum(1 for t in report.timelines if t.opted_in and t.unconfirmed)
    sessions = record.sessions
    refused = (
        ", ExecuteCommand refused on a stopping task" if world.exec_refused_when_stopping else ""
    )
    return [
        "  world                  StopTask on a draining task "
        f"{world.stoptask_on_draining}{refused}",
        "  stop steps taken       "
        + (", ".join(f"{step} {n}" for step, n in steps.items()) or "none")
        + "; stopped by "
        + (", ".join(f"{step} {n}" for step, n in effects.items()) or "none"),
        f"  unconfirmed            {unconfirmed} drain(s) acted on but left to ECS",
        f"  exec sessions          {sessions.get('opened', 0)} opened, "
        f"{sessions.get('closed', 0)} closed by the agent, "
        f"{sessions.get('terminated', 0)} terminated by the function, "
        f"{sessions.get('left_open', 0)} left open",
    ]


def render_text(report: Report, *, logs: bool = False) -> str:
    """The demo's text output."""
    zero = report.deployment_started_at
    clock = "real-time clock" if report.real_time else "virtual clock"
    steps = stop_actions_in_play(report.record)
    first = "our first step" if steps else "our StopTask"
    out = [
        f'ecs-drain-terminator demo: scenario "{report.scenario}", seed {report.seed}, {clock}',
        f"  {report.description}",
        *_service_lines(report),
        "",
        f"Timeline per drained task (T = deployment start, {iso_s(zero)})",
        f"  {'task':<8}  {'service':<8} {'drain start':>11}  {first:>{22 if steps else 12}}  "
        f"{'ECS alone':>9}  {'stopped':>8}  {'saved':>6}  stop code: reason",
    ]
    out += [_row(line, zero, steps) for line in report.timelines] or ["  (no task drained)"]
    summary = report.summary
    left = [t for t in report.timelines if t.left_to_ecs_because]
    reasons: dict[str, int] = {}
    for line in left:
        key = f"{line.service}: {line.left_to_ecs_because}"
        reasons[key] = reasons.get(key, 0) + 1
    events = report.events
    out += [
        "",
        "Summary",
        f"  tasks drained          {summary.tasks_drained}",
        f"  stopped early          {summary.stopped_early}",
        f"  seconds saved          {summary.saved_seconds_total:.0f} s in total, "
        f"{summary.saved_seconds_per_task:.0f} s per task stopped early",
        *(
            [
                f"  deployment duration    {duration_text(summary.deployment_seconds)} "
                "with the terminator",
                *_baseline_lines(report),
            ]
            if summary.deployment_seconds_by_service
            else ["  deployment duration    no deployment in this scenario"]
        ),
        "  left to ECS            "
        + ("none" if not reasons else "; ".join(f"{n} x {k}" for k, n in reasons.items())),
        f"  events                 {events.get('emitted', 0)} emitted, "
        f"{events.get('matched', 0)} matched the rule, {events.get('filtered', 0)} filtered out; "
        f"{events.get('delivered', 0)} deliveries ({events.get('duplicated', 0)} duplicated, "
        f"{events.get('reordered', 0)} held back/reordered)"
        + (f"; {events['lost']} lost (every event of those drains)" if events.get("lost") else ""),
    ]
    if steps:
        out += _stop_action_lines(report)
    out += [_lambda_line(report, name, stats) for name, stats in report.lambdas.items()]
    out += ["", "Invariants"]
    out += [f"  [{'PASS' if i.ok else 'FAIL'}] {i.name}: {i.detail}" for i in report.invariants]
    if logs:
        out += ["", "Handler output", *("  " + line for line in report.record.output)]
    verdict = "OK" if report.ok else "FAILED"
    out += ["", f"Result: {verdict} (simulated in {report.wall_seconds:.1f} s of wall time)"]
    return "\n".join(out)
