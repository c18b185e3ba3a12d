"""Events: ECS's documented format, increasing versions, rule routing, at-least-once delivery."""

from __future__ import annotations

import itertools
import random
import re
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sim.aws.ecs.events import task_event
from sim.aws.eventbridge import EventBus, ScheduleRule, rate_seconds
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog
from sim.scenarios import Delivery, ServiceSpec, TargetGroupSpec
from sim.terraform import backstop_schedule, rule_pattern, schedule_expression
from tests.sim.conftest import START, ModelWorld

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _deployment_events(world: ModelWorld, spec: ServiceSpec) -> list[dict[str, Any]]:
    world.deploy(world.add(spec))
    world.loop.run()
    return world.events


def test_given_a_fargate_deployment_when_events_are_emitted_then_they_are_well_formed(
    world: ModelWorld,
) -> None:
    events = _deployment_events(world, ServiceSpec("web", desired_count=2))

    assert events
    for event in events:
        assert event["detail-type"] == "ECS Task State Change"
        assert event["source"] == "aws.ecs"
        assert event["version"] == "0"
        assert ISO_S.match(event["time"])
        detail = event["detail"]
        assert event["resources"] == [detail["taskArn"]]
        assert detail["group"] == "service:web"
        assert re.match(r"^ecs-svc/\d+$", detail["startedBy"])
        assert detail["launchType"] == "FARGATE"
        assert detail["connectivity"] == "CONNECTED"
        assert all(ISO_MS.match(detail[k]) for k in ("createdAt", "updatedAt"))
        eni = detail["attachments"][0]
        assert eni["type"] == "ElasticNetworkInterface"
        assert {d["name"] for d in eni["details"]} >= {"privateIPv4Address", "networkInterfaceId"}
        assert "tags" not in detail
    drains = [
        e["detail"]
        for e in events
        if e["detail"]["desiredStatus"] == "STOPPED" and e["detail"]["lastStatus"] == "RUNNING"
    ]
    assert len(drains) == 2
    assert all(d["stopCode"] == "ServiceSchedulerInitiated" for d in drains)
    assert all(
        d["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
        for d in drains
    )


def test_given_any_task_when_its_state_changes_then_its_version_strictly_increases(
    world: ModelWorld,
) -> None:
    events = _deployment_events(world, ServiceSpec("web", desired_count=3, max_percent=150))

    by_task: dict[str, list[int]] = {}
    for event in events:
        by_task.setdefault(event["detail"]["taskArn"], []).append(event["detail"]["version"])
    assert len(by_task) >= 3
    for versions in by_task.values():
        assert versions == sorted(set(versions))


def test_given_a_bridge_service_when_its_tasks_run_then_events_carry_network_bindings(
    world: ModelWorld,
) -> None:
    events = _deployment_events(
        world,
        ServiceSpec(
            "api", desired_count=2, launch_type="EC2", min_healthy_percent=50, max_percent=100
        ),
    )

    detail = events[0]["detail"]
    assert detail["launchType"] == "EC2"
    assert detail["containerInstanceArn"].startswith("arn:aws:ecs:")
    binding = detail["containers"][0]["networkBindings"][0]
    assert binding["containerPort"] == 8080
    assert binding["hostPort"] >= 32768
    assert binding["protocol"] == "tcp"


@pytest.mark.parametrize(("groups", "expected"), [(1, False), (2, True)])
def test_given_n_target_groups_when_draining_then_deactivating_appears_only_with_two(
    world: ModelWorld, groups: int, expected: bool
) -> None:
    tgs = tuple(TargetGroupSpec(f"tg{i}", port=80 + i) for i in range(groups))
    events = _deployment_events(world, ServiceSpec("web", desired_count=1, target_groups=tgs))

    statuses = {e["detail"]["lastStatus"] for e in events}
    assert ("DEACTIVATING" in statuses) is expected


def _bus(delivery: Delivery, seed: int) -> tuple[EventBus, list[dict[str, Any]], EventLoop]:
    loop = EventLoop(START)
    bus = EventBus(
        loop,
        ObservationLog(),
        pattern_json=rule_pattern(),
        delivery=delivery,
        rng=random.Random(seed),
    )
    received: list[dict[str, Any]] = []
    bus.targets.append(received.append)
    return bus, received, loop


def _event(last: str, desired: str, group: str = "service:web", version: int = 1) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"id-{last}-{version}",
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "detail": {
            "group": group,
            "lastStatus": last,
            "desiredStatus": desired,
            "version": version,
            "taskArn": "arn:task/1",
        },
    }


