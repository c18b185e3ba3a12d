"""The chaos suite's judge and determinism: forged witness logs are counted, seeds replay.

Apart from tests/sim/test_chaos.py (the campaign), so pytest-xdist's ``--dist loadfile``
runs these on another worker while the campaign runs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sim.aws.ecs.model import Task
from sim.chaos import ChaosConfig, ChaosResult, case_world, chaos_scenario, judge, run_case
from sim.engine.observe import Kind, ObservationLog
from sim.judge.report import RunRecord
from sim.simulation import Simulation

#: A case without faults or operators, whose witness log the tests below forge: a plain
#: service (stopped by the terminator) and a dry-run one, 1.7 s of CPU. (Seed 5 with 8
#: services took 13.5 s: its min-healthy service is re-checked over 40 minutes.)
QUIET = ChaosConfig(seed=7, services=4, throttle_rate=0.0, kill_rate=0.0, operator_rate=0.0)


@pytest.fixture(scope="module")
def quiet_world() -> tuple[RunRecord, dict[str, str]]:
    """One run of :data:`QUIET` for every forging test (each gets its own log, see below)."""
    scenario, kinds = chaos_scenario(QUIET)
    record = Simulation(scenario, seed=QUIET.seed, counterfactual=False).run_once()
    return record, kinds


@pytest.fixture
def quiet_case(
    quiet_world: tuple[RunRecord, dict[str, str]],
) -> tuple[ChaosConfig, RunRecord, dict[str, str]]:
    """The quiet run with a copy of its witness log, so one test's forgeries stay its own."""
    record, kinds = quiet_world
    log = ObservationLog()
    for observation in record.log:
        log.record(observation.at, observation.kind, observation.subject, **observation.data)
    return QUIET, replace(record, log=log), kinds


def test_given_forged_operator_changes_in_the_witness_log_when_judged_then_counted(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]],
) -> None:
    """The new counts can fail: stops after a forged opt-out or raised wait are caught."""
    config, record, kinds = quiet_case
    assert judge(record, kinds, config).ok
    stops = [
        o
        for o in record.log.of_kind(Kind.ECS_STOP_TASK)
        if str(o.data["reason"]).startswith("drain-terminator")
    ]
    service = str(stops[0].data["service"])
    stop = [o for o in stops if o.data["service"] == service][-1]  # no stop of it comes later
    tags = dict(next(s for s in record.services if s.name == service).spec.tags)

    def forge(at: float, **changes: str) -> None:
        record.log.record(
            at,
            Kind.OPERATOR,
            "arn:forged",
            service=service,
            action="tag",
            tags={**tags, **{f"drain-terminator:{k}": v for k, v in changes.items()}},
        )

    forge(stop.at - config.staleness_seconds + 1.0, enabled="false")  # too recent: allowed
    assert judge(record, kinds, config).stops_after_opt_out == 0
    forge(stop.at - config.staleness_seconds - 1.0, **{"wait-seconds": "3000"})
    raised = judge(record, kinds, config)
    assert raised.stops_before_raised_wait >= 1
    forge(stop.at - config.staleness_seconds - 0.5, enabled="false")
    assert judge(record, kinds, config).stops_after_opt_out >= 1


def test_given_forged_stops_in_the_witness_log_when_judged_then_each_is_counted(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]],
) -> None:
    """The verdict can fail: stops that break the rules are caught by the judge."""
    config, record, kinds = quiet_case
    clean = judge(record, kinds, config)
    assert clean.ok
    tasks = [t for s in record.services for t in s.tasks if t.drain_started_at is not None]
    stoppable = next(t for t in tasks if kinds[t.service.name] in {"plain", "invalid-wait"})
    assert stoppable.drain_started_at is not None

    def forge(task: Task, at: float, draining: bool = True) -> None:
        record.log.record(
            at,
            Kind.ECS_STOP_TASK,
            task.arn,
            service=task.service.name,
            reason="drain-terminator: forged",
            last_status="DEACTIVATING",
            desired_status="STOPPED",
            draining=draining,
        )

    forge(stoppable, stoppable.drain_started_at + 1.0)  # before the wait: premature, and twice
    forged = judge(record, kinds, config)
    assert forged.premature_stops == 1
    assert forged.stopped_more_than_once == 1
    forge(stoppable, stoppable.drain_started_at + 500.0, draining=False)
    assert judge(record, kinds, config).forbidden_stops == 1


