"""``--plot``: what the picture holds comes from the run's report and observation logs."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sim import demo
from sim.engine.observe import Kind
from sim.judge.report import Report
from sim.output.plot import plot_data, write_plot
from sim.scenarios import scenario_named
from sim.simulation import Simulation

_REPORTS: dict[tuple[str, bool], Report] = {}


def _report(name: str = "fargate", *, baseline: bool = True) -> Report:
    key = (name, baseline)
    if key not in _REPORTS:
        _REPORTS[key] = Simulation(scenario_named(name), seed=1, counterfactual=baseline).run()
    return _REPORTS[key]


def _svg_ids(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    return [element.get("id", "") for element in root.iter()]


def test_given_a_run_when_extracted_then_one_lane_per_drained_task_with_the_logged_times() -> None:
    report = _report()
    zero = report.deployment_started_at

    data = plot_data(report)

    assert [lane.task_id for lane in data.lanes] == [
        line.task_arn.rsplit("/", 1)[-1] for line in report.timelines
    ]
    for lane, line in zip(data.lanes, report.timelines, strict=True):
        ours = lane.with_terminator
        assert ours is not None
        assert ours.drain_start == pytest.approx(line.drain_started_at - zero)
        assert line.terminator_stop_at is not None
        assert ours.stop_task == pytest.approx(line.terminator_stop_at - zero)
        assert line.stop_began_at is not None
        assert ours.stopping == pytest.approx(line.stop_began_at - zero)
        assert ours.stopped is not None
        assert line.stopped_at is not None
        assert ours.stopped == pytest.approx(line.stopped_at - zero)
        assert lane.ecs_deadline == pytest.approx(line.ecs_alone_at - zero)
        assert lane.saved_seconds == line.saved_seconds > 0


def test_given_the_counterfactual_run_when_extracted_then_ecs_alone_ends_each_drain() -> None:
    report = _report()
    assert report.baseline is not None
    zero = report.deployment_started_at
    stopped = {
        o.subject.rsplit("/", 1)[-1]: o.at - zero
        for o in report.baseline.log.of_kind(Kind.ECS_TRANSITION)
        if o.data.get("last_status") == "STOPPED"
    }

    data = plot_data(report)

    for lane in data.lanes:
        without, with_ = lane.without_terminator, lane.with_terminator
        assert without is not None
        assert with_ is not None
        assert without.stop_task is None  # nobody called StopTask in that run
        assert without.stopping is not None
        # ECS itself began stopping the task when its deregistration delay ended.
        assert without.stopping - without.drain_start == pytest.approx(300.0)
        assert without.stopped is not None
        assert with_.stopped is not None
        assert without.stopped > with_.stopped
        assert without.stopped == pytest.approx(stopped[lane.task_id])
    assert data.completed_with is not None
    assert data.completed_without is not None
    assert data.completed_without > data.completed_with
    assert report.summary.baseline_deployment_seconds is not None
    assert "without" in data.title


def test_given_a_run_when_extracted_then_healthy_targets_follow_the_target_state_log() -> None:
    report = _report("two-target-groups")

    data = plot_data(report)

    groups = {tg.name for s in report.record.scenario.services for tg in s.target_groups}
    assert set(data.healthy_with) == groups
    assert set(data.healthy_without) == groups
    for series in (*data.healthy_with.values(), *data.healthy_without.values()):
        times = [t for t, _ in series]
        assert times == sorted(times)
        assert all(count >= 0 for _, count in series)
        desired = report.record.services[0].desired_count
        # the old tasks start healthy, the replacements end healthy
        assert series[0] == (pytest.approx(-report.deployment_started_at + report.start), desired)
        assert series[-1][1] == desired


def test_given_svg_when_written_then_it_parses_with_one_lane_group_per_task(tmp_path: Path) -> None:
    report = _report()
    target = tmp_path / "run.svg"

    write_plot(report, target)

    ids = _svg_ids(target)
    tasks = [line.task_arn.rsplit("/", 1)[-1] for line in report.timelines]
    assert sorted(i for i in ids if i.endswith("-with")) == sorted(f"lane-{t}-with" for t in tasks)
    assert sorted(i for i in ids if i.endswith("-without")) == sorted(
        f"lane-{t}-without" for t in tasks
    )
    text = target.read_text()
    for label in ("our StopTask", "ECS", "healthy targets", "time saved"):
        assert label in text


def test_given_png_when_written_then_a_real_image_of_readable_size(tmp_path: Path) -> None:
    target = tmp_path / "run.png"

    write_plot(_report(), target)

    head = target.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width >= 1000
    assert height >= 500
    assert target.stat().st_size > 20_000


def test_given_no_baseline_when_plotted_then_lanes_have_no_counterfactual(tmp_path: Path) -> None:
    report = _report("scale-in", baseline=False)
    target = tmp_path / "run.svg"

    write_plot(report, target)

    data = plot_data(report)
    assert data.lanes
    assert all(lane.without_terminator is None for lane in data.lanes)
    assert data.healthy_without == {}
    ids = _svg_ids(target)
    assert sum(i.endswith("-with") for i in ids) == len(report.timelines)
    assert not any(i.endswith("-without") for i in ids)


def test_given_the_cli_when_plot_and_output_then_both_files_are_written(tmp_path: Path) -> None:
    picture, text = tmp_path / "run.png", tmp_path / "run.txt"

    status = demo.main(
        ["--scenario", "scale-in", "--no-baseline", "--plot", str(picture), "--output", str(text)]
    )

    assert status == 0
    assert picture.read_bytes()[:4] == b"\x89PNG"
    assert "Timeline per drained task" in text.read_text()


def test_given_later_waves_without_when_plotted_then_their_lanes_say_how_much_later(
    tmp_path: Path,
) -> None:
    report = _report()
    target = tmp_path / "run.svg"

    write_plot(report, target)

    later = {
        line.task_arn.rsplit("/", 1)[-1]
        for line in report.timelines
        if line.baseline_drain_started_at is not None
        and line.baseline_drain_started_at - line.drain_started_at >= 1.0
    }
    assert later
    ids = _svg_ids(target)
    assert {
        i.removeprefix("lane-").removesuffix("-later") for i in ids if i.endswith("-later")
    } == (later)
    assert "drain began 3m00s later" in target.read_text()


def test_given_no_baseline_when_plotted_then_the_legend_says_it_was_skipped(
    tmp_path: Path,
) -> None:
    target = tmp_path / "run.svg"

    write_plot(_report("scale-in", baseline=False), target)

    text = target.read_text()
    assert "without the terminator: not simulated" in text  # SVG comments escape the "--"
    assert "-later" not in text
