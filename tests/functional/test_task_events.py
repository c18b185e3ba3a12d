"""The task-events entry point on moto, with events in the documented ECS format."""

from __future__ import annotations

import pytest

from handlers import task_events
from serverless.adapters.dynamodb_ledger import DUE_INDEX_SHARDS
from tests.support.clock import FakeContext, ManualClock
from tests.support.emf import emf_metrics
from tests.support.world import ACCOUNT, REGION, World, load_event


def handle(world: World, event: object) -> dict[str, str]:
    return task_events.handler(event, FakeContext(world.clock))  # type: ignore[arg-type]


def test_given_opted_in_service_when_drain_event_arrives_then_drain_is_recorded_from_event_time(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    drain_time = clock.now() - 7  # delivered 7 s late: the wait still runs from the event
    result = handle(world, world.event(task, "DEACTIVATING", "STOPPED", 4, drain_time))

    assert result["action"] == "tracked"
    record = world.record(task)
    assert record is not None
    assert record["status"] == "draining"
    assert float(record["drain_started_at"]) == pytest.approx(drain_time, abs=0.001)
    assert float(record["due_at"]) == pytest.approx(drain_time + 120, abs=0.001)
    assert record["sweep_key"] in {f"open#{n}" for n in range(DUE_INDEX_SHARDS)}


def test_given_single_target_group_when_drain_skips_deactivating_then_running_drain_counts(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    event = world.event(task, "RUNNING", "STOPPED", 4, clock.now(), "fargate-drain-running.json")
    assert handle(world, event)["action"] == "tracked"


def test_given_ec2_bridge_fixture_when_handled_then_drain_is_recorded(world: World) -> None:
    world.add_service("api", {"drain-terminator:enabled": "TRUE"})
    event = load_event("ec2-bridge-drain.json")
    event["detail"]["clusterArn"] = world.cluster_arn
    result = handle(world, event)
    assert result["action"] == "tracked"
    record = world.record(event["detail"]["taskArn"])
    assert record is not None
    assert record["service_name"] == "api"
    assert int(record["wait_seconds"]) == 120  # no wait tag: the default


def test_given_untagged_service_when_drain_event_arrives_then_no_task_record(
    world: World, clock: ManualClock
) -> None:
    world.add_service("batch")
    task = world.start_task("batch")
    result = handle(
        world, world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now(), service="batch")
    )
    assert result == {"action": "ignored", "reason": "service not opted in", "task_arn": task}
    # Only the shared copy of the service's tags and the API token bucket are written.
    assert world.item_keys() == {
        f"service#{world.cluster_arn}#batch",
        f"rate#ecs:DescribeServices#{ACCOUNT}#{REGION}",  # the account's and region's bucket
    }


def test_given_enabled_tag_not_true_when_drain_event_arrives_then_no_task_record(
    world: World, clock: ManualClock
) -> None:
    world.add_service("legacy", {"drain-terminator:enabled": "yes"})
    task = world.start_task("legacy")
    handle(world, world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now(), service="legacy"))
    assert world.record(task) is None
    assert not any(key.startswith("arn:") for key in world.item_keys())


def test_given_invalid_wait_tag_when_drain_recorded_then_default_wait_and_warning_logged(
    world: World, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    world.add_service(
        "odd", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "-5"}
    )
    task = world.start_task("odd")
    handle(world, world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now(), service="odd"))
    record = world.record(task)
    assert record is not None
    assert int(record["wait_seconds"]) == 120
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "'-5'" in r.getMessage() and getattr(r, "ecs_service", None) == "odd" for r in warnings
    )


def test_given_duplicate_delivery_when_handled_twice_then_second_changes_nothing(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now())
    handle(world, event)
    before = world.record(task)
    assert handle(world, event)["action"] == "unchanged"
    assert world.record(task) == before


