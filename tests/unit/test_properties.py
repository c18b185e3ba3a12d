"""Property tests: the task-events entry never raises and writes only for real drains/stops;
parse_policy never raises and always yields a usable wait."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from serverless.domain.errors import InvalidEventError
from serverless.domain.events import parse_task_event
from serverless.domain.model import Outcome, RecordStatus
from serverless.domain.tags import MAX_TAG_DIGITS, parse_policy
from serverless.settings import Settings
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeEcs, fake_app, task_arn

EVENTS = Path(__file__).resolve().parent.parent / "events"
FIXTURES = {p.name: json.loads(p.read_text()) for p in sorted(EVENTS.glob("*.json"))}
PREFIX = "drain-terminator:"
OPTED_IN_SERVICES = {"web": 45, "api": 120}  # service -> wait (api has no wait tag)
ACTIONS = {"rejected", "tracked", "updated", "closed", "unchanged", "ignored"}
STATUSES = [
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
    "DELETED",
]
FAST = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)

timestamps = st.sampled_from(
    [
        "2026-11-22T10:00:00.000Z",
        "2026-11-22T10:00:00Z",
        "2026-11-22T12:00:00+02:00",
        "2026-11-22T10:00:00",
        "2026-11-22",
        "yesterday",
        "",
        "2026-11-22T10:00:00+00:00Z",
    ]
) | st.datetimes().map(lambda d: d.isoformat())

plausible: dict[str, st.SearchStrategy[Any]] = {
    "taskArn": st.sampled_from(
        [
            task_arn("7e3f9c21b84d4a0f9d5e6b2c1a8f0e43"),
            task_arn("abc", "staging"),
            "arn:aws:ecs:us-east-1:111122223333:task/7e3f9c21",
            "task-1",
            "",
        ]
    ),
    "clusterArn": st.sampled_from(
        [CLUSTER_ARN, CLUSTER_ARN.replace("/prod", "/staging"), "prod", ""]
    ),
    "group": st.sampled_from(
        ["service:web", "service:api", "service:batch", "service:", "family:web", ""]
    ),
    "lastStatus": st.sampled_from([*STATUSES, "running", "SLEEPING", ""]),
    "desiredStatus": st.sampled_from(["RUNNING", "STOPPED", "PENDING", "stopped"]),
    "version": st.integers(min_value=-2, max_value=10**20)
    | st.sampled_from([True, False, "4", 4.0, None]),
    "updatedAt": timestamps | st.none(),
    "stoppingAt": timestamps | st.none(),
    "stoppedAt": timestamps | st.none(),
    "stoppedReason": st.sampled_from(
        ["drain-terminator: load balancer target draining for 120s", "Scaling activity", ""]
    ),
}
envelope: dict[str, st.SearchStrategy[Any]] = {
    "source": st.sampled_from(["aws.ecs", "aws.ec2", "AWS.ECS"]),
    "detail-type": st.sampled_from(
        ["ECS Task State Change", "ECS Container Instance State Change", "ecs task state change"]
    ),
    "time": timestamps,
    "id": st.text(max_size=10),
}


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    event = copy.deepcopy(FIXTURES[draw(st.sampled_from(sorted(FIXTURES)))])
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        where = draw(st.sampled_from(["detail", "detail", "detail", "envelope", "replace"]))
        if where == "replace":
            key = draw(st.sampled_from(["detail", "source", "time"]))
            event[key] = draw(json_values)
            continue
        fields = plausible if where == "detail" else envelope
        target = event.get("detail") if where == "detail" else event
        if not isinstance(target, dict):
            continue
        key = draw(st.sampled_from(sorted(fields)))
        action = draw(st.sampled_from(["plausible", "plausible", "json", "delete"]))
        if action == "delete":
            target.pop(key, None)
        elif action == "json":
            target[key] = draw(json_values)
        else:
            target[key] = draw(fields[key])
    return event


def new_app() -> tuple[Any, Any, ManualClock]:
    clock = ManualClock()
    ecs = FakeEcs(clock)
    ecs.add_service("web", {PREFIX + "enabled": "true", PREFIX + "wait-seconds": "45"})
    ecs.add_service("api", {PREFIX + "enabled": "TRUE"})
    ecs.add_service("batch", {PREFIX + "wait-seconds": "5"})
    app, ledger = fake_app(Settings(table_name="t"), clock, ecs)
    return app, ledger, clock


def well_formed_target(event: Any) -> bool:
    """Whether ``event`` is a valid drain or stop event of an opted-in service's task."""
    try:
        parsed = parse_task_event(event)
    except InvalidEventError:
        return False
    # The services are opted in in CLUSTER_ARN only: the same name elsewhere is another service.
    return (
        parsed.cluster_arn == CLUSTER_ARN
        and parsed.service_name in OPTED_IN_SERVICES
        and (parsed.is_drain or parsed.is_stopped)
    )


