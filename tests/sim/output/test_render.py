"""The demo's text says what a newcomer needs: why invocations were throttled, why the
counterfactual run's later waves start later, and that --no-baseline only skips a run."""

from __future__ import annotations

import functools

from sim.judge.report import Report
from sim.output.render import render_text
from sim.scenarios import scenario_named
from sim.simulation import SWEEPER_NAME, Simulation
from sim.terraform import variable_default


@functools.cache
def _report(name: str, *, baseline: bool, sweeper: int | str | None = "module") -> Report:
    return Simulation(
        scenario_named(name),
        seed=1,
        counterfactual=baseline,
        sweeper_concurrency=sweeper,  # type: ignore[arg-type]
    ).run()


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def test_given_the_module_defaults_when_runs_overlap_then_the_text_says_why_it_was_throttled() -> (
    None
):
    report = _report("scale-in", baseline=False)

    # The module reserves the sweeper's variable, plus one slot for the backstop's run.
    reserved = variable_default("sweeper_reserved_concurrency") + 1
    throttled = report.lambdas[SWEEPER_NAME]["throttled"]
    assert report.reserved_concurrency[SWEEPER_NAME] == reserved == 3
    assert throttled > 0  # four drains due together: early starts find every slot busy
    line = _line(render_text(report), "  lambda sweeper")
    assert (
        f"; reserved concurrency 3 (the module's default): {throttled} attempts throttled, "
        "all 3 slots being busy; Lambda retried each"
    ) in line


def test_given_an_unreserved_sweeper_when_run_then_the_text_says_it_was_never_throttled() -> None:
    report = _report("scale-in", baseline=False, sweeper=None)

    assert report.reserved_concurrency[SWEEPER_NAME] is None
    assert report.lambdas[SWEEPER_NAME]["throttled"] == 0
    line = _line(render_text(report), "  lambda sweeper")
    assert line.endswith("; concurrency unreserved, never throttled")
    task_events = _line(render_text(report), "  lambda task-events")
    assert task_events.endswith("; concurrency unreserved (the module's default), never throttled")


def test_given_no_baseline_when_rendered_then_the_comparison_reads_as_skipped_not_failed() -> None:
    text = render_text(_report("scale-in", baseline=False))

    assert "without the terminator: not simulated (--no-baseline)" in text
    assert "did not complete" not in text
    assert "later waves" not in text
    assert text.rstrip().splitlines()[-1].startswith("Result: OK")


def test_given_a_rolling_deployment_when_rendered_then_the_later_waves_without_are_explained() -> (
    None
):
    report = _report("fargate", baseline=True)

    later = [
        line
        for line in report.timelines
        if line.baseline_drain_started_at is not None
        and line.baseline_drain_started_at > line.drain_started_at + 60
    ]
    same = [
        line for line in report.timelines if line.baseline_drain_started_at == line.drain_started_at
    ]
    assert later  # the second wave waits for the first to be stopped by ECS itself
    assert same  # the first wave drains at the same moment in both runs
    assert len(later) + len(same) == len(report.timelines)
    line = _line(render_text(report), "  later waves")
    assert (
        f"without the terminator, {len(later)} of {len(report.timelines)} drains began later"
        in (line)
    )
    assert "maximumPercent" in line
