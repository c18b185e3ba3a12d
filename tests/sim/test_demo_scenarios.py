"""End to end: each demo scenario through the real handlers, invariants and savings."""

from __future__ import annotations

import json

import pytest

from sim.aws.embedded import AwsCall, Reply
from sim.demo import main
from sim.judge.report import Report
from sim.scenarios import SCENARIOS, scenario_named
from sim.simulation import Simulation

_CACHE: dict[str, Report] = {}


def _report(name: str) -> Report:
    if name not in _CACHE:
        _CACHE[name] = Simulation(
            scenario_named(name), seed=1, counterfactual=name == "fargate"
        ).run()
    return _CACHE[name]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_given_a_scenario_when_run_through_the_real_handlers_then_every_invariant_holds(
    name: str,
) -> None:
    report = _report(name)

    assert report.ok, [i for i in report.invariants if not i.ok]
    assert report.summary.tasks_drained > 0


def test_given_the_default_scenario_when_run_then_old_tasks_stop_wait_seconds_after_drain() -> None:
    report = _report("fargate")

    assert report.summary.tasks_drained == 4
    assert report.summary.stopped_early == 4
    for line in report.timelines:
        assert line.terminator_stop_at is not None
        assert 120.0 <= line.terminator_stop_at - line.drain_started_at <= 130.0
        assert line.ecs_alone_at - line.drain_started_at == pytest.approx(300.0)
        assert line.saved_seconds == pytest.approx(180.0, abs=10.0)
        assert line.stop_code == "UserInitiated"
        assert line.stopped_reason
        assert line.stopped_reason.startswith("drain-terminator")
        assert line.stop_calls == 1
    summary = report.summary
    assert summary.deployment_seconds is not None
    assert summary.baseline_deployment_seconds is not None
    assert summary.baseline_deployment_seconds - summary.deployment_seconds > 300.0


def test_given_an_untagged_service_when_it_deploys_then_the_terminator_leaves_it_to_ecs() -> None:
    report = _report("not-opted-in")

    legacy = [t for t in report.timelines if t.service == "legacy"]
    web = [t for t in report.timelines if t.service == "web"]
    assert len(legacy) == 4
    assert all(t.stop_calls == 0 and t.stopped_by == "ecs" for t in legacy)
    assert all(t.left_to_ecs_because == "service did not opt in" for t in legacy)
    assert all(t.stopped_by == "terminator" for t in web)


def test_given_duplicated_and_reordered_deliveries_when_run_then_each_task_is_stopped_once() -> (
    None
):
    report = _report("duplicates")

    assert report.events["duplicated"] > 0
    assert report.events["reordered"] > 0
    assert all(t.stop_calls == 1 for t in report.timelines)


def test_given_two_target_groups_when_run_then_drains_go_through_deactivating_and_save_more() -> (
    None
):
    report = _report("two-target-groups")

    transitions = report.record.log.of_kind("ecs.transition")
    assert any(o.data["last_status"] == "DEACTIVATING" for o in transitions)
    assert all(t.saved_seconds == pytest.approx(480.0, abs=10.0) for t in report.timelines)


def test_given_a_scale_in_when_run_then_the_surplus_is_stopped_early() -> None:
    report = _report("scale-in")

    assert report.summary.tasks_drained == 4
    assert report.summary.stopped_early == 4
    service = report.record.services[0]
    assert sum(1 for t in service.tasks if t.live) == 2


def test_given_a_bridge_service_when_run_then_ec2_tasks_are_stopped_early() -> None:
    report = _report("bridge")

    assert report.record.services[0].spec.launch_type == "EC2"
    assert report.summary.stopped_early == 4
    assert all(t.wait_seconds == 90 for t in report.timelines)


def test_given_stop_task_always_denied_when_run_then_an_invariant_fails_and_ok_is_false() -> None:
    def deny(call: AwsCall) -> Reply | None:
        if call.operation == "StopTask":
            return Reply.error(call.service, "AccessDeniedException", "not allowed")
        return None

    report = Simulation(
        scenario_named("scale-in"), seed=1, counterfactual=False, aws_hooks=[deny]
    ).run()

    assert not report.ok
    failed = {i.name for i in report.invariants if not i.ok}
    assert "every opted-in drain stopped" in failed
    assert all(t.stopped_by == "ecs" for t in report.timelines)


def test_given_the_cli_when_asked_for_json_then_it_is_deterministic_and_exits_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outputs = []
    for _ in range(2):
        status = main(["--scenario", "scale-in", "--seed", "3", "--json", "--no-baseline"])
        assert status == 0
        body = json.loads(capsys.readouterr().out)
        body.pop("wall_seconds")
        outputs.append(body)

    assert outputs[0] == outputs[1]
    assert outputs[0]["ok"] is True
    assert outputs[0]["summary"]["stopped_early"] == 4