def test_given_forged_signal_steps_in_the_witness_log_when_judged_then_each_is_counted(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]],
) -> None:
    """Exec and ssm-signal steps are held to StopTask's rules: never early (the request or
    its signal), never on a task that must not be stopped, each at most once per task."""
    config, record, kinds = quiet_case
    assert judge(record, kinds, config).ok
    task = next(
        t
        for s in record.services
        for t in s.tasks
        if kinds[s.name] == "plain" and t.drain_started_at is not None
    )
    assert task.drain_started_at is not None
    deadline = task.drain_started_at + record.wait_seconds(task.service)

    def forge(kind: str, at: float, action: str = "exec", draining: bool = True) -> ChaosResult:
        record.log.record(
            at,
            kind,
            task.arn,
            service=task.service.name,
            action=action,
            accepted=True,
            draining=draining,
            caller="ecs-drain-terminator-sweeper",
            effective=True,
        )
        return judge(record, kinds, config)

    once = forge(Kind.SIGNAL_REQUEST, deadline + 1.0)
    assert once.ok
    assert once.signal_steps == 1
    twice = forge(Kind.SIGNAL_REQUEST, deadline + 30.0)
    assert twice.stopped_more_than_once == 1
    early_signal = forge(Kind.CONTAINER_SIGNAL, deadline - 1.0)
    assert early_signal.premature_stops == 1
    early_step = forge(Kind.SIGNAL_REQUEST, deadline - 5.0, action="ssm-signal")
    assert early_step.premature_stops == 2


def test_given_an_ignored_stop_task_sent_again_when_judged_then_a_double_like_any_step(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]],
) -> None:
    """Never twice per step: a StopTask ECS ignored and sent again (a run died after it)
    is a double, though a no-op; one ignored StopTask alone is not."""
    config, record, kinds = quiet_case
    task = next(
        t
        for s in record.services
        for t in s.tasks
        if kinds[s.name] == "plain" and t.drain_started_at is not None
    )
    assert task.drain_started_at is not None
    deadline = task.drain_started_at + record.wait_seconds(task.service)
    ours = [
        o
        for o in record.log.of_kind(Kind.ECS_STOP_TASK)
        if o.subject == task.arn and str(o.data["reason"]).startswith("drain-terminator")
    ]
    [stop] = ours

    def forge_ignored(at: float) -> None:
        data = {"service": task.service.name, "reason": "drain-terminator: forged"}
        record.log.record(at, Kind.ECS_STOP_TASK, task.arn, draining=True, **data)
        record.log.record(at, Kind.ECS_STOP_IGNORED, task.arn, **data)

    assert judge(record, kinds, config).stopped_more_than_once == 0
    forge_ignored(deadline + 0.5)
    resent = judge(record, kinds, config)
    assert resent.stopped_more_than_once == 1
    assert not resent.ok
    assert any("stop-task taken more than once" in d for d in resent.details)
    assert stop.kind == Kind.ECS_STOP_TASK


def test_given_an_exec_session_left_open_when_judged_then_the_case_fails(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]],
) -> None:
    config, record, kinds = quiet_case
    assert judge(record, kinds, config).ok

    opened = replace(record, sessions={"opened": 2, "closed": 1, "left_open": 1})
    result = judge(opened, kinds, config)

    assert result.sessions_left_open == 1
    assert not result.ok


