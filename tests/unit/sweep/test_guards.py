"""Guards: minimum healthy targets per target group, and staggered stops per service."""

from __future__ import annotations

import pytest

from serverless.domain.errors import NotFoundError
from serverless.domain.model import (
    RecordStatus,
    ServiceInfo,
    ServicePolicy,
    TaskRecord,
    TaskSetInfo,
)
from serverless.domain.serving import DeploymentView
from serverless.sweep.decide import GUARDS_PASSED, Deferral
from serverless.sweep.guards import Guards, StaggerSlot, recheck_at, stagger_key
from serverless.sweep.timing import (
    HEALTH_CACHE_SECONDS,
    HEALTH_RECHECK_SECONDS,
    STAGGER_HOLD_SECONDS,
)
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeEcs, FakeLedger, FakeTargetHealth, task_arn

TG_A = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-a/0123456789abcdef"
TG_B = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web-b/fedcba9876543210"


class Harness:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.ecs = FakeEcs(clock)
        self.ledger = FakeLedger()
        self.health = FakeTargetHealth()
        self.paced = 0
        self.guards = Guards(self.ledger, self.health, clock, self._pace)

    def _pace(self, arn: str) -> None:
        # A target group (health) or a service deployment or revision (blue/green).
        assert arn.startswith(("arn:aws:elasticloadbalancing:", "arn:aws:ecs:"))
        self.paced += 1

    def info(self, service: str = "web") -> ServiceInfo | None:
        """The service as a fresh DescribeServices shows it (None: gone)."""
        return self.ecs.services.get((CLUSTER_ARN, service))

    @property
    def now(self) -> float:
        return self.clock.now()


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


def record(service: str = "web", suffix: int = 1) -> TaskRecord:
    return TaskRecord(
        task_arn=task_arn(suffix),
        cluster_arn=CLUSTER_ARN,
        service_name=service,
        status=RecordStatus.DRAINING,
        version=4,
        drain_started_at=0.0,
        wait_seconds=120,
        due_at=120.0,
    )


def guarded(min_healthy: int | None = None, max_stops: int | None = None) -> ServicePolicy:
    return ServicePolicy(True, 120, min_healthy_percent=min_healthy, max_stops_per_minute=max_stops)


# -- min-healthy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "desired", "healthy", "defers"),
    [
        (50, 3, 1, True),  # ceil(1.5) = 2
        (50, 3, 2, False),
        (100, 4, 3, True),
        (100, 4, 4, False),
        (34, 3, 1, True),  # ceil(1.02) = 2
        (33, 3, 1, False),  # ceil(0.99) = 1
        (0, 5, 0, False),
        (1, 1, 0, True),  # ceil(0.01) = 1
    ],
)
def test_given_percent_and_desired_when_min_healthy_checked_then_requires_ceiling(
    h: Harness, percent: int, desired: int, healthy: int, defers: bool
) -> None:
    h.ecs.add_service("web", desired_count=desired, target_groups=(TG_A,))
    h.health.healthy[TG_A] = healthy

    deferral = h.guards.min_healthy(guarded(min_healthy=percent), h.info(), h.now)

    assert (deferral is not None) is defers
    if deferral is not None:
        assert deferral.until == recheck_at(h.now)
        assert f"{healthy} healthy target(s)" in deferral.reason
        assert f"{percent}% of desired {desired}" in deferral.reason


@pytest.mark.parametrize("offset", [0.0, 0.1, 7.4, 7.5, 7.6, 14.9])
def test_given_deferrals_at_any_moment_when_rechecked_then_on_a_shared_grid_about_15_s_later(
    offset: float,
) -> None:
    now = 1_767_603_600.0 + offset  # a multiple of the step, plus the offset

    at = recheck_at(now)

    assert at % HEALTH_RECHECK_SECONDS == 0
    assert HEALTH_RECHECK_SECONDS / 2 <= at - now < 1.5 * HEALTH_RECHECK_SECONDS


def test_given_tasks_deferred_a_few_seconds_apart_when_rechecked_then_together(
    h: Harness,
) -> None:
    """They are looked at again at one moment: one sweeper wake and one health read serve
    them all, not one each."""
    h.ecs.add_service("web", desired_count=4, target_groups=(TG_A,))
    h.health.healthy[TG_A] = 2
    start = 1_767_603_600.0 + 8.0

    deferrals = [
        h.guards.min_healthy(guarded(min_healthy=100), h.info(), start + gap)
        for gap in (0.0, 3.0, 6.5)
    ]

    assert None not in deferrals
    assert {d.until for d in deferrals if d is not None} == {1_767_603_600.0 + 30.0}