def test_given_the_cli_when_run_as_text_then_it_shows_timeline_summary_and_invariants(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["--scenario", "scale-in", "--no-baseline"])

    out = capsys.readouterr().out
    assert status == 0
    assert "Timeline per drained task" in out
    assert "Summary" in out
    assert "[PASS] no task stopped early" in out


@pytest.mark.parametrize("early_start", [True, False])
def test_given_schedule_firing_anywhere_in_its_minute_when_wait_is_short_then_early_run_needed(
    early_start: bool,
) -> None:
    """A 60 s wait with a jittery schedule: only the early sweeper start meets the deadlines."""
    settings = {} if early_start else {"early_start_below_seconds": 0}
    report = Simulation(
        scenario_named("scale-in"),
        seed=3,
        counterfactual=False,
        schedule_jitter_seconds=60,
        settings=settings,
    ).run()
    timely = [
        t.terminator_stop_at is not None
        and t.terminator_stop_at - (t.drain_started_at + t.wait_seconds) <= 1.0
        for t in report.timelines
    ]
    assert len(timely) == 4
    assert all(timely) is early_start
    assert report.ok is early_start


# -- every other way ECS drains a service task -------------------------------------------


def _stops(report: Report) -> list[str]:
    return [o.subject for o in report.record.log.of_kind("ecs.stop_task")]


def _groups_of(report: Report, arn: str) -> set[str]:
    return {
        str(o.data["target_group"])
        for o in report.record.log.of_kind("elb.target_state")
        if o.subject == arn
    }


@pytest.mark.parametrize(
    ("name", "old_group", "cause"),
    [
        ("blue-green", "shop-blue", "blue-green"),
        ("codedeploy", "checkout-blue", "task-set"),
        ("external-task-sets", "stream-a", "task-set"),
    ],
)
def test_given_another_controller_when_it_deploys_then_old_tasks_drain_from_their_own_group(
    name: str, old_group: str, cause: str
) -> None:
    report = _report(name)

    assert report.summary.tasks_drained == 4
    assert report.summary.stopped_early == 4
    for line in report.timelines:
        assert line.cause == cause
        assert _groups_of(report, line.task_arn) == {old_group}
        assert line.stop_calls == 1
    serving = report.record.log.of_kind("elb.serving")
    assert serving  # traffic moved to the new group before the old tasks drained
    assert serving[0].at < min(line.drain_started_at for line in report.timelines)


def test_given_a_draining_instance_when_run_then_bridge_awsvpc_and_old_arn_tasks_stop_early() -> (
    None
):
    report = _report("instance-drain")

    assert {t.service for t in report.timelines} == {"api", "worker"}
    assert all(t.cause == "instance-drain" for t in report.timelines)
    assert report.summary.stopped_early == 4
    old_format = [t for t in report.timelines if t.task_arn.count("/") == 1]
    assert old_format  # task/<id>: started before the account enabled long ARNs
    assert all(t.stopped_by == "terminator" for t in old_format)


def test_given_a_spot_interruption_when_run_then_no_stop_task_is_sent() -> None:
    report = _report("spot-interruption")

    assert report.summary.tasks_drained == 2
    assert all(t.cause == "spot-interruption" for t in report.timelines)
    assert not _stops(report)
    assert any(i.name == "no StopTask without a drain" and i.ok for i in report.invariants)


def test_given_a_service_without_a_target_group_when_it_deploys_then_no_elb_call_is_made() -> None:
    report = _report("no-target-group")

    assert report.summary.tasks_drained == 4
    assert not _stops(report)
    assert report.record.elb_calls_by_functions() == 0
    names = {i.name for i in report.invariants}
    assert {"no ELB call without a load balancer", "no StopTask without a drain"} <= names


def test_given_tasks_failing_health_checks_when_run_then_both_are_stopped_early_by_default() -> (
    None
):
    report = _report("unhealthy-replacement")

    assert [t.cause for t in report.timelines] == ["unhealthy", "unhealthy"]
    assert all(t.stopped_reason and t.stopped_by == "terminator" for t in report.timelines)


def test_given_drains_whose_every_event_is_lost_when_run_then_the_backstop_stops_them_early() -> (
    None
):
    report = _report("lost-events")

    lost = [t for t in report.timelines if t.events_lost]
    assert lost
    for line in lost:
        assert line.terminator_stop_at is not None
        assert line.terminator_stop_at >= line.drain_started_at + line.wait_seconds
        assert line.stopped_by == "terminator"
        assert line.stop_began_at is not None
        assert line.stop_began_at < line.ecs_alone_at
    assert report.events["lost"] > 0
