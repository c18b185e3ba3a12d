"""The chaos suite: at least 1,000 drains under injected faults, and nothing is lost.

Randomized, seeded cases (see sim/chaos.py) mix services with and without opt-in and
guards, and inject throttling (~20 % of the functions' ECS, DynamoDB and ELB calls), 5xx,
time-outs, fake conditional-check conflicts, duplicated (30 %) and reordered (20 %)
deliveries, sweeper invocations killed after a claim, after a StopTask or at random,
overlapping sweeper runs, and operators who opt out, turn dry-run on, raise the wait or
delete a target group or service in the middle of drains. One more case is a burst world
of 1,000 drains due at once. Every call costs latency and draws from the account's rate
limits. The verdict comes from the simulator's witness log.

``pytest tests/sim/test_chaos.py --chaos-drains 10000`` or ``make chaos`` runs a larger
campaign.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sim.chaos import (
    ChaosConfig,
    ChaosResult,
    chaos_scenario,
    format_result,
    judge,
    run_campaign,
    run_case,
)
from sim.ecs_model import Task
from sim.observe import Kind, ObservationLog
from sim.report import RunRecord
from sim.simulation import Simulation
from tests.support.summary import LINES

#: The campaign's burst world: this many drains due at once, with latency and faults.
BURST_DRAINS = 1000
#: Services per case: a few large worlds rather than many small ones. A case's cost is
#: mostly its sweeper runs over virtual time, so 48 services cost about half as much per
#: drain as 12 (docs/benchmarks.md, "Simulator speed"); `make chaos` uses 12.
SERVICES = 48


@pytest.fixture(scope="module")
def campaign(pytestconfig: pytest.Config) -> ChaosResult:
    drains = int(pytestconfig.getoption("--chaos-drains"))
    result = run_campaign(
        drains, base=ChaosConfig(seed=1, services=SERVICES), workers=2, burst_drains=BURST_DRAINS
    )
    LINES.extend(format_result(result).splitlines())
    return result


def test_given_campaign_when_run_then_it_covers_the_faults_and_volume_the_issue_names(
    campaign: ChaosResult, pytestconfig: pytest.Config
) -> None:
    assert campaign.drains - campaign.burst_drains >= int(pytestconfig.getoption("--chaos-drains"))
    assert campaign.burst_drains >= BURST_DRAINS
    assert campaign.stopped_by_terminator >= campaign.drains // 2
    assert campaign.operator_actions > 0
    faults = campaign.faults_injected
    kinds = ("throttle", "5xx", "timeout", "conflict", "kill-after-claim", "kill-after-stop")
    for kind in (*kinds, "elb-fault"):
        assert faults.get(kind, 0) > 0, kind
    assert campaign.sweeper_kills > 0
    assert campaign.sweeper_overlaps > 0
    # ~20 % of ECS/DynamoDB calls throttled: the most frequent fault by far.
    assert faults["throttle"] > 3 * faults["5xx"]


def test_given_faults_when_judged_then_no_premature_stop(campaign: ChaosResult) -> None:
    assert campaign.premature_stops == 0, campaign.details


def test_given_faults_when_judged_then_no_stop_of_a_task_that_must_not_be_stopped(
    campaign: ChaosResult,
) -> None:
    assert campaign.forbidden_stops == 0, campaign.details


def test_given_faults_when_judged_then_no_task_stopped_twice(campaign: ChaosResult) -> None:
    assert campaign.stopped_more_than_once == 0, campaign.details


def test_given_faults_when_judged_then_no_missed_stop(campaign: ChaosResult) -> None:
    assert campaign.missed_stops == 0, campaign.details


def test_given_guards_when_judged_then_never_violated(campaign: ChaosResult) -> None:
    assert campaign.stagger_violations == 0, campaign.details
    assert campaign.min_healthy_violations == 0, campaign.details


def test_given_operators_when_they_opt_out_or_turn_dry_run_on_then_no_later_stop(
    campaign: ChaosResult,
) -> None:
    assert campaign.stops_after_opt_out == 0, campaign.details


def test_given_operators_when_they_raise_the_wait_then_no_stop_before_it(
    campaign: ChaosResult,
) -> None:
    assert campaign.stops_before_raised_wait == 0, campaign.details


def test_given_a_broken_service_when_faults_cleared_then_no_sweeper_run_fails(
    campaign: ChaosResult,
) -> None:
    assert campaign.sweeper_runs_failed == 0, campaign.details


#: A case without faults or operators, whose witness log the tests below forge.
QUIET = ChaosConfig(seed=5, services=8, throttle_rate=0.0, kill_rate=0.0, operator_rate=0.0)


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


def test_given_a_seed_when_a_case_runs_twice_then_faults_and_verdict_are_identical() -> None:
    """Seeded end to end (botocore's retry jitter included), so a failure can be replayed."""
    config = ChaosConfig(seed=11, services=3)
    first, second = run_case(config), run_case(config)
    assert first.to_dict() == second.to_dict()
    assert sum(first.faults_injected.values()) > 0
