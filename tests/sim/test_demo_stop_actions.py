"""End to end: the demo in the world where StopTask on a draining task changes only its
reason, for each stop action, through the real handlers (the done-when of stop actions)."""

from __future__ import annotations

import pytest

from sim.aws.ecs.model import ESSENTIAL_CONTAINER_EXITED, WorldRules
from sim.demo import main, parse_args
from sim.judge.report import Report
from sim.output.render import render_text
from sim.scenarios import scenario_named, stop_action_settings, with_stop_action
from sim.simulation import Simulation

_CACHE: dict[tuple[str, str, bool], Report] = {}


def _report(action: str, scenario: str = "fargate", refused: bool = False) -> Report:
    """The demo's run of ``--stoptask-on-draining ignored --stop-action action``."""
    key = (action, scenario, refused)
    if key not in _CACHE:
        _CACHE[key] = Simulation(
            with_stop_action(scenario_named(scenario), action),
            seed=1,
            counterfactual=False,
            world=WorldRules(stoptask_on_draining="ignored", exec_refused_when_stopping=refused),
            settings=stop_action_settings({action}),
        ).run()
    return _CACHE[key]


def test_given_stoptask_ignored_when_stop_task_then_exec_then_every_drain_stops_early() -> None:
    report = _report("stop-task-then-exec")

    assert report.ok, [i for i in report.invariants if not i.ok]
    summary = report.summary
    assert summary.tasks_drained == summary.stopped_early == 4
    assert summary.left_to_ecs == 0
    for line in report.timelines:
        assert [step for _, step in line.actions] == ["stop-task", "exec"]
        assert line.stopped_with == "exec"
        assert line.stop_code == ESSENTIAL_CONTAINER_EXITED
        assert line.signalled_at is not None
        # Never before the deadline; escalated ESCALATE_AFTER_SECONDS (20) after StopTask.
        deadline = line.drain_started_at + line.wait_seconds
        assert deadline <= line.actions[0][0] <= line.actions[1][0] - 20.0
        assert line.signalled_at < line.ecs_alone_at
    assert report.record.sessions["left_open"] == 0
    assert report.record.sessions["opened"] == 4
    body = report.to_dict()
    assert body["world"]["stoptask_on_draining"] == "ignored"
    assert body["exec_sessions"]["left_open"] == 0
    assert body["tasks"][0]["stopped_with"] == "exec"


def test_given_stoptask_ignored_when_the_action_is_stop_task_then_every_drain_is_unconfirmed() -> (
    None
):
    report = _report("stop-task")

    assert report.ok, [i for i in report.invariants if not i.ok]
    assert report.summary.stopped_early == 0
    assert report.summary.left_to_ecs == 4
    for line in report.timelines:
        assert line.unconfirmed
        assert line.stopped_by == "ecs"
        assert line.left_to_ecs_because == "stop-task had no effect in this world (unconfirmed)"
    assert report.metrics["StopsUnconfirmed"] == 4  # the alarm
    text = render_text(report)
    assert "4 x web: stop-task had no effect in this world (unconfirmed)" in text
    assert "4 left to ECS because no step of their action takes effect" in text


def test_given_stoptask_ignored_when_the_action_is_exec_then_exec_alone_stops_every_drain() -> None:
    report = _report("exec")

    assert report.ok, [i for i in report.invariants if not i.ok]
    assert report.summary.stopped_early == 4
    assert all(line.stopped_with == "exec" for line in report.timelines)
    assert all(step == "exec" for line in report.timelines for _, step in line.actions)


def test_given_ec2_tasks_when_the_action_is_ssm_signal_then_run_command_stops_every_drain() -> None:
    report = _report("ssm-signal", scenario="bridge")

    assert report.ok, [i for i in report.invariants if not i.ok]
    assert report.summary.stopped_early == report.summary.tasks_drained > 0
    assert all(line.stopped_with == "ssm-signal" for line in report.timelines)
    assert report.record.sessions["opened"] == 0  # no ECS Exec session


def test_given_ecs_refuses_exec_on_stopping_tasks_when_stop_task_then_exec_then_left_to_ecs() -> (
    None
):
    report = _report("stop-task-then-exec", refused=True)

    assert report.ok, [i for i in report.invariants if not i.ok]
    assert report.summary.stopped_early == 0
    reported = report.metrics.get("StopsFailed", 0) + report.metrics.get("StopsUnconfirmed", 0)
    assert reported >= 4
    assert report.record.sessions["opened"] == 0


def test_given_exec_refused_without_the_ignored_world_when_parsed_then_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--exec-refused-when-stopping"])

    assert exited.value.code == 2
    assert "only with --stoptask-on-draining ignored" in capsys.readouterr().err


def test_given_an_unknown_stop_action_when_parsed_then_exit_2() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--stop-action", "kill-9"])

    assert exited.value.code == 2