def test_given_later_event_first_when_earlier_drain_event_arrives_then_start_moves_back(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    t0 = clock.now()
    handle(world, world.event(task, "DEACTIVATING", "STOPPED", 5, t0 + 3))
    assert handle(world, world.event(task, "RUNNING", "STOPPED", 4, t0))["action"] == "updated"
    record = world.record(task)
    assert record is not None
    assert float(record["drain_started_at"]) == pytest.approx(t0, abs=0.001)
    assert int(record["version"]) == 5
    assert record["observed_status"] == "DEACTIVATING"


def test_given_stopped_event_when_late_drain_event_arrives_then_record_stays_closed(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    t0 = clock.now()
    stopped = world.event(task, "STOPPED", "STOPPED", 7, t0 + 300, "fargate-stopped.json")
    assert handle(world, stopped)["action"] == "closed"
    assert (
        handle(world, world.event(task, "DEACTIVATING", "STOPPED", 4, t0))["action"] == "unchanged"
    )
    record = world.record(task)
    assert record is not None
    assert record["status"] == "closed"
    assert record["outcome"] == "stopped_by_ecs"
    assert "sweep_key" not in record


def test_given_tracked_drain_when_ecs_stops_task_then_record_closed_as_stopped_by_ecs_with_ttl(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task("web")
    t0 = clock.now()
    handle(world, world.event(task, "DEACTIVATING", "STOPPED", 4, t0))
    clock.advance(330)
    handle(world, world.event(task, "STOPPED", "STOPPED", 7, t0 + 330, "fargate-stopped.json"))
    record = world.record(task)
    assert record is not None
    assert record["outcome"] == "stopped_by_ecs"
    assert int(record["expires_at"]) == int(clock.now() + 7 * 24 * 3600)


def test_given_standalone_task_when_drain_event_arrives_then_ignored(
    world: World, clock: ManualClock
) -> None:
    task = world.start_task(None)
    event = world.event(
        task, "RUNNING", "STOPPED", 4, clock.now(), "standalone-task-drain.json", service=None
    )
    assert handle(world, event)["action"] == "ignored"
    assert world.item_count() == 0


def test_given_running_event_when_handled_then_ignored(world: World, clock: ManualClock) -> None:
    task = world.start_task("web")
    event = world.event(task, "RUNNING", "RUNNING", 3, clock.now(), "fargate-running.json")
    assert handle(world, event)["action"] == "ignored"
    assert world.item_count() == 0


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda e: e.pop("detail"), id="no-detail"),
        pytest.param(lambda e: e["detail"].update(version="4"), id="version-string"),
        pytest.param(lambda e: e["detail"].update(taskArn="task-1"), id="short-task-arn"),
        pytest.param(lambda e: e["detail"].update(updatedAt="yesterday"), id="bad-time"),
        pytest.param(lambda e: e["detail"].update(lastStatus="SLEEPING"), id="bad-status"),
        pytest.param(lambda e: e.update({"detail-type": "ECS Service Action"}), id="other-type"),
    ],
)
def test_given_malformed_event_when_handled_then_rejected_logged_counted_and_ledger_untouched(
    world: World,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    mutate: object,
) -> None:
    task = world.start_task("web")
    event = world.event(task, "DEACTIVATING", "STOPPED", 4, clock.now())
    mutate(event)  # type: ignore[operator]
    result = handle(world, event)
    assert result["action"] == "rejected"
    assert world.item_count() == 0
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors
    assert getattr(errors[0], "event_id", None) == event["id"]
    assert getattr(errors[0], "reason", "")
    assert emf_metrics(capsys.readouterr().out)["EventsRejected"] == [1.0]


def test_given_not_a_mapping_when_handled_then_rejected(world: World) -> None:
    assert handle(world, ["not", "an", "event"])["action"] == "rejected"


def test_given_container_instance_event_when_handled_then_rejected(world: World) -> None:
    assert handle(world, load_event("container-instance-state-change.json"))["action"] == "rejected"
