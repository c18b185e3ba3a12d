"""The task-events rule's pattern, rendered by Terraform from the HCL, selects exactly the
events the code needs (matched with moto's EventBridge pattern engine)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from sim.terraform import MODULE_DIR, event_pattern, event_pattern_json

EVENTS = Path(__file__).resolve().parents[1] / "events"
PROD = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
OTHER = "arn:aws:ecs:us-east-1:111122223333:cluster/batch"

MATCHING = [
    "fargate-drain-deactivating.json",
    "fargate-drain-running.json",
    "fargate-stopped.json",
    "fargate-stopped-by-terminator.json",
    "ec2-bridge-drain.json",
    "ec2-bridge-stopped.json",
    "fargate-spot-interruption.json",
    "fargate-elb-unhealthy.json",
    "ec2-instance-draining.json",
    "fargate-old-arn-drain.json",
]
NOT_MATCHING = [
    "fargate-running.json",
    "fargate-stopping.json",
    "standalone-task-drain.json",
    "container-instance-state-change.json",
]


def _event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


def _matches(event: dict[str, Any], cluster_arns: tuple[str, ...] = ()) -> bool:
    matcher: Any = EventPattern.load(event_pattern_json(cluster_arns))
    return bool(matcher.matches_event(event))


def _task_event(last: str, desired: str, group: str = "service:web") -> dict[str, Any]:
    event = copy.deepcopy(_event("fargate-drain-running.json"))
    event["detail"].update(lastStatus=last, desiredStatus=desired, group=group)
    return event


def test_given_the_rule_when_rendered_then_it_is_the_shared_pattern_file() -> None:
    shared = json.loads((MODULE_DIR / "patterns" / "task-state-change.json").read_text())

    assert event_pattern() == shared


def test_given_the_event_fixtures_when_listed_then_every_one_is_classified() -> None:
    assert {p.name for p in EVENTS.glob("*.json")} == set(MATCHING) | set(NOT_MATCHING)


@pytest.mark.parametrize("name", MATCHING)
def test_given_drain_or_stop_event_when_matched_against_rule_then_it_matches(name: str) -> None:
    assert _matches(_event(name))


@pytest.mark.parametrize("name", NOT_MATCHING)
def test_given_irrelevant_event_when_matched_against_rule_then_it_does_not_match(
    name: str,
) -> None:
    assert not _matches(_event(name))


@pytest.mark.parametrize(
    ("last", "desired", "expected"),
    [
        ("RUNNING", "STOPPED", True),
        ("DEACTIVATING", "STOPPED", True),
        ("STOPPED", "STOPPED", True),
        ("RUNNING", "RUNNING", False),
        ("PENDING", "RUNNING", False),
        ("ACTIVATING", "RUNNING", False),
        ("PROVISIONING", "STOPPED", False),
        ("STOPPING", "STOPPED", False),
        ("DEPROVISIONING", "STOPPED", False),
    ],
)
def test_given_a_status_pair_when_matched_against_rule_then_only_drains_and_stops_match(
    last: str, desired: str, expected: bool
) -> None:
    assert _matches(_task_event(last, desired)) is expected


def test_given_a_non_service_task_when_matched_against_rule_then_it_does_not_match() -> None:
    assert not _matches(_task_event("RUNNING", "STOPPED", group="family:web"))


def test_given_another_detail_type_when_matched_against_rule_then_it_does_not_match() -> None:
    event = _task_event("RUNNING", "STOPPED")
    event["detail-type"] = "ECS Service Action"

    assert not _matches(event)


def test_given_another_source_when_matched_against_rule_then_it_does_not_match() -> None:
    event = _task_event("RUNNING", "STOPPED")
    event["source"] = "custom.ecs"

    assert not _matches(event)


def test_given_no_cluster_list_when_rendered_then_the_pattern_has_no_cluster_filter() -> None:
    assert "clusterArn" not in event_pattern()["detail"]
    assert _matches(_event("fargate-drain-running.json"))


def test_given_a_cluster_list_when_rendered_then_only_those_clusters_match() -> None:
    pattern = event_pattern([PROD, OTHER])
    drain = _event("fargate-drain-running.json")
    elsewhere = copy.deepcopy(drain)
    elsewhere["detail"]["clusterArn"] = "arn:aws:ecs:us-east-1:111122223333:cluster/dev"

    assert pattern["detail"]["clusterArn"] == [PROD, OTHER]
    assert _matches(drain, (PROD, OTHER))
    assert not _matches(elsewhere, (PROD, OTHER))
    assert not _matches(drain, (OTHER,))
