"""Guards, dry-run tags and stop confirmation through the handlers on moto."""

from __future__ import annotations

import itertools

import pytest

from tests.functional.test_sweeper import drain, sweep
from tests.support.clock import ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import World

PREFIX = "drain-terminator:"


def tags(**extra: str) -> dict[str, str]:
    base = {f"{PREFIX}enabled": "true", f"{PREFIX}wait-seconds": "120"}
    base.update({PREFIX + key.replace("_", "-"): value for key, value in extra.items()})
    return base


def test_given_too_few_healthy_targets_when_due_then_deferred_until_replacements_healthy(
    world: World, clock: ManualClock
) -> None:
    target_group = world.target_group("ws", healthy=3)
    world.add_service(
        "ws", tags(min_healthy_percent="100"), desired_count=4, target_groups=(target_group,)
    )
    task = world.start_task("ws")
    drain(world, task, clock.now() - 120 + 5, service="ws")
    # The fourth replacement becomes healthy 40 s into the run.
    healthy_at = clock.now() + 40
    clock.at(healthy_at, lambda: world.set_healthy(target_group, 4))

    report = sweep(world)

    assert task in report["deferred"]
    assert len(world.stops) == 1
    # Not while fewer than 4 targets were healthy; soon after (re-checked on the 15 s grid).
    assert healthy_at <= world.stops[0].at <= healthy_at + 15 + 1
    record = world.record(task)
    assert record is not None
    assert int(record["deferrals"]) >= 1
    assert "healthy target" in record["defer_reason"]


def test_given_healthy_enough_when_due_then_stopped_on_time(
    world: World, clock: ManualClock
) -> None:
    target_group = world.target_group("api2", healthy=4)
    world.add_service(
        "api2", tags(min_healthy_percent="100"), desired_count=4, target_groups=(target_group,)
    )
    task = world.start_task("api2")
    start = clock.now() - 120 + 3
    drain(world, task, start, service="api2")

    sweep(world)

    assert len(world.stops) == 1
    assert 0 <= world.stops[0].at - (start + 120) <= 1.0


def test_given_max_stops_per_minute_when_many_due_together_then_stops_spaced(
    world: World, clock: ManualClock
) -> None:
    world.add_service("chat", tags(max_stops_per_minute="2"))
    start = clock.now() - 120 + 1
    tasks = [world.start_task("chat") for _ in range(4)]
    for task in tasks:
        drain(world, task, start, service="chat")

    sweep(world)  # 90 s horizon: room for 3 stops at 30 s spacing

    times = [s.at for s in world.stops]
    assert len(times) == 3
    assert all(b - a >= 30.0 for a, b in itertools.pairwise(times))
    assert times[0] - (start + 120) <= 1.0
    # The fourth waits for its slot in a later run, never early.
    clock.advance(5)
    sweep(world, request_id="run-2")
    assert len(world.stops) == 4
    assert world.stops[3].at - world.stops[2].at >= 30.0


def test_given_dry_run_tag_when_due_then_not_stopped_and_counted(
    world: World, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    world.add_service("canary", tags(dry_run="true"))
    task = world.start_task("canary")
    drain(world, task, clock.now() - 121, service="canary")

    sweep(world)

    assert world.stops == []
    assert emf_metrics(capsys.readouterr().out).get("DryRunStops") == [1.0]
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "dry_run"


def test_given_stop_without_effect_when_confirmation_due_then_unconfirmed_metric_and_error(
    world: World,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    world.stop_takes_effect = False
    task = world.start_task("web")
    drain(world, task, clock.now() - 121)

    sweep(world)  # stops at once
    clock.advance(60)
    sweep(world, request_id="run-2")  # the confirmation is due: still DEACTIVATING

    assert len(world.stops) == 1
    assert world.task_status(task) == ("DEACTIVATING", "STOPPED")
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "unconfirmed"
    assert emf_metrics(capsys.readouterr().out).get("StopsUnconfirmed") == [1.0]
    assert any(r.levelname == "ERROR" and "no effect" in r.getMessage() for r in caplog.records)


def test_given_stop_took_effect_when_stopped_event_arrives_then_confirmed_with_duration(
    world: World, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    from handlers import task_events
    from tests.support.clock import FakeContext

    task = world.start_task("web")
    drain(world, task, clock.now() - 121)
    sweep(world)  # stops, then ends: the confirmation is left to a later run
    stop_time = world.stops[0].at
    stopped = world.event(
        task,
        "STOPPED",
        "STOPPED",
        9,
        stop_time + 35,
        "fargate-stopped.json",
        stoppingAt="",
        stoppedReason="drain-terminator: load balancer target draining for 120s",
    )
    from tests.support.world import iso

    stopped["detail"]["stoppingAt"] = iso(stop_time + 2)
    task_events.handler(stopped, FakeContext(clock))  # type: ignore[arg-type]

    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "stopped_by_terminator"
    assert float(record["confirmation_seconds"]) == pytest.approx(2.0, abs=0.01)
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics.get("StopsConfirmed") == [1.0]
    assert metrics.get("StopConfirmationSeconds") == [2.0]
