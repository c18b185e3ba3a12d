"""parse_task_event: the fixture events parse, and every validation rule rejects clearly."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from serverless.domain.errors import DrainTerminatorError, InvalidEventError
from serverless.domain.events import event_id_of, parse_task_event, parse_timestamp

EVENTS = Path(__file__).resolve().parents[2] / "events"
TASK_FIXTURES = sorted(
    p.name
    for p in EVENTS.glob("*.json")
    if json.loads(p.read_text())["detail-type"] == "ECS Task State Change"
)


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def drain_event() -> dict[str, Any]:
    return copy.deepcopy(load("fargate-drain-deactivating.json"))


def test_given_fixture_directory_when_listed_then_all_task_fixtures_are_found() -> None:
    assert len(TASK_FIXTURES) == 13
    assert "container-instance-state-change.json" not in TASK_FIXTURES


@pytest.mark.parametrize("name", TASK_FIXTURES)
def test_given_task_fixture_when_parsed_then_fields_match_the_json(name: str) -> None:
    raw = load(name)
    detail = raw["detail"]

    event = parse_task_event(raw)

    assert event.event_id == raw["id"]
    assert event.task_arn == detail["taskArn"]
    assert event.cluster_arn == detail["clusterArn"]
    assert event.group == detail["group"]
    assert event.last_status == detail["lastStatus"]
    assert event.desired_status == detail["desiredStatus"]
    assert event.version == detail["version"]
    assert event.time == pytest.approx(epoch(detail["updatedAt"]), abs=1e-6)
    assert event.stopped_reason == detail.get("stoppedReason")
    assert event.stop_code == detail.get("stopCode")
    if "stoppingAt" in detail:
        assert event.stopping_at == pytest.approx(epoch(detail["stoppingAt"]), abs=1e-6)
    else:
        assert event.stopping_at is None
    if "stoppedAt" in detail:
        assert event.stopped_at == pytest.approx(epoch(detail["stoppedAt"]), abs=1e-6)
    else:
        assert event.stopped_at is None


@pytest.mark.parametrize(
    ("name", "service", "drain", "stopped"),
    [
        ("fargate-running.json", "web", False, False),
        ("fargate-drain-deactivating.json", "web", True, False),
        ("fargate-drain-running.json", "web", True, False),
        ("fargate-stopping.json", "web", False, False),
        ("fargate-stopped.json", "web", False, True),
        ("fargate-stopped-by-terminator.json", "web", False, True),
        ("ec2-bridge-drain.json", "api", True, False),
        ("ec2-bridge-stopped.json", "api", False, True),
        ("standalone-task-drain.json", None, True, False),
    ],
)
def test_given_task_fixture_when_parsed_then_classified_as_documented(
    name: str, service: str | None, drain: bool, stopped: bool
) -> None:
    event = parse_task_event(load(name))
    assert event.service_name == service
    assert event.is_drain is drain
    assert event.is_stopped is stopped


def test_given_stopped_fixture_when_parsed_then_stop_times_are_epoch_seconds() -> None:
    event = parse_task_event(load("fargate-stopped.json"))
    assert event.stopping_at is not None
    assert event.stopped_at is not None
    assert event.stopping_at < event.stopped_at <= event.time


def test_given_container_instance_event_when_parsed_then_rejected_for_its_detail_type() -> None:
    with pytest.raises(InvalidEventError, match="detail-type must be 'ECS Task State Change'"):
        parse_task_event(load("container-instance-state-change.json"))


def test_given_updated_at_and_envelope_time_when_parsed_then_updated_at_wins() -> None:
    raw = drain_event()
    raw["time"] = "2026-11-22T10:00:05Z"
    raw["detail"]["updatedAt"] = "2026-11-22T10:00:00.500Z"

    event = parse_task_event(raw)

    assert event.time == epoch("2026-11-22T10:00:00.500+00:00")


@pytest.mark.parametrize("absent", ["missing", "null"])
def test_given_no_updated_at_when_parsed_then_envelope_time_is_used(absent: str) -> None:
    raw = drain_event()
    if absent == "missing":
        del raw["detail"]["updatedAt"]
    else:
        raw["detail"]["updatedAt"] = None
    raw["time"] = "2026-11-22T10:00:07Z"

    assert parse_task_event(raw).time == epoch("2026-11-22T10:00:07+00:00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00z", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00.123Z", datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-22T10:00:34.52Z", datetime(2026, 11, 22, 10, 0, 34, 520000, tzinfo=UTC)),
        ("2026-11-22T10:00:00+00:00", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-22T12:00:00+02:00", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-22T05:30:00-04:30", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),  # no tz: UTC
        (" 2026-11-22T10:00:00Z ", datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_given_timestamp_format_when_parsed_then_same_instant_in_epoch_seconds(
    text: str, expected: datetime
) -> None:
    assert parse_timestamp(text, "detail.updatedAt") == expected.timestamp()
    raw = drain_event()
    raw["detail"]["updatedAt"] = text
    assert parse_task_event(raw).time == expected.timestamp()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        1795341600,
        None,
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2013-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
    ],
)
def test_given_bad_timestamp_when_parsed_then_invalid_event_names_the_field(value: object) -> None:
    with pytest.raises(InvalidEventError, match=r"^detail\.stoppedAt "):
        parse_timestamp(value, "detail.stoppedAt")


Mutation = Callable[[dict[str, Any]], object]


def _set(key: str, value: object) -> Mutation:
    return lambda e: e["detail"].__setitem__(key, value)


def _drop(key: str) -> Mutation:
    return lambda e: e["detail"].pop(key)


OTHER_CLUSTER_TASK = (
    "arn:aws:ecs:us-east-1:111122223333:task/staging/7e3f9c21b84d4a0f9d5e6b2c1a8f0e43"
)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(
            lambda e: e.pop("source"), r"^source must be 'aws\.ecs', got None", id="no-src"
        ),
        pytest.param(lambda e: e.update(source="aws.ec2"), "source must be", id="other-source"),
        pytest.param(lambda e: e.pop("detail-type"), "detail-type must be", id="no-detail-type"),
        pytest.param(
            lambda e: e.update({"detail-type": "ECS Service Action"}),
            "got 'ECS Service Action'",
            id="other-detail-type",
        ),
        pytest.param(lambda e: e.pop("detail"), "^detail must be a JSON object$", id="no-detail"),
        pytest.param(lambda e: e.update(detail=[1]), "^detail must be a JSON object$", id="list"),
        pytest.param(_drop("taskArn"), r"detail\.taskArn must be a non-empty string", id="no-task"),
        pytest.param(_set("taskArn", ""), r"detail\.taskArn must be a non-empty", id="empty-task"),
        pytest.param(_set("taskArn", 7), r"detail\.taskArn must be .* got 7", id="int-task"),
        pytest.param(
            _set("taskArn", "arn:aws:ecs:eu-west-1:111122223333:task/7e3f9c21b84d4a0f9d5e6b2c1a8"),
            r"detail\.taskArn does not belong to detail\.clusterArn",
            id="old-format-task-arn-of-other-region",
        ),
        pytest.param(_set("taskArn", "task-1"), "not a task ARN", id="not-an-arn"),
        pytest.param(
            _set("taskArn", "arn:aws:ecs:us-east-1:111122223333:service/prod/web"),
            "not a task ARN",
            id="service-arn",
        ),
        pytest.param(_drop("clusterArn"), r"detail\.clusterArn must be", id="no-cluster"),
        pytest.param(
            _set("clusterArn", "prod"), r"detail\.clusterArn is not a cluster ARN", id="bad-cluster"
        ),
        pytest.param(
            _set("taskArn", OTHER_CLUSTER_TASK),
            r"detail\.taskArn does not belong to detail\.clusterArn",
            id="task-of-other-cluster",
        ),
        pytest.param(_drop("lastStatus"), r"detail\.lastStatus must be", id="no-last"),
        pytest.param(
            _set("lastStatus", "SLEEPING"),
            r"detail\.lastStatus is not a task status: 'SLEEPING'",
            id="bad-last",
        ),
        pytest.param(
            _set("lastStatus", "running"), r"detail\.lastStatus is not a task status", id="lower"
        ),
        pytest.param(_drop("desiredStatus"), r"detail\.desiredStatus must be", id="no-desired"),
        pytest.param(
            _set("desiredStatus", "GONE"),
            r"detail\.desiredStatus is not a task status: 'GONE'",
            id="bad-desired",
        ),
        pytest.param(_drop("version"), r"detail\.version must be a whole number", id="no-version"),
        pytest.param(_set("version", "4"), r"detail\.version .* got '4'", id="string-version"),
        pytest.param(_set("version", True), r"detail\.version .* got True", id="bool-version"),
        pytest.param(_set("version", -1), r"detail\.version .* got -1", id="negative-version"),
        pytest.param(_set("version", 4.0), r"detail\.version .* got 4\.0", id="float-version"),
        pytest.param(_set("group", 5), r"detail\.group must be a string, got 5", id="int-group"),
        pytest.param(
            _set("updatedAt", "yesterday"),
            r"detail\.updatedAt is not an ISO-8601 timestamp: 'yesterday'",
            id="bad-updated-at",
        ),
        pytest.param(
            _set("updatedAt", 1795341600),
            r"detail\.updatedAt must be an ISO-8601 timestamp string",
            id="numeric-updated-at",
        ),
        pytest.param(
            lambda e: (e["detail"].pop("updatedAt"), e.pop("time")),
            r"^time must be an ISO-8601 timestamp string, got None",
            id="no-time-at-all",
        ),
        pytest.param(
            lambda e: (e["detail"].pop("updatedAt"), e.update(time="soon")),
            r"^time is not an ISO-8601 timestamp",
            id="bad-envelope-time",
        ),
        pytest.param(
            _set("stoppingAt", "later"), r"detail\.stoppingAt is not an ISO", id="bad-stopping-at"
        ),
        pytest.param(
            _set("stoppedAt", 12), r"detail\.stoppedAt must be an ISO", id="bad-stopped-at"
        ),
    ],
)
def test_given_event_breaking_one_rule_when_parsed_then_rejected_with_reason(
    mutate: Mutation, reason: str
) -> None:
    raw = drain_event()
    mutate(raw)
    with pytest.raises(InvalidEventError, match=reason):
        parse_task_event(raw)


@pytest.mark.parametrize("event", [None, [], "event", 42, ["source", "aws.ecs"]])
def test_given_non_object_when_parsed_then_rejected_naming_the_type(event: object) -> None:
    with pytest.raises(InvalidEventError, match=r"^event must be a JSON object, got "):
        parse_task_event(event)


@pytest.mark.parametrize(
    "task",
    [
        pytest.param(
            "arn:aws:ecs:us-east-1:111122223333:task/prod/7e3f9c21b84d4a0f9d5e6b2c1a8f0e43\n",
            id="trailing-newline",
        ),
        pytest.param(
            "arn:aws:ecs:us-east-1:\u0661\u0661\u0661\u0661\u0662\u0662\u0662\u0662\u0663\u0663"
            "\u0663\u0663:task/prod/7e3f9c21b84d4a0f9d5e6b2c1a8f0e43",
            id="arabic-indic-account-digits",
        ),
    ],
)
def test_given_task_arn_that_is_not_a_real_arn_when_parsed_then_rejected(task: str) -> None:
    # The ARN becomes the ledger key and is sent to DescribeTasks/StopTask as it is.
    raw = drain_event()
    raw["detail"]["taskArn"] = task
    with pytest.raises(InvalidEventError, match="not a task ARN"):
        parse_task_event(raw)


@pytest.mark.parametrize(
    ("partition", "region"),
    [("aws", "us-east-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")],
)
def test_given_old_format_task_arn_when_parsed_then_accepted_with_cluster_from_cluster_arn(
    partition: str, region: str
) -> None:
    # Tasks started before the account enabled long ARNs keep task/<id> (no cluster).
    raw = drain_event()
    task = f"arn:{partition}:ecs:{region}:111122223333:task/7e3f9c21b84d4a0f9d5e6b2c1a8f0e43"
    cluster = f"arn:{partition}:ecs:{region}:111122223333:cluster/prod"
    raw["detail"].update(taskArn=task, clusterArn=cluster)
    event = parse_task_event(raw)
    assert (event.task_arn, event.cluster_arn) == (task, cluster)
    assert event.service_name == "web"


@pytest.mark.parametrize(
    "task",
    [
        pytest.param("arn:aws:ecs:us-east-1:444455556666:task/7e3f9c21b84d", id="other-account"),
        pytest.param("arn:aws-cn:ecs:us-east-1:111122223333:task/7e3f9c21b84d", id="other-part"),
    ],
)
def test_given_old_format_task_arn_of_another_account_or_partition_when_parsed_then_rejected(
    task: str,
) -> None:
    raw = drain_event()
    raw["detail"]["taskArn"] = task
    with pytest.raises(InvalidEventError, match=r"does not belong to detail\.clusterArn"):
        parse_task_event(raw)


def test_given_started_by_when_parsed_then_kept() -> None:
    assert parse_task_event(drain_event()).started_by == "ecs-svc/4790528617301924468"


def test_given_invalid_event_error_when_caught_then_it_is_a_domain_error() -> None:
    assert issubclass(InvalidEventError, DrainTerminatorError)


def test_given_no_group_when_parsed_then_not_a_service_task() -> None:
    raw = drain_event()
    del raw["detail"]["group"]
    event = parse_task_event(raw)
    assert event.group == ""
    assert event.service_name is None


@pytest.mark.parametrize("group", ["service:", "family:web", "web", "Service:web"])
def test_given_group_without_service_name_when_parsed_then_service_name_is_none(
    group: str,
) -> None:
    raw = drain_event()
    raw["detail"]["group"] = group
    assert parse_task_event(raw).service_name is None


@pytest.mark.parametrize("value", ["", None, 3])
def test_given_empty_or_non_string_stop_reason_when_parsed_then_none(value: object) -> None:
    raw = drain_event()
    raw["detail"]["stoppedReason"] = value
    raw["detail"]["stopCode"] = value
    event = parse_task_event(raw)
    assert event.stopped_reason is None
    assert event.stop_code is None


def test_given_version_zero_when_parsed_then_accepted() -> None:
    raw = drain_event()
    raw["detail"]["version"] = 0
    assert parse_task_event(raw).version == 0


@pytest.mark.parametrize("version", [2**63, 10**39, 10**40 - 1])
def test_given_version_beyond_64_bits_when_parsed_then_rejected(version: int) -> None:
    raw = drain_event()
    raw["detail"]["version"] = version
    with pytest.raises(InvalidEventError, match=r"detail\.version"):
        parse_task_event(raw)
    raw["detail"]["version"] = 2**63 - 1
    assert parse_task_event(raw).version == 2**63 - 1


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"id": "abc"}, "abc"),
        ({"id": ""}, "<none>"),
        ({"id": 5}, "<none>"),
        ({}, "<none>"),
        (["id"], "<none>"),
        (None, "<none>"),
    ],
)
def test_given_event_when_id_read_for_logging_then_string_id_or_placeholder(
    event: object, expected: str
) -> None:
    assert event_id_of(event) == expected
