"""Safety through the handlers on moto: operators' changes take effect before the next stop,
one broken service never holds up another, and no value can crash the functions."""

from __future__ import annotations

import pytest

from handlers import sweeper, task_events
from tests.functional.test_sweeper import drain, sweep
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import World

PREFIX = "drain-terminator:"
OPTED_IN = {f"{PREFIX}enabled": "true", f"{PREFIX}wait-seconds": "120"}
EARLY_START = {"source": "drain-terminator", "detail-type": "Sweep Requested", "detail": {}}


def asks_for(service: str) -> object:
    """Whether a serialized DescribeServices request names ``service``."""

    def matches(request: dict[str, object]) -> bool:
        body = request["body"]
        text = body.decode() if isinstance(body, bytes) else str(body)
        return f'"{service}"' in text

    return matches


def errors(caplog: pytest.LogCaptureFixture) -> list[tuple[str, object]]:
    return [
        (r.getMessage(), getattr(r, "ecs_service", None))
        for r in caplog.records
        if r.levelname == "ERROR"
    ]


# -- operators' changes in the middle of a drain ---------------------------------------------------


def test_given_opt_out_one_second_after_a_stop_when_the_run_goes_on_then_no_further_stop(
    world: World, clock: ManualClock
) -> None:
    first, second = world.start_task("web"), world.start_task("web")
    drain(world, first, clock.now() - 120)
    drain(world, second, clock.now() - 120 + 10)
    clock.at(clock.now() + 1, lambda: world.untag_service("web", f"{PREFIX}enabled"))

    report = sweep(world)

    assert [s.task_arn for s in world.stops] == [first]
    record = world.record(second)
    assert record is not None
    assert record["outcome"] == "opted_out"
    assert report["closed"] == [second]


def test_given_dry_run_switched_on_during_the_run_when_next_due_then_not_stopped(
    world: World, clock: ManualClock
) -> None:
    first, second = world.start_task("web"), world.start_task("web")
    drain(world, first, clock.now() - 120)
    drain(world, second, clock.now() - 120 + 9)
    clock.at(clock.now() + 1, lambda: world.tag_service("web", {f"{PREFIX}dry-run": "true"}))

    report = sweep(world)

    assert [s.task_arn for s in world.stops] == [first]
    assert report["dry_run"] == [second]


def test_given_wait_raised_from_30_to_600_five_seconds_in_when_swept_then_stop_waits_600(
    world: World, clock: ManualClock
) -> None:
    world.tag_service("web", {f"{PREFIX}wait-seconds": "30"})
    task = world.start_task("web")
    started = clock.now()
    drain(world, task, started)  # recorded with a 30 s wait
    clock.advance(5)
    world.tag_service("web", {f"{PREFIX}wait-seconds": "600"})
    clock.advance(25)

    sweep(world)  # at +30 the recorded wait is over, the current one is not

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert int(record["wait_seconds"]) == 600
    assert float(record["due_at"]) == pytest.approx(started + 600)
    clock.advance(600 - 30)
    sweep(world, request_id="run-2")
    assert [s.at for s in world.stops] == [pytest.approx(started + 600)]
    assert "draining for 600s" in world.stops[0].reason


