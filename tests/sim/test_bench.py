"""``make bench``: the burst world and the figures counted from its witness log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.bench import BenchResult, format_result, main, run_bench
from sim.scenarios import WAIT_SECONDS, burst_scenario
from sim.terraform import variable_default


def test_given_50_drains_due_at_once_when_benched_then_each_stopped_once_and_none_early() -> None:
    result = run_bench(50, 1)

    assert result.stopped_by_terminator == 50
    assert (result.premature, result.double_stops, result.left_to_ecs) == (0, 0, 0)
    assert result.sweeper_timeouts == 0
    assert result.first_stop is not None
    assert result.first_stop >= 0.0
    assert result.lateness_p99 is not None
    assert result.lateness_p99 <= 2.0
    assert result.calls_per_drain["ecs.StopTask"] == 1.0
    assert result.write_units_per_drain > 0
    assert result.read_units_per_drain > 0


def test_given_a_short_deregistration_delay_when_benched_then_ecs_stops_what_the_rate_left() -> (
    None
):
    # 200 drains; ECS stops each task 2 s after its deadline: the burst of 100 and at most
    # 2 s at 40/s (180 in all) go out first, the rest is left to ECS.
    result = run_bench(200, 2, deregistration_delay=WAIT_SECONDS + 2)

    assert result.deregistration_delay == WAIT_SECONDS + 2
    assert result.stopped_by_terminator + result.left_to_ecs == 200
    assert 100 <= result.stopped_by_terminator <= 180
    assert result.last_stop is not None
    assert result.last_stop <= 2.5
    assert (result.premature, result.double_stops) == (0, 0)


def test_given_drains_over_two_accounts_when_benched_then_each_paced_by_its_own_bucket() -> None:
    # 150 drains in the hub's account, 150 in a member's: each account's floor is
    # (150 - 100) / 40 = 1.25 s; one shared bucket would make it (300 - 100) / 40 = 5 s.
    result = run_bench(300, 2, accounts=2)

    assert result.accounts == 2
    assert result.stopped_by_terminator == 300
    assert (result.premature, result.double_stops, result.left_to_ecs) == (0, 0, 0)
    assert {a: f["drains"] for a, f in result.per_account.items()} == {
        "hub": 150,
        "200000000001": 150,
    }
    assert result.accounts_over_floor == 0
    assert result.last_stop is not None
    assert result.last_stop < 5.0 - 1.0
    assert result.calls_per_drain["sts.AssumeRole"] > 0  # the member's calls: its role


def test_given_services_when_the_burst_world_is_built_then_drains_split_and_delay_applied() -> None:
    scenario = burst_scenario(250, 3, deregistration_delay=900)
    counts = sorted(spec.desired_count for spec in scenario.services)
    assert counts == [83, 83, 84]
    delays = {tg.deregistration_delay for spec in scenario.services for tg in spec.target_groups}
    assert delays == {900}
    with pytest.raises(ValueError, match="at least 1"):
        burst_scenario(0, 1)


def test_given_accounts_when_the_burst_world_is_built_then_services_dealt_out_over_them() -> None:
    scenario = burst_scenario(10, 5, accounts=3)
    members = ("200000000001", "200000000002")
    assert scenario.member_accounts == members
    assert [spec.account for spec in scenario.services] == ["", *members, "", members[0]]
    # Fewer services than accounts: one service per account at least.
    assert len(burst_scenario(20, 1, accounts=4).services) == 4


@pytest.mark.parametrize("delay", ["120", "3601"])
def test_given_a_delay_outside_the_range_when_run_then_a_usage_error(
    delay: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--drains", "1", "--deregistration-delay", delay])
    assert exit_info.value.code == 2
    assert "--deregistration-delay must be from 121 to 3600" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--stop-action", "kill-9"], "argument --stop-action: invalid choice: 'kill-9'"),
        (["--stoptask-on-draining", "maybe"], "argument --stoptask-on-draining: invalid"),
    ],
)
def test_given_an_unknown_action_or_world_when_run_then_a_usage_error(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--drains", "1", *argv])
    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err


def test_given_a_saved_run_when_read_back_then_the_same_figures(tmp_path: Path) -> None:
    assert main(["--drains", "1", "--save", str(tmp_path), "--json"]) == 0
    saved = BenchResult.from_dict(json.loads((tmp_path / "bench-1.json").read_text()))
    assert saved.drains == 1
    assert saved.stopped_by_terminator == 1
    assert saved.deregistration_delay == 300
    assert len(saved.stop_times) == 1


def test_given_a_sweeper_concurrency_when_benched_then_the_result_records_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--drains", "1", "--sweeper-concurrency", "unreserved", "--json"]) == 0
    (unreserved,) = json.loads(capsys.readouterr().out)
    assert main(["--drains", "1", "--json"]) == 0
    (default,) = json.loads(capsys.readouterr().out)

    assert unreserved["sweeper_concurrency"] is None
    assert unreserved["sweeper_throttles"] == 0
    # The module's default: the variable plus the backstop's slot (terraform/functions.tf).
    assert default["sweeper_concurrency"] == variable_default("sweeper_reserved_concurrency") + 1
    for result in (unreserved, default):
        assert 1 <= result["sweeper_peak_concurrency"] <= result["sweeper_runs"]


@pytest.mark.parametrize(
    ("action", "stopped_with", "sessions"),
    [("stop-task", None, 0), ("exec", "exec", 10), ("stop-task-then-exec", "exec", 10)],
)
def test_given_the_ignored_world_when_an_action_is_benched_then_its_row_says_how_it_stopped(
    action: str, stopped_with: str | None, sessions: int
) -> None:
    result = run_bench(10, 1, stoptask_on_draining="ignored", stop_action=action)

    assert (result.stoptask_on_draining, result.stop_action) == ("ignored", action)
    assert (result.premature, result.double_stops, result.sessions_left_open) == (0, 0, 0)
    assert result.sessions_opened == sessions
    if stopped_with is None:  # StopTask alone changes nothing there
        assert (result.stopped_by_terminator, result.unconfirmed, result.left_to_ecs) == (0, 10, 10)
        assert result.signal_p50 is None
        return
    assert result.stopped_with == {stopped_with: 10}
    assert result.signal_p50 is not None
    assert result.signal_p99 is not None
    assert 0.0 < result.signal_p50 <= result.signal_p99
    assert result.calls_per_drain["ecs.ExecuteCommand"] == 1.0
    assert result.signal_calls_per_drain >= 1.0
    if action == "stop-task-then-exec":  # escalated 20 s after the ignored StopTask
        assert result.signal_p50 >= 20.0


def test_given_ssm_signal_when_benched_then_ec2_tasks_are_signalled_through_run_command() -> None:
    result = run_bench(10, 1, stoptask_on_draining="ignored", stop_action="ssm-signal")

    assert result.launch_type == "EC2"
    assert result.stopped_with == {"ssm-signal": 10}
    assert result.sessions_opened == 0
    assert result.calls_per_drain["ssm.SendCommand"] == 1.0
    assert "ssm-signal on EC2" in format_result(result)