def test_given_two_target_groups_when_one_is_short_then_deferred_naming_it(h: Harness) -> None:
    h.ecs.add_service("web", desired_count=4, target_groups=(TG_A, TG_B))
    h.health.healthy.update({TG_A: 4, TG_B: 1})

    deferral = h.guards.min_healthy(guarded(min_healthy=50), h.info(), h.now)

    assert deferral is not None
    assert "targetgroup/web-b/fedcba9876543210" in deferral.reason
    assert "need 2" in deferral.reason
    assert h.health.calls == [TG_A, TG_B]


def test_given_every_target_group_has_enough_when_checked_then_no_deferral(h: Harness) -> None:
    h.ecs.add_service("web", desired_count=4, target_groups=(TG_A, TG_B))
    h.health.healthy.update({TG_A: 2, TG_B: 2})
    assert h.guards.min_healthy(guarded(min_healthy=50), h.info(), h.now) is None


def test_given_health_checked_when_asked_again_within_a_second_then_cached(
    h: Harness, clock: ManualClock
) -> None:
    assert HEALTH_CACHE_SECONDS == 1.0
    h.ecs.add_service("web", desired_count=2, target_groups=(TG_A,))
    h.health.healthy[TG_A] = 0
    policy = guarded(min_healthy=100)

    assert h.guards.min_healthy(policy, h.info(), h.now) is not None
    h.health.healthy[TG_A] = 2  # recovered, but the cached answer is still used
    clock.advance(0.9)
    assert h.guards.min_healthy(policy, h.info(), h.now) is not None
    assert len(h.health.calls) == 1
    clock.advance(0.1)
    assert h.guards.min_healthy(policy, h.info(), h.now) is None
    assert len(h.health.calls) == 2


@pytest.mark.parametrize(
    ("tags_service", "target_groups", "policy"),
    [
        pytest.param(True, (TG_A,), guarded(), id="guard-off"),
        pytest.param(True, (), guarded(min_healthy=100), id="no-target-groups"),
        pytest.param(False, (), guarded(min_healthy=100), id="service-gone"),
    ],
)
def test_given_guard_not_applicable_when_checked_then_no_deferral_and_no_health_call(
    h: Harness, tags_service: bool, target_groups: tuple[str, ...], policy: ServicePolicy
) -> None:
    if tags_service:
        h.ecs.add_service("web", desired_count=3, target_groups=target_groups)
    h.health.healthy[TG_A] = 0
    assert h.guards.min_healthy(policy, h.info(), h.now) is None
    assert h.health.calls == []
    assert h.paced == 0


def test_given_health_unreadable_when_checked_then_error_raised_for_the_caller_to_defer(
    h: Harness,
) -> None:
    h.ecs.add_service("web", desired_count=2, target_groups=(TG_A,))  # TG_A unknown: NotFound
    with pytest.raises(NotFoundError):
        h.guards.min_healthy(guarded(min_healthy=50), h.info(), h.now)


def test_given_health_read_when_checked_then_each_call_paced_first(h: Harness) -> None:
    h.ecs.add_service("web", desired_count=4, target_groups=(TG_A, TG_B))
    h.health.healthy.update({TG_A: 4, TG_B: 4})
    assert h.guards.min_healthy(guarded(min_healthy=50), h.info(), h.now) is None
    assert h.paced == 2


# -- stagger -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("per_minute", "spacing"), [(1, 60.0), (2, 30.0), (3, 20.0), (60, 1.0)])
def test_given_max_stops_when_staggered_then_slots_spaced_60_over_n(
    h: Harness, clock: ManualClock, per_minute: int, spacing: float
) -> None:
    policy = guarded(max_stops=per_minute)
    start = h.now

    with h.guards.slot() as first:
        assert h.guards.stagger(record(suffix=1), policy, h.now, first) is None
        second = h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot())

        assert second is not None
        assert second.until == pytest.approx(start + spacing)
        assert f"max {per_minute} stop(s) per minute" in second.reason
        held = start + spacing + STAGGER_HOLD_SECONDS
        assert h.ledger.slot_calls[0] == (stagger_key(record()), start, pytest.approx(held))
        # The first stop happens at once: when its block ends the next slot opens 60/N s on.
        first.stopped_at = start
    clock.advance(spacing)
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is None


