"""``--plot``: a picture of a demo run (PNG or SVG, by the file's suffix).

Top panel: one lane per drained task. The wide grey bar is the task's drain window in the
counterfactual run (the same seeded scenario simulated without the terminator: drain start
to STOPPED); above it, the drain window of this run (drain start to STOPPING, then
the shutdown to STOPPED), a marker at our StopTask and a dashed tick at ECS's own deadline
(drain start + the longest deregistration delay). A task of a later wave begins draining
later in the counterfactual run (its predecessors drain until ECS stops them, and draining
tasks count towards maximumPercent): the lane says by how much. Bottom panel: healthy
targets per target group over time, with (solid) and without (dashed) the terminator.

Every time drawn comes from the runs' observation logs or the report (ECS's deadline is the
report's "ECS alone"); nothing is recomputed. :func:`plot_data` extracts it (no matplotlib
needed); :func:`write_plot` draws it, importing matplotlib only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.aws.ecs.model import TERMINATOR_REASON
from sim.engine.observe import Kind, ObservationLog
from sim.judge.report import Report
from sim.output.render import duration_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Lane", "PlotData", "RunWindows", "plot_data", "write_plot"]


@dataclass(frozen=True, slots=True)
class RunWindows:
    """One task's drain in one run (seconds since the deployment started)."""

    drain_start: float
    stop_task: float | None  # our StopTask, if any
    stopping: float | None  # the task reached STOPPING
    stopped: float | None  # the task reached STOPPED


@dataclass(frozen=True, slots=True)
class Lane:
    """One drained task: this run, the counterfactual run, ECS's own deadline."""

    task_id: str
    service: str
    with_terminator: RunWindows | None
    without_terminator: RunWindows | None
    ecs_deadline: float | None
    saved_seconds: float


@dataclass(frozen=True, slots=True)
class PlotData:
    """Everything the picture shows, in seconds since the deployment started."""

    title: str
    lanes: list[Lane]
    #: target group → [(t, healthy targets)] in this run, and in the counterfactual run.
    healthy_with: dict[str, list[tuple[float, int]]]
    healthy_without: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    completed_with: float | None = None
    completed_without: float | None = None
    end: float = 0.0
    baseline: bool = True


def _windows(log: ObservationLog, zero: float) -> dict[str, RunWindows]:
    drains: dict[str, float] = {}
    stops: dict[str, float] = {}
    status: dict[str, dict[str, float]] = {}
    for item in log:
        if item.kind == Kind.ECS_DRAIN:
            drains.setdefault(item.subject, item.at - zero)
        elif item.kind == Kind.ECS_STOP_TASK:
            if str(item.data.get("reason", "")).startswith(TERMINATOR_REASON):
                stops.setdefault(item.subject, item.at - zero)
        elif item.kind == Kind.ECS_TRANSITION:
            last = str(item.data.get("last_status", ""))
            status.setdefault(item.subject, {}).setdefault(last, item.at - zero)
    return {
        arn: RunWindows(
            drain_start=start,
            stop_task=stops.get(arn),
            stopping=status.get(arn, {}).get("STOPPING"),
            stopped=status.get(arn, {}).get("STOPPED"),
        )
        for arn, start in drains.items()
    }


def _healthy(log: ObservationLog, zero: float) -> dict[str, list[tuple[float, int]]]:
    states: dict[str, dict[str, str]] = {}
    series: dict[str, list[tuple[float, int]]] = {}
    for item in log.of_kind(Kind.TARGET_STATE):
        group = str(item.data.get("target_group", "?"))
        targets = states.setdefault(group, {})
        targets[item.subject] = str(item.data.get("state", ""))
        count = sum(1 for state in targets.values() if state == "healthy")
        points = series.setdefault(group, [])
        if points and points[-1][0] == item.at - zero:
            points[-1] = (item.at - zero, count)
        elif not points or points[-1][1] != count:
            points.append((item.at - zero, count))
    return series


def _completed(log: ObservationLog, zero: float) -> float | None:
    done = [item.at - zero for item in log.of_kind(Kind.DEPLOYMENT_COMPLETED)]
    return max(done) if done else None