def test_given_service_deleted_during_the_drain_when_due_then_closed_without_a_stop(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain(world, task, clock.now() - 130)
    world.ecs.delete_service(cluster=world.cluster_arn, service="web", force=True)
    clock.advance(6)  # the tags task-events read are older than the 5 s bound by now

    sweep(world)

    assert world.stops == []
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "opted_out"


# -- one broken service never holds up another -----------------------------------------------------


def test_given_describe_services_denied_for_one_service_when_swept_then_others_stopped(
    world: World,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world.add_service("api", OPTED_IN)
    broken, fine = world.start_task("web"), world.start_task("api")
    drain(world, broken, clock.now() - 130)
    drain(world, fine, clock.now() - 130, service="api")
    world.fail(world.ecs, "DescribeServices", "AccessDeniedException", asks_for("web"))
    clock.advance(6)  # the tags task-events read are older than the 5 s bound by now

    report = sweep(world, timeout=71.0)

    assert [s.task_arn for s in world.stops] == [fine]
    assert broken in report["lookup_failed"]
    assert ("DescribeServices failed; stop deferred", "web") in errors(caplog)
    assert emf_metrics(capsys.readouterr().out)["LookupsFailed"] == [1.0] * len(
        report["lookup_failed"]
    )
    record = world.record(broken)
    assert record is not None
    assert record["status"] == "draining"
    assert "lease_owner" not in record


def test_given_target_group_deleted_when_min_healthy_guard_checks_then_deferred_not_stopped(
    world: World, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    target_group = world.target_group("gone", healthy=2)
    tags = {**OPTED_IN, f"{PREFIX}min-healthy-percent": "50"}
    world.add_service("ws", tags, desired_count=2, target_groups=(target_group,))
    world.add_service("api", OPTED_IN)
    guarded, other = world.start_task("ws"), world.start_task("api")
    drain(world, guarded, clock.now() - 130, service="ws")
    drain(world, other, clock.now() - 130, service="api")
    world.elbv2.delete_target_group(TargetGroupArn=target_group)

    report = sweep(world, timeout=71.0)

    assert [s.task_arn for s in world.stops] == [other]
    assert guarded in report["lookup_failed"]
    assert ("guard failed; stop deferred", "ws") in errors(caplog)


def test_given_elb_throttled_when_min_healthy_guard_checks_then_deferred_and_run_goes_on(
    world: World, clock: ManualClock
) -> None:
    target_group = world.target_group("ws", healthy=2)
    tags = {**OPTED_IN, f"{PREFIX}min-healthy-percent": "50"}
    world.add_service("ws", tags, desired_count=2, target_groups=(target_group,))
    task = world.start_task("ws")
    drain(world, task, clock.now() - 130, service="ws")
    event, hook = world.fail(world.elbv2, "DescribeTargetHealth", "Throttling")

    report = sweep(world, timeout=71.0)
    world.elbv2.meta.events.unregister(event, hook)
    assert world.stops == []
    assert report["lookup_failed"]
    clock.advance(15)
    sweep(world, request_id="run-2")
    assert [s.task_arn for s in world.stops] == [task]


# -- values the ledger cannot hold -------------------------------------------------------------


def test_given_wait_tag_of_39_digits_when_drain_arrives_then_default_wait_and_warning(
    world: World, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_service("huge", {f"{PREFIX}enabled": "true", f"{PREFIX}wait-seconds": "9" * 39})
    task = world.start_task("huge")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now(), service="huge")

    result = task_events.handler(event, FakeContext(clock))  # type: ignore[arg-type]

    assert result["action"] == "tracked"
    record = world.record(task)
    assert record is not None
    assert int(record["wait_seconds"]) == 120
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any("wait-seconds" in r.getMessage() and "9" * 39 in r.getMessage() for r in warnings)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", 10**39),
        ("updatedAt", "9999-12-31T23:59:59Z"),
        ("updatedAt", "1970-01-01T00:00:00Z"),
    ],
)
def test_given_value_out_of_range_when_event_arrives_then_rejected_and_counted(
    world: World,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: object,
) -> None:
    task = world.start_task("web")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now())
    event["detail"][field] = value

    result = task_events.handler(event, FakeContext(clock))  # type: ignore[arg-type]

    assert result["action"] == "rejected"
    assert field in result["reason"]
    assert world.record(task) is None
    assert emf_metrics(capsys.readouterr().out)["EventsRejected"] == [1.0]
    assert any(message == "event rejected" for message, _ in errors(caplog))


# -- an early start looks again after its debounce window -----------------------------------------


def test_given_early_start_when_a_drain_is_recorded_meanwhile_then_the_early_run_finds_it(
    world: World, clock: ManualClock
) -> None:
    world.tag_service("web", {f"{PREFIX}wait-seconds": "40"})
    task = world.start_task("web")
    start = clock.now()
    clock.at(start + 10, lambda: drain(world, task, start + 10))  # due at +50

    report = sweeper.handler(EARLY_START, FakeContext(clock, 180.0, "early"))  # type: ignore[arg-type]

    assert report["stopped"] == [task]
    assert [s.at for s in world.stops] == [pytest.approx(start + 50)]