def test_given_stop_delayed_by_retries_when_block_ends_then_next_slot_counts_from_the_stop(
    h: Harness, clock: ManualClock
) -> None:
    policy = guarded(max_stops=2)
    start = h.now
    with h.guards.slot() as slot:
        assert h.guards.stagger(record(suffix=1), policy, start, slot) is None
        # StopTask succeeded only 12 s later (throttled, retried): 30 s spacing from then on.
        clock.advance(12)
        slot.stopped_at = start + 12
    clock.advance(18)
    deferral = h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot())
    assert deferral is not None
    assert deferral.until == pytest.approx(start + 42)
    clock.advance(12)
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is None


def test_given_slot_held_by_a_run_that_died_when_hold_lapses_then_slot_free(
    h: Harness, clock: ManualClock
) -> None:
    policy = guarded(max_stops=1)
    assert h.guards.stagger(record(suffix=1), policy, h.now, StaggerSlot()) is None  # no block
    clock.advance(60 + STAGGER_HOLD_SECONDS - 1)
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is not None
    clock.advance(1)
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is None


def test_given_no_stop_happened_when_block_ends_then_slot_free_at_once(h: Harness) -> None:
    policy = guarded(max_stops=1)
    with h.guards.slot() as slot:
        assert h.guards.stagger(record(suffix=1), policy, h.now, slot) is None
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is None


def test_given_block_ends_with_an_error_when_slot_held_then_it_stays_held_until_it_lapses(
    h: Harness, clock: ManualClock
) -> None:
    # A stop may have happened that the slot does not know of: the hold lapses by itself.
    policy = guarded(max_stops=1)

    def work_that_fails() -> None:
        with h.guards.slot() as slot:
            assert h.guards.stagger(record(suffix=1), policy, h.now, slot) is None
            raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        work_that_fails()
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is not None
    clock.advance(60 + STAGGER_HOLD_SECONDS)
    assert h.guards.stagger(record(suffix=2), policy, h.now, StaggerSlot()) is None


def test_given_stagger_off_when_checked_then_ledger_untouched(h: Harness) -> None:
    assert h.guards.stagger(record(), guarded(), h.now, StaggerSlot()) is None
    assert h.ledger.slot_calls == []


def test_given_two_services_when_staggered_then_each_has_its_own_slots(h: Harness) -> None:
    policy = guarded(max_stops=1)
    assert h.guards.stagger(record("web"), policy, h.now, StaggerSlot()) is None
    assert h.guards.stagger(record("api"), policy, h.now, StaggerSlot()) is None
    assert stagger_key(record("web")) == f"stagger#{CLUSTER_ARN}#web"
    assert stagger_key(record("web")) != stagger_key(record("api"))


# -- check: the verdict decide() reads -----------------------------------------------------------


def test_given_no_guards_when_checked_then_passed_and_no_slot_held(h: Harness) -> None:
    slot = StaggerSlot()
    assert h.guards.check(record(), guarded(), h.info(), h.now, slot) is GUARDS_PASSED
    assert slot.key is None


def test_given_too_few_healthy_when_checked_then_deferral_and_stagger_not_consulted(
    h: Harness,
) -> None:
    h.ecs.add_service("web", desired_count=2, target_groups=(TG_A,))
    h.health.healthy[TG_A] = 1
    policy = guarded(min_healthy=100, max_stops=1)
    verdict = h.guards.check(record(), policy, h.info(), h.now, StaggerSlot())
    assert isinstance(verdict, Deferral)
    assert h.ledger.slot_calls == []


def test_given_health_unreadable_when_checked_then_the_error_is_the_verdict(h: Harness) -> None:
    h.ecs.add_service("web", desired_count=2, target_groups=(TG_A,))  # TG_A has no health
    verdict = h.guards.check(record(), guarded(min_healthy=50), h.info(), h.now, StaggerSlot())
    assert isinstance(verdict, NotFoundError)


def test_given_stagger_slot_free_when_checked_then_passed_with_the_slot_held(h: Harness) -> None:
    slot = StaggerSlot()
    verdict = h.guards.check(record(), guarded(max_stops=1), h.info(), h.now, slot)
    assert verdict is GUARDS_PASSED
    assert slot.key == stagger_key(record())