def check_handled(event: Any) -> None:
    app, ledger, _ = new_app()
    snapshot = copy.deepcopy(event)

    result = app.handle_task_event(event)

    assert isinstance(result, dict)
    assert result["action"] in ACTIONS
    assert all(isinstance(v, str) for v in result.values())
    assert repr(event) == repr(snapshot)  # never mutated
    if not ledger.puts:
        assert not well_formed_target(event), result
        return
    # Written: independently of the parser, it must have been a drain/stop of an opted-in task.
    assert len(ledger.puts) == 1
    assert well_formed_target(event)
    assert event["source"] == "aws.ecs"
    assert event["detail-type"] == "ECS Task State Change"
    detail = event["detail"]
    service = detail["group"].removeprefix("service:")
    assert service in OPTED_IN_SERVICES
    assert (
        detail["desiredStatus"] == "STOPPED" and detail["lastStatus"] in {"RUNNING", "DEACTIVATING"}
    ) or detail["lastStatus"] == "STOPPED"
    record = ledger.puts[0]
    assert record.task_arn == detail["taskArn"]
    assert record.cluster_arn == detail["clusterArn"]
    assert record.service_name == service
    assert record.version == detail["version"]
    assert record.wait_seconds == OPTED_IN_SERVICES[service]
    parsed = parse_task_event(event)
    interrupted = detail.get("stopCode") in {"SpotInterruption", "TerminationNotice"} or (
        "your spot task was interrupted" in str(detail.get("stoppedReason") or "").lower()
    )
    if parsed.is_drain and interrupted:
        # A Spot interruption has no drain to cut: closed at once, never stopped.
        assert result["action"] == "closed"
        assert record.status is RecordStatus.CLOSED
        assert record.outcome is Outcome.NOT_SHORTENED
    elif parsed.is_drain:
        assert result["action"] == "tracked"
        assert record.status is RecordStatus.DRAINING
        assert record.drain_started_at == parsed.time
        assert record.due_at == parsed.time + record.wait_seconds
    else:
        assert result["action"] == "closed"
        assert record.status is RecordStatus.CLOSED


@FAST
@given(json_values)
def test_given_arbitrary_json_when_handled_then_dict_returned_and_ledger_untouched(
    event: Any,
) -> None:
    check_handled(event)


@FAST
@given(st.dictionaries(st.sampled_from(["source", "detail-type", "detail", "time"]), json_values))
def test_given_arbitrary_envelope_when_handled_then_dict_returned_and_ledger_untouched(
    event: dict[str, Any],
) -> None:
    check_handled(event)


@FAST
@given(mutated_events())
def test_given_mutated_fixture_event_when_handled_then_writes_only_for_opted_in_drains_or_stops(
    event: Any,
) -> None:
    check_handled(event)


def test_given_unmutated_fixtures_when_handled_then_oracle_sees_both_outcomes() -> None:
    # The mutated-event property is only meaningful if unmutated fixtures are written.
    written = set()
    for name, event in FIXTURES.items():
        app, ledger, _ = new_app()
        app.handle_task_event(copy.deepcopy(event))
        if ledger.puts:
            written.add(name)
    assert written == {
        "fargate-drain-deactivating.json",
        "fargate-drain-running.json",
        "fargate-stopped.json",
        "fargate-stopped-by-terminator.json",
        "ec2-bridge-drain.json",
        "ec2-bridge-stopped.json",
        "fargate-spot-interruption.json",  # closed at once (no drain to cut)
        "fargate-elb-unhealthy.json",
        "ec2-instance-draining.json",
        "fargate-old-arn-drain.json",
    }


# -- an ordered stream of events for one task ------------------------------------------------------

