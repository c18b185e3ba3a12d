"""Human-readable output of a :class:`sim.judge.report.Report`."""

from __future__ import annotations

from sim.aws.ecs.events import iso_s
from sim.judge.report import Report, TaskTimeline

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
        groups = ", ".join(
            f"{g.name} (deregistration delay {g.deregistration_delay} s)"
            for g in spec.target_groups
        )
        opt = (
            f"opted in, wait-seconds {record.wait_seconds(service)}"
            if record.opted_in(service)
            else "NOT opted in (no tags)"
        )
        lines.append(
            f"  service {spec.name}: {spec.launch_type}/{spec.network_mode}, "
            f"{spec.desired_count} tasks, min {spec.min_healthy_percent}% / "
            f"max {spec.max_percent}%; {groups}; {opt}"
        )
    return lines


def _row(line: TaskTimeline, zero: float) -> str:
    ours = _clock(line.terminator_stop_at - zero) if line.terminator_stop_at else "-"
    stopped = _clock(line.stopped_at - zero) if line.stopped_at else "-"
    saved = f"{line.saved_seconds:.0f} s" if line.stopped_by == "terminator" else "-"
    return (
        f"  {line.task_id[:8]}  {line.service:<8} {_clock(line.drain_started_at - zero):>11}"
        f"  {ours:>12}  {_clock(line.ecs_alone_at - zero):>9}  {stopped:>8}  {saved:>6}"
        f"  {line.stop_code or '-'}: {line.stopped_reason or '-'}"
    )


def render_text(report: Report, *, logs: bool = False) -> str:
    """The demo's text output."""
    zero = report.deployment_started_at
    clock = "real-time clock" if report.real_time else "virtual clock"
    out = [
        f'ecs-drain-terminator demo: scenario "{report.scenario}", seed {report.seed}, {clock}',
        f"  {report.description}",
        *_service_lines(report),
        "",
        f"Timeline per drained task (T = deployment start, {iso_s(zero)})",
        f"  {'task':<8}  {'service':<8} {'drain start':>11}  {'our StopTask':>12}  "
        f"{'ECS alone':>9}  {'stopped':>8}  {'saved':>6}  stop code: reason",
    ]
    out += [_row(line, zero) for line in report.timelines] or ["  (no task drained)"]
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
        f"  deployment duration    {duration_text(summary.deployment_seconds)} with the terminator",
        f"                         {duration_text(summary.baseline_deployment_seconds)} without "
        f"({summary.baseline_method})",
        *(
            f"    service {name:<14} {duration_text(seconds)} with, "
            f"{duration_text(summary.baseline_seconds_by_service.get(name))} without"
            for name, seconds in summary.deployment_seconds_by_service.items()
            if len(summary.deployment_seconds_by_service) > 1
        ),
        "  left to ECS            "
        + ("none" if not reasons else "; ".join(f"{n} x {k}" for k, n in reasons.items())),
        f"  events                 {events.get('emitted', 0)} emitted, "
        f"{events.get('matched', 0)} matched the rule, {events.get('filtered', 0)} filtered out; "
        f"{events.get('delivered', 0)} deliveries ({events.get('duplicated', 0)} duplicated, "
        f"{events.get('reordered', 0)} held back/reordered)",
    ]
    for name, stats in report.lambdas.items():
        detail = ", ".join(f"{k} {v}" for k, v in stats.items() if k != "invocations")
        short = name.removeprefix("ecs-drain-terminator-")
        out.append(f"  lambda {short:<15} {stats['invocations']} invocations ({detail})")
    out += ["", "Invariants"]
    out += [f"  [{'PASS' if i.ok else 'FAIL'}] {i.name}: {i.detail}" for i in report.invariants]
    if logs:
        out += ["", "Handler output", *("  " + line for line in report.record.output)]
    verdict = "OK" if report.ok else "FAILED"
    out += ["", f"Result: {verdict} (simulated in {report.wall_seconds:.1f} s of wall time)"]
    return "\n".join(out)