# -- which target groups are counted ---------------------------------------------------------


def test_given_external_task_sets_when_guard_checks_then_the_primary_sets_group_is_counted(
    h: Harness,
) -> None:
    # The old set's group empties as the controller scales it down: counting it would
    # defer every early stop; the primary set serves the traffic.
    info = ServiceInfo(
        CLUSTER_ARN,
        "web",
        desired_count=2,
        controller="EXTERNAL",
        task_sets=(
            TaskSetInfo("ecs-svc/old", "ACTIVE", (TG_A,), 1),
            TaskSetInfo("ecs-svc/new", "PRIMARY", (TG_B,), 2),
        ),
    )
    h.health.healthy.update({TG_A: 0, TG_B: 2})
    policy = ServicePolicy(enabled=True, wait_seconds=120, min_healthy_percent=100)

    assert h.guards.min_healthy(policy, info, h.now, "ecs-svc/old") is None
    assert h.health.calls == [TG_B]

    h.health.healthy[TG_B] = 1
    h.clock.advance(HEALTH_CACHE_SECONDS + 1)
    deferral = h.guards.min_healthy(policy, info, h.now, "ecs-svc/old")
    assert deferral is not None
    assert "primary task set ecs-svc/new" in deferral.reason


def blue_green_harness(h: Harness, status: str, stage: str) -> ServiceInfo:
    rev_1 = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/1"
    rev_2 = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/2"
    deployment = "arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/web/d2"
    h.ecs.deployments[deployment] = DeploymentView(status, stage, (rev_1,), rev_2)
    h.ecs.revisions.update({rev_1: (TG_A,), rev_2: (TG_B,)})
    h.guards = Guards(h.ledger, h.health, h.clock, h._pace, ecs=h.ecs, before_ecs_call=h._pace)
    return ServiceInfo(
        CLUSTER_ARN,
        "web",
        desired_count=2,
        target_group_arns=(TG_A,),
        alternate_target_group_arns=(TG_B,),
        strategy="BLUE_GREEN",
        deployment_arn=deployment,
        revision_arns=(rev_2,),
    )


def test_given_blue_green_in_clean_up_when_guard_checks_then_the_target_revisions_group_counts(
    h: Harness,
) -> None:
    info = blue_green_harness(h, "IN_PROGRESS", "CLEAN_UP")
    h.health.healthy.update({TG_A: 0, TG_B: 2})
    policy = ServicePolicy(enabled=True, wait_seconds=120, min_healthy_percent=100)

    assert h.guards.min_healthy(policy, info, h.now, "ecs-svc/1") is None
    assert h.health.calls == [TG_B]
    assert len(h.ecs.deployment_calls) == 1
    assert h.paced == 3  # DescribeServiceDeployments, DescribeServiceRevisions, target health

    # Revisions never change: a second check reads no revision again.
    h.clock.advance(HEALTH_CACHE_SECONDS + 1)
    h.guards.min_healthy(policy, info, h.now, "ecs-svc/1")
    assert len(h.ecs.revision_calls) == 1


def test_given_blue_green_rolling_back_when_guard_checks_then_both_groups_must_be_healthy(
    h: Harness,
) -> None:
    info = blue_green_harness(h, "ROLLBACK_IN_PROGRESS", "RECONCILE_SERVICE")
    h.health.healthy.update({TG_A: 2, TG_B: 0})
    policy = ServicePolicy(enabled=True, wait_seconds=120, min_healthy_percent=50)

    deferral = h.guards.min_healthy(policy, info, h.now, "ecs-svc/2")
    assert deferral is not None
    assert "web-b" in deferral.reason


def test_given_blue_green_revisions_unreadable_when_guard_checks_then_both_groups_count(
    h: Harness,
) -> None:
    info = blue_green_harness(h, "SUCCESSFUL", "CLEAN_UP")
    h.ecs.revisions.clear()
    h.health.healthy.update({TG_A: 2, TG_B: 2})
    policy = ServicePolicy(enabled=True, wait_seconds=120, min_healthy_percent=100)

    assert h.guards.min_healthy(policy, info, h.now, None) is None
    assert sorted(h.health.calls) == sorted([TG_A, TG_B])