def test_given_the_terraform_pattern_when_events_are_put_then_only_drains_and_stops_pass() -> None:
    bus, received, loop = _bus(Delivery(), seed=1)

    for event in (
        _event("RUNNING", "RUNNING"),
        _event("PENDING", "RUNNING"),
        _event("RUNNING", "STOPPED"),
        _event("DEACTIVATING", "STOPPED"),
        _event("STOPPING", "STOPPED"),
        _event("STOPPED", "STOPPED"),
        _event("RUNNING", "STOPPED", group="family:web"),
    ):
        bus.put(event)
    loop.run()

    assert sorted((e["detail"]["lastStatus"], e["detail"]["group"]) for e in received) == [
        ("DEACTIVATING", "service:web"),
        ("RUNNING", "service:web"),
        ("STOPPED", "service:web"),
    ]
    assert bus.stats["filtered"] == 4


def _delivered(seed: int, delivery: Delivery) -> list[tuple[str, float]]:
    bus, _received, loop = _bus(delivery, seed)
    for version in range(1, 41):
        loop.call_at(
            START + version, partial(bus.put, _event("RUNNING", "STOPPED", version=version))
        )
    order: list[tuple[str, float]] = []
    bus.targets[0] = lambda e: order.append((e["id"], loop.now))
    loop.run()
    return order


def test_given_duplicate_and_reorder_rates_when_delivering_then_the_seed_fixes_the_outcome() -> (
    None
):
    delivery = Delivery(duplicate_rate=0.3, reorder_rate=0.2)

    first, second, other = _delivered(5, delivery), _delivered(5, delivery), _delivered(6, delivery)

    assert first == second
    assert first != other
    ids = [event_id for event_id, _ in first]
    assert len(ids) > 40  # duplicates
    assert set(ids) == {f"id-RUNNING-{v}" for v in range(1, 41)}
    versions = [int(i.rsplit("-", 1)[1]) for i in ids]
    assert versions != sorted(versions)  # reordered


def test_given_the_terraform_schedule_when_it_fires_then_the_sweeper_runs_once_a_minute() -> None:
    loop = EventLoop(START)
    rule = ScheduleRule(
        loop,
        expression=schedule_expression(),
        rng=random.Random(1),
        account="123456789012",
        region="us-east-1",
        rule_name="sweeper",
    )
    fired: list[float] = []
    rule.targets.append(lambda event: fired.append(loop.now))
    rule.start()

    loop.run(until=START + 600)

    assert rate_seconds(schedule_expression()) == 60
    assert len(fired) == 10
    assert all(60 * k <= t - START < 60 * (k + 1) for k, t in enumerate(fired))
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert all(58.0 <= gap <= 62.0 for gap in gaps)


def test_given_full_minute_jitter_when_the_rule_fires_then_runs_can_be_far_apart() -> None:
    loop = EventLoop(START)
    rule = ScheduleRule(
        loop,
        expression="rate(1 minute)",
        rng=random.Random(3),
        account="123456789012",
        region="us-east-1",
        rule_name="sweeper",
        jitter_seconds=60,
    )
    fired: list[float] = []
    rule.targets.append(lambda event: fired.append(loop.now))
    rule.start()

    loop.run(until=START + 3600)

    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert max(gaps) > 100.0
    assert all(60 * k <= t - START < 60 * (k + 1) for k, t in enumerate(fired))


def test_given_a_matched_event_when_delivered_then_the_log_records_it(world: ModelWorld) -> None:
    bus, _, loop = _bus(Delivery(), seed=1)
    bus.put(_event("RUNNING", "STOPPED"))
    loop.run()

    kinds = [o.kind for o in bus.log]
    assert kinds == [Kind.EVENT_EMITTED, Kind.EVENT_DELIVERED]