def plot_data(report: Report) -> PlotData:
    """What :func:`write_plot` draws, from the report and the runs' observation logs."""
    zero = report.deployment_started_at
    with_windows = _windows(report.record.log, zero)
    baseline = report.baseline
    without_windows = _windows(baseline.log, zero) if baseline is not None else {}
    services = {t.arn: t.service.name for s in report.record.services for t in s.tasks}
    if baseline is not None:
        for service in baseline.services:
            for task in service.tasks:
                services.setdefault(task.arn, service.name)
    timelines = {line.task_arn: line for line in report.timelines}
    order = [line.task_arn for line in report.timelines]
    order += sorted(
        (arn for arn in without_windows if arn not in timelines),
        key=lambda arn: (without_windows[arn].drain_start, arn),
    )
    lanes = []
    for arn in order:
        line = timelines.get(arn)
        lanes.append(
            Lane(
                task_id=arn.rsplit("/", 1)[-1],
                service=services.get(arn, "?"),
                with_terminator=with_windows.get(arn),
                without_terminator=without_windows.get(arn),
                ecs_deadline=None if line is None else line.ecs_alone_at - zero,
                saved_seconds=0.0 if line is None else line.saved_seconds,
            )
        )
    summary = report.summary
    title = (
        f'ecs-drain-terminator demo: scenario "{report.scenario}", seed {report.seed}. '
        f"Deployment {duration_text(summary.deployment_seconds)} with the terminator"
    )
    if baseline is not None:
        title += f", {duration_text(summary.baseline_deployment_seconds)} without"
    ends = [report.record.end - zero]
    if baseline is not None:
        ends.append(baseline.end - zero)
    return PlotData(
        title=title,
        lanes=lanes,
        healthy_with=_healthy(report.record.log, zero),
        healthy_without=_healthy(baseline.log, zero) if baseline is not None else {},
        completed_with=_completed(report.record.log, zero),
        completed_without=_completed(baseline.log, zero) if baseline is not None else None,
        end=max(ends),
        baseline=baseline is not None,
    )


# -- drawing ----------------------------------------------------------------------------

_WITHOUT = "#c9ced6"
_DRAINING = "#2b7bba"
_SHUTDOWN = "#9ecae1"
_STOP = "#d62728"
_SAVED = "#7f7f7f"
_DEADLINE = "#222222"
_MINUTE = 60.0


def _lane_end(lane: Lane) -> float:
    times = [lane.ecs_deadline or 0.0]
    for run in (lane.with_terminator, lane.without_terminator):
        if run is not None:
            times += [t for t in (run.drain_start, run.stopping, run.stopped) if t is not None]
    return max(times)


def _lane_start(lane: Lane) -> float:
    runs = [r for r in (lane.with_terminator, lane.without_terminator) if r is not None]
    return min((r.drain_start for r in runs), default=0.0)


def _later_without(lane: Lane) -> str | None:
    """How much later the task's drain began in the counterfactual run (None: not later)."""
    run, base = lane.with_terminator, lane.without_terminator
    if run is None or base is None or base.drain_start - run.drain_start < 1.0:
        return None
    whole = round(base.drain_start - run.drain_start)
    return f"{whole // 60}m{whole % 60:02d}s"


def _bar(axes: Axes, begin: float, end: float, row: tuple[float, float], **style: Any) -> None:
    axes.broken_barh([(begin / _MINUTE, (end - begin) / _MINUTE)], row, **style)


def _draw_lanes(axes: Axes, data: PlotData, right: float) -> None:
    """Per lane: the run with the terminator above, the counterfactual run below."""
    for index, lane in enumerate(data.lanes):
        y = len(data.lanes) - 1 - index  # first drained task on top
        gid = f"lane-{lane.task_id}"
        with_row, without_row = (y + 0.02, 0.36), (y - 0.4, 0.3)
        base = lane.without_terminator
        if base is not None:
            end = base.stopped if base.stopped is not None else right
            _bar(
                axes, base.drain_start, end, without_row, facecolors=_WITHOUT, gid=f"{gid}-without"
            )
            later = _later_without(lane)
            if later is not None:
                axes.text(
                    base.drain_start / _MINUTE - 0.08,
                    without_row[0] + without_row[1] / 2,
                    f"without: drain began {later} later (the previous wave held maximumPercent)",
                    ha="right",
                    va="center",
                    fontsize=8,
                    color="#555555",
                    gid=f"{gid}-later",
                    bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "linewidth": 0},
                )
        run = lane.with_terminator
        if run is not None:
            began = run.stopping if run.stopping is not None else right
            _bar(axes, run.drain_start, began, with_row, facecolors=_DRAINING, gid=f"{gid}-with")
            if run.stopping is not None and run.stopped is not None:
                _bar(axes, run.stopping, run.stopped, with_row, facecolors=_SHUTDOWN)
            if run.stopping is not None and lane.ecs_deadline is not None and lane.saved_seconds:
                _bar(axes, run.stopping, lane.ecs_deadline, with_row, facecolors="none",
                     edgecolors=_SAVED, hatch="///", linewidth=0.6)  # fmt: skip
                middle = (run.stopping + lane.ecs_deadline) / 2
                axes.text(
                    middle / _MINUTE,
                    with_row[0] + with_row[1] / 2,
                    f"saved {lane.saved_seconds:.0f} s",
                    ha="center",
                    va="center",
                    fontsize=9,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "linewidth": 0},
                )
            if run.stop_task is not None:
                axes.plot(
                    [run.stop_task / _MINUTE],
                    [y + 0.43],
                    marker="v",
                    markersize=8,
                    color=_STOP,
                    linestyle="none",
                )
        if lane.ecs_deadline is not None:
            axes.plot(
                [lane.ecs_deadline / _MINUTE] * 2,
                [y - 0.02, y + 0.42],
                color=_DEADLINE,
                linestyle="--",
                linewidth=1.4,
            )
    axes.set_yticks(
        list(range(len(data.lanes))),
        [f"{lane.task_id[:8]} ({lane.service})" for lane in reversed(data.lanes)],
        fontfamily="monospace",
    )
    axes.set_ylim(-0.6, max(len(data.lanes), 1) - 0.4)
    axes.set_title(
        "Drained tasks, one lane per task: with the terminator (upper bar) and without (lower bar)",
        loc="left",
        fontsize=11,
    )
    axes.grid(axis="x", color="#eeeeee")
    if not data.lanes:
        axes.text(0.5, 0.5, "no task drained", transform=axes.transAxes, ha="center")