TASK = FIXTURES["fargate-drain-deactivating.json"]["detail"]["taskArn"]
T0 = 1_795_341_600.0


@st.composite
def task_event(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(
        st.sampled_from(
            [
                "fargate-drain-deactivating.json",
                "fargate-drain-running.json",
                "fargate-running.json",
                "fargate-stopping.json",
                "fargate-stopped.json",
            ]
        )
    )
    event = copy.deepcopy(FIXTURES[name])
    offset = draw(st.integers(min_value=-300, max_value=300))
    detail = event["detail"]
    detail["taskArn"] = TASK
    detail["version"] = draw(st.integers(min_value=1, max_value=9))
    detail["updatedAt"] = datetime.fromtimestamp(T0 + offset, tz=UTC).isoformat()
    for container in detail.get("containers", []):
        container["taskArn"] = TASK
    return event


@FAST
@given(st.lists(task_event(), min_size=1, max_size=8))
def test_given_any_order_of_events_for_one_task_when_handled_then_closed_never_reopens(
    events: list[dict[str, Any]],
) -> None:
    app, ledger, _ = new_app()
    closed = False
    drain_times: list[float] = []
    drain_versions: list[int] = []
    for event in events:
        parsed = parse_task_event(event)
        result = app.handle_task_event(event)
        record = ledger.get(TASK)
        if closed:
            assert record is not None
            assert record.status is RecordStatus.CLOSED, result
        if parsed.is_drain and not closed:
            drain_times.append(parsed.time)
            drain_versions.append(parsed.version)
        if record is not None and record.status is RecordStatus.CLOSED:
            closed = True
        if record is not None and record.status is RecordStatus.DRAINING:
            # The wait runs from the earliest drain event seen, whatever the arrival order.
            assert record.drain_started_at == min(drain_times)
            assert record.due_at == record.drain_started_at + 45
            assert record.version == max(drain_versions)


# -- parse_policy ----------------------------------------------------------------------------------

TAG_NAMES = ["enabled", "wait-seconds", "min-healthy-percent", "max-stops-per-minute", "dry-run"]
tag_values = (
    st.text(max_size=256)
    | st.from_regex(r"\s*[0-9]{1,7}\s*", fullmatch=True)
    | st.sampled_from(["true", "TRUE", " True ", "false", "0", "-1", "100", "101", "", "\u0663"])
)
tag_keys = st.sampled_from([PREFIX + n for n in TAG_NAMES]) | st.text(max_size=30)


def valid_whole(raw: str) -> int | None:
    """The documented rule: ASCII digits only, at most MAX_TAG_DIGITS of them."""
    text = raw.strip()
    if text and len(text) <= MAX_TAG_DIGITS and all(c in "0123456789" for c in text):
        return int(text)
    return None


@FAST
@given(st.dictionaries(tag_keys, tag_values, max_size=8), st.integers(0, 10**6))
@example({PREFIX + "wait-seconds": "0" * (MAX_TAG_DIGITS + 1)}, 1)  # too many digits
def test_given_arbitrary_tags_when_parsed_then_never_raises_and_wait_is_tag_or_default(
    tags: dict[str, str], default_wait: int
) -> None:
    result = parse_policy(tags, PREFIX, default_wait)
    policy = result.policy

    assert policy.wait_seconds >= 0
    raw_wait = tags.get(PREFIX + "wait-seconds")
    tagged = None if raw_wait is None else valid_whole(raw_wait)
    if tagged is not None:
        assert policy.wait_seconds == tagged
    else:
        assert policy.wait_seconds == default_wait
    if policy.wait_seconds == 0:
        assert tagged == 0 or default_wait == 0
    wait_warnings = [w for w in result.warnings if f"{PREFIX}wait-seconds=" in w]
    assert len(wait_warnings) == (raw_wait is not None and tagged is None)

    assert policy.enabled == (tags.get(PREFIX + "enabled", "").strip().lower() == "true")
    assert policy.min_healthy_percent is None or 0 <= policy.min_healthy_percent <= 100
    assert policy.max_stops_per_minute is None or policy.max_stops_per_minute >= 1
    raw_dry = tags.get(PREFIX + "dry-run")
    assert policy.dry_run == (raw_dry is not None and raw_dry.strip().lower() != "false")
    for warning in result.warnings:
        assert warning.startswith(f"tag {PREFIX}")