def test_given_lost_drains_when_their_events_come_then_every_one_of_them_is_dropped(
    world: ModelWorld,
) -> None:
    bus = EventBus(
        world.loop,
        world.log,
        pattern_json=rule_pattern(),
        delivery=Delivery(lost_drain_rate=0.5),
        rng=random.Random(3),
    )
    delivered: list[dict[str, Any]] = []
    bus.targets.append(delivered.append)
    world.model._publish = lambda task: bus.put(  # type: ignore[method-assign]
        task_event(task, event_id=uuid.uuid4(), at=world.loop.now)
    )
    service = world.add(ServiceSpec("web", desired_count=8, max_percent=200))
    world.deploy(service)

    world.loop.run()

    drained = {t.arn for t in service.tasks if t.drain_started_at is not None}
    reached = {e["detail"]["taskArn"] for e in delivered}
    assert bus.lost_tasks, "seed 3 loses some of the 8 drains"
    assert bus.lost_tasks < drained
    assert not bus.lost_tasks & reached  # not one event of a lost drain arrives
    assert drained - bus.lost_tasks <= reached  # every other drain is delivered
    lost = [o.subject for o in world.log.of_kind(Kind.EVENT_LOST)]
    assert set(lost) == bus.lost_tasks
    assert bus.stats["lost"] == len(lost) > len(bus.lost_tasks)  # the STOPPED events too


def test_given_lost_drains_limited_to_a_service_when_others_drain_then_theirs_arrive(
    world: ModelWorld,
) -> None:
    bus = EventBus(
        world.loop,
        world.log,
        pattern_json=rule_pattern(),
        delivery=Delivery(lost_drain_rate=1.0, lost_services=("gone",)),
        rng=random.Random(3),
    )
    world.model._publish = lambda task: bus.put(  # type: ignore[method-assign]
        task_event(task, event_id=uuid.uuid4(), at=world.loop.now)
    )
    kept = world.add(ServiceSpec("kept", desired_count=2))
    gone = world.add(ServiceSpec("gone", desired_count=2, target_groups=(TargetGroupSpec("g"),)))
    world.deploy(kept)
    world.deploy(gone)

    world.loop.run()

    assert bus.lost_tasks == {t.arn for t in gone.tasks if t.drain_started_at is not None}
    assert not bus.lost_tasks & {t.arn for t in kept.tasks}


BACKSTOP_TF = """
locals {
  backstop_input = { source = "drain-terminator", "detail-type" = "Backstop" }
}

resource "aws_cloudwatch_event_rule" "backstop" {
  count               = var.backstop_enabled ? 1 : 0
  schedule_expression = "rate(1 minute)"
}

resource "aws_cloudwatch_event_target" "backstop" {
  count = var.backstop_enabled ? 1 : 0
  rule  = aws_cloudwatch_event_rule.backstop[0].name
  input = jsonencode(local.backstop_input)
}

variable "backstop_enabled" {
  type    = bool
  default = ENABLED
}
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_given_a_module_with_a_backstop_rule_when_read_then_its_schedule_and_input(
    tmp_path: Path, enabled: bool
) -> None:
    (tmp_path / "terraform").mkdir()
    text = BACKSTOP_TF.replace("ENABLED", "true" if enabled else "false")
    (tmp_path / "terraform" / "backstop.tf").write_text(text)

    schedule = backstop_schedule(tmp_path)

    if not enabled:
        assert schedule is None
        return
    assert schedule is not None
    assert schedule.expression == "rate(1 minute)"
    assert dict(schedule.payload) == {"source": "drain-terminator", "detail-type": "Backstop"}


def test_given_a_rule_with_a_constant_input_when_it_fires_then_targets_get_the_input() -> None:
    loop = EventLoop(START)
    payload = {"source": "drain-terminator", "detail-type": "Backstop"}
    rule = ScheduleRule(
        loop,
        expression="rate(1 minute)",
        rng=random.Random(1),
        account="123456789012",
        region="us-east-1",
        rule_name="backstop",
        payload=payload,
    )
    received: list[dict[str, Any]] = []
    rule.targets.append(received.append)
    rule.start()

    loop.run(until=START + 180)

    assert received == [payload] * 3
    assert received[0] is not payload  # each target gets its own copy