def _draw_health(axes: Axes, data: PlotData, right: float) -> None:
    from matplotlib.ticker import MaxNLocator

    colors = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    groups = sorted(data.healthy_with.items())
    highest = 1
    for index, (group, points) in enumerate(groups):
        color = colors[index % len(colors)]
        # Groups often hold the same count: earlier ones wider, so every line stays visible.
        width = 2.0 + 2.5 * (len(groups) - 1 - index)
        highest = max(highest, *(n for _, n in points))
        xs = [t / _MINUTE for t, _ in points] + [right / _MINUTE]
        ys = [n for _, n in points] + [points[-1][1]]
        axes.step(xs, ys, where="post", color=color, linewidth=width, label=f"{group}: with")
        before = data.healthy_without.get(group)
        if before:
            xs = [t / _MINUTE for t, _ in before] + [right / _MINUTE]
            ys = [n for _, n in before] + [before[-1][1]]
            axes.step(
                xs, ys, where="post", color=color, linewidth=width * 0.75, linestyle="--",
                label=f"{group}: without",
            )  # fmt: skip
            highest = max(highest, *(n for _, n in before))
    axes.set_ylim(0, highest + 0.5)
    axes.set_ylabel("healthy targets")
    axes.set_title("Healthy targets per target group", loc="left", fontsize=11)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(color="#eeeeee")
    axes.legend(loc="lower right", fontsize=8, ncols=2)


def _mark_completion(axes: Axes, data: PlotData) -> None:
    for at, label, style in (
        (data.completed_with, "deployment complete (with)", "-"),
        (data.completed_without, "deployment complete (without)", ":"),
    ):
        if at is not None:
            axes.axvline(at / _MINUTE, color="#555555", linestyle=style, linewidth=1, label=label)


def write_plot(report: Report, path: Path | str) -> Path:
    """Draw ``report`` into ``path`` (PNG or SVG by its suffix); returns the path."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    target = Path(path)
    data = plot_data(report)
    right = max([data.end, *(_lane_end(lane) for lane in data.lanes)]) + 30.0
    lanes = max(len(data.lanes), 1)
    figure = Figure(figsize=(12, 2.4 + 0.55 * lanes + 1.8), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[max(1.2, 0.55 * lanes), 1.6])
    _draw_lanes(top, data, right)
    for axes in (top, bottom):
        _mark_completion(axes, data)
    _draw_health(bottom, data, right)
    bottom.set_xlabel("minutes since the deployment started")
    bottom.set_xlim(
        min(0.0, *(_lane_start(lane) for lane in data.lanes)) / _MINUTE, right / _MINUTE
    )
    without = "drain window without the terminator (simulated: same seed, terminator disabled)"
    handles = [
        Patch(
            color=_WITHOUT,
            label=without
            if data.baseline
            else "without the terminator: not simulated (--no-baseline)",
        ),
        Patch(color=_DRAINING, label="drain window with the terminator (draining)"),
        Patch(color=_SHUTDOWN, label="with: STOPPING to STOPPED (graceful shutdown)"),
        Patch(facecolor="none", edgecolor=_SAVED, hatch="///", label="time saved"),
        Line2D([], [], marker="v", color=_STOP, linestyle="none", label="our StopTask"),
        Line2D([], [], color=_DEADLINE, linestyle="--", label="ECS's own deadline (delay ends)"),
    ]
    top.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncols=3,
               fontsize=8, frameon=False)  # fmt: skip
    figure.suptitle(data.title, fontsize=12)
    metadata = {"Date": None} if target.suffix.lower() == ".svg" else {}
    figure.savefig(target, dpi=110, metadata=metadata)
    return target