def test_given_stops_racing_ecs_own_stop_when_judged_then_allowed_only_within_the_window(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A StopTask that reaches a task ECS began stopping is a no-op within the product's
    task-state window (first attempt: 2 s; a botocore retry: 15 s more), forbidden beyond."""
    config, record, kinds = quiet_case
    assert judge(record, kinds, config).ok
    task = next(
        t
        for s in record.services
        for t in s.tasks
        if kinds[s.name] == "plain" and t.stopped_by == "terminator"
    )
    assert task.stop_began_at is not None
    began = task.stop_began_at
    # Given: ECS, not the terminator, began stopping this task (undone after the test).
    monkeypatch.setattr(task, "stopped_by", "ecs")

    def forge(after: float, attempt: int = 1) -> ChaosResult:
        record.log.record(
            began + after,
            Kind.ECS_STOP_TASK,
            task.arn,
            service=task.service.name,
            reason="drain-terminator: forged",
            last_status="STOPPING",
            desired_status="STOPPED",
            draining=False,
            attempt=attempt,
        )
        return judge(record, kinds, config)

    within = forge(config.task_state_seconds - 0.5)
    assert (within.stops_racing_ecs, within.forbidden_stops) == (1, 0)
    assert within.ok
    stale = forge(config.task_state_seconds + 0.5)
    assert (stale.stops_racing_ecs, stale.forbidden_stops) == (1, 1)
    retried = forge(config.task_state_seconds + 10.0, attempt=2)
    assert (retried.stops_racing_ecs, retried.forbidden_stops) == (2, 1)


def test_given_the_campaigns_share_when_worlds_are_chosen_then_every_second_case_is_ignored() -> (
    None
):
    chosen = [case_world(ChaosConfig(seed=1), seed, 0.5) for seed in range(1, 9)]

    worlds = [c.stoptask_on_draining for c in chosen]
    assert worlds == ["effective", "ignored"] * 4
    refused = [c.exec_refused_when_stopping for c in chosen if c.stoptask_on_draining == "ignored"]
    assert refused == [False, True, False, True]
    assert all(
        case_world(ChaosConfig(seed=1), s, None).stoptask_on_draining == "effective" for s in (2, 4)
    )


def test_given_an_ignored_world_when_drawn_then_its_services_carry_a_mix_of_actions() -> None:
    config = ChaosConfig(seed=2, services=50, stoptask_on_draining="ignored")

    scenario, _ = chaos_scenario(config)
    effective, _ = chaos_scenario(replace(config, stoptask_on_draining="effective"))

    actions = {
        dict(s.tags).get("drain-terminator:stop-action") for s in scenario.services if s.tags
    }
    assert actions == {"stop-task", "exec", "stop-task-then-exec", "ssm-signal"}
    assert any(s.enable_execute_command for s in scenario.services)
    assert any(not s.enable_execute_command for s in scenario.services if s.tags)
    # The same services, drains and operators as the effective world of the seed.
    assert [s.name for s in scenario.services] == [s.name for s in effective.services]
    assert scenario.actions == effective.actions


def test_given_a_seed_when_a_case_runs_twice_then_faults_and_verdict_are_identical() -> None:
    """Seeded end to end (botocore's retry jitter included), so a failure can be replayed."""
    config = ChaosConfig(seed=11, services=3)
    first, second = run_case(config), run_case(config)
    assert first.to_dict() == second.to_dict()
    assert sum(first.faults_injected.values()) > 0


def test_given_a_stop_of_a_spot_interrupted_or_unbalanced_task_when_judged_then_forbidden(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No StopTask where there is no drain to cut: a Spot interruption (SIGTERM already
    sent) or a task in no target group, even after its wait."""
    config, record, kinds = quiet_case
    stopped = [
        o
        for o in record.log.of_kind(Kind.ECS_STOP_TASK)
        if str(o.data["reason"]).startswith("drain-terminator")
    ]
    tasks = {t.arn: t for s in record.services for t in s.tasks}
    first, second = (tasks[o.subject] for o in stopped[:2])
    assert judge(record, kinds, config).forbidden_stops == 0
    monkeypatch.setattr(first, "cause", "spot-interruption")
    assert judge(record, kinds, config).forbidden_stops == 1
    monkeypatch.setattr(second, "targets", [])
    assert judge(record, kinds, config).forbidden_stops == 2


def test_given_a_lost_drain_when_nothing_stopped_it_then_a_missed_stop(
    quiet_case: tuple[ChaosConfig, RunRecord, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain whose every event was lost must still be stopped (by the backstop), if the
    backstop had a round free of injected faults before ECS would have ended it."""
    config, record, kinds = quiet_case
    stop = next(
        o
        for o in record.log.of_kind(Kind.ECS_STOP_TASK)
        if str(o.data["reason"]).startswith("drain-terminator")
        and kinds[str(o.data["service"])] == "plain"
    )
    base = judge(record, kinds, config)  # the world's own lost drains, all stopped
    assert base.missed_stops == 0
    assert stop.subject not in record.lost_tasks
    found = replace(record, lost_tasks=record.lost_tasks | {stop.subject})
    counted = judge(found, kinds, config)
    assert counted.lost_drains == base.lost_drains + 1
    assert counted.lost_drains_stopped == base.lost_drains_stopped + 1
    assert counted.missed_stops == 0
    log = ObservationLog()
    for o in record.log:
        if o is not stop:
            log.record(o.at, o.kind, o.subject, **o.data)
    task = next(t for s in record.services for t in s.tasks if t.arn == stop.subject)
    assert task.drain_started_at is not None
    # Faults until long after the drain: ECS ended it before a fault-free backstop round.
    under_faults = judge(replace(found, log=log), kinds, config)
    assert under_faults.missed_stops == 0
    assert under_faults.lost_left_under_faults == base.lost_left_under_faults + 1
    # No faults, and a 20-minute delay: the backstop had its round, so it is missed.
    quiet = replace(config, faults_clear_at=0.0, lease_seconds=0)
    monkeypatch.setattr(task, "ecs_alone_at", task.drain_started_at + 1200.0)
    before = judge(record, kinds, quiet)  # other drains judged strictly too
    missed = judge(replace(found, log=log), kinds, quiet)
    assert missed.lost_drains_stopped == before.lost_drains_stopped
    assert missed.missed_stops == before.missed_stops + 1, missed.details
