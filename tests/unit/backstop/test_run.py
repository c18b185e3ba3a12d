"""A backstop run on fakes: what it records, from when, and what it costs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pytest

from serverless.backstop.plan import MAX_LIST_PAGES
from serverless.backstop.run import VISIT_SECONDS, Backstop
from serverless.domain.accounts import Tenancy
from serverless.domain.errors import AwsUnavailableError, ConflictError, PermanentAwsError
from serverless.domain.model import Outcome, RecordStatus, TaskRecord, TaskState
from serverless.settings import Settings
from serverless.shared.pacing import BACKSTOP_ECS_READS, DESCRIBE_TASKS
from serverless.shared.services import ServiceDirectory
from tests.support.clock import ManualClock
from tests.support.fakes import (
    CLUSTER_ARN,
    FakeEcs,
    FakeLedger,
    FakeTrigger,
    fake_ports,
    task_arn,
)

OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
SERVICE_ARN = "arn:aws:ecs:us-east-1:111122223333:service/prod/{}"
SCALING = "Scaling activity initiated by (deployment ecs-svc/1)"
PLENTY_MS = 300_000


HUB = "111122223333"
MEMBER = "222233334444"
BROKEN = "333344445555"


@dataclass
class FakeLister:
    """:class:`serverless.ports.ServiceListPort` over a dict of tagged services (None: the
    own account's) per account; the accounts in ``failing`` fail to be listed."""

    tagged: dict[str, str] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    failing: dict[str | None, Exception] = field(default_factory=dict)
    asked: list[str | None] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.asked)

    def tagged_services(self, tag_key: str, account: str | None = None) -> dict[str, str]:
        assert tag_key == "drain-terminator:enabled"
        self.asked.append(account)
        if account in self.failing:
            raise self.failing[account]
        return dict(self.tagged if account is None else self.members.get(account, {}))


@dataclass(frozen=True)
class StaticTenancy:
    """:class:`serverless.ports.TenancyPort` of a hub with fixed members."""

    members: frozenset[str]

    def tenancy(self) -> Tenancy:
        return Tenancy(HUB, "us-east-1", self.members)


class Harness:
    def __init__(self, clock: ManualClock, **settings: object) -> None:
        self.clock = clock
        values: dict[str, object] = {"backstop_round_minutes": 1, **settings}
        self.settings = Settings(table_name="t", **values)  # type: ignore[arg-type]
        self.ecs = FakeEcs(clock)
        self.ledger = FakeLedger()
        self.trigger = FakeTrigger()
        self.lister = FakeLister()
        self.ports = fake_ports(self.ecs, self.ledger, trigger=self.trigger)

    def service(self, name: str, tags: dict[str, str] | None = None, value: str = "true") -> None:
        self.ecs.add_service(name, OPTED_IN if tags is None else tags)
        self.lister.tagged[SERVICE_ARN.format(name)] = value

    def task(
        self,
        suffix: int,
        service: str = "web",
        last: str = "DEACTIVATING",
        desired: str = "STOPPED",
        stop_code: str | None = "ServiceSchedulerInitiated",
        reason: str | None = SCALING,
    ) -> str:
        arn = task_arn(suffix)
        self.ecs.tasks[arn] = TaskState(
            arn, last, desired, reason, stop_code, group=f"service:{service}", version=5
        )
        if desired == "STOPPED":
            self.ecs.stopping.setdefault((CLUSTER_ARN, service), []).append(arn)
        return arn

    def run(self, remaining_ms: int = PLENTY_MS) -> dict[str, object]:
        services = ServiceDirectory(self.ecs, self.settings, self.clock)
        backstop = Backstop(self.ports, self.lister, services, self.settings, self.clock)
        return backstop.run(lambda: remaining_ms).as_dict()


@pytest.fixture
def h(clock: ManualClock) -> Harness:
    return Harness(clock)


def test_given_a_drain_no_event_reported_when_the_backstop_runs_then_recorded_from_the_answer(
    h: Harness,
) -> None:
    h.service("web")
    lost = h.task(1)
    h.ecs.latency["DescribeTasks"] = 2.0  # the answer arrives 2 s after it was asked for
    before = h.clock.now()

    report = h.run()

    record = h.ledger.get(lost)
    assert record is not None
    assert record.status is RecordStatus.DRAINING
    assert record.found_by == "backstop"
    assert record.cause == "service-scheduler"
    assert record.version == 5
    # Never early: the drain began at or before the answer that showed it; the start
    # recorded is that answer's arrival, not the question's departure (nor anything earlier).
    assert record.drain_started_at >= before + 2.0
    assert record.drain_started_at <= h.clock.now()
    assert record.due_at == record.drain_started_at + 120
    assert report["found"] == [lost]


def test_given_known_stopped_and_foreign_tasks_when_the_backstop_runs_then_only_lost_drains_count(
    h: Harness,
) -> None:
    h.service("web")
    known = h.task(1)
    h.ledger.seed(TaskRecord(known, CLUSTER_ARN, "web", RecordStatus.DRAINING, 4, 0.0, 120, 120.0))
    stopped = h.task(2, last="STOPPED")
    stopping = h.task(3, last="STOPPING")
    foreign = h.task(4, service="api")  # moto ignores serviceName; ECS would not list it
    h.ecs.stopping[(CLUSTER_ARN, "web")].append(foreign)
    lost = h.task(5)

    h.run()

    assert h.ecs.describe_tasks_calls == [(CLUSTER_ARN, (stopped, stopping, foreign, lost))]
    assert {arn for arn in h.ledger.records} == {known, lost}


def test_given_services_not_opted_in_or_outside_the_clusters_when_run_then_not_visited(
    clock: ManualClock,
) -> None:
    h = Harness(clock, cluster_arns=(CLUSTER_ARN,))
    h.service("web")
    h.service("off", value="false")
    h.lister.tagged["arn:aws:ecs:us-east-1:111122223333:service/batch/jobs"] = "true"

    report = h.run()

    assert [call[1] for call in h.ecs.list_calls] == ["web"]
    assert report["opted_in"] == 1


@pytest.mark.parametrize("stop_code", ["SpotInterruption", "TerminationNotice"])
def test_given_a_spot_interruption_found_when_run_then_closed_at_once_never_to_be_stopped(
    h: Harness, stop_code: str
) -> None:
    h.service("web")
    spot = h.task(1, last="RUNNING", stop_code=stop_code, reason="Your Spot Task was interrupted.")

    report = h.run()

    record = h.ledger.get(spot)
    assert record is not None
    assert (record.status, record.outcome, record.cause) == (
        RecordStatus.CLOSED,
        Outcome.NOT_SHORTENED,
        "spot-interruption",
    )
    assert report["not_shortened"] == [spot]


def test_given_an_event_recorded_the_drain_meanwhile_when_written_then_that_record_stands(
    h: Harness,
) -> None:
    h.service("web")
    lost = h.task(1)
    h.ledger.put_failures[lost].append(ConflictError("exists"))

    report = h.run()

    assert report["found"] == []
    assert h.ledger.get(lost) is None  # nothing overwritten, nothing counted


def test_given_a_busy_service_when_visited_then_at_most_two_list_pages(h: Harness) -> None:
    h.service("web")
    for n in range(1, 351):
        h.task(n, last="STOPPED")

    report = h.run()

    assert len(h.ecs.list_calls) == MAX_LIST_PAGES
    calls = report["calls"]
    assert isinstance(calls, dict)
    assert calls["ListTasks"] == 2
    assert calls["DescribeTasks"] == 2  # 200 unknown ARNs, 100 per call
    assert len(h.ledger.known_calls) == 1


def test_given_many_services_when_visited_then_paced_inside_the_backstops_share(
    h: Harness,
) -> None:
    for n in range(60):
        h.service(f"svc-{n}")
        h.task(n + 1, service=f"svc-{n}", last="STOPPED")
    start = h.clock.now()

    report = h.run()

    calls = report["calls"]
    assert isinstance(calls, dict)
    ecs_calls = calls["ListTasks"] + calls["DescribeTasks"]
    assert ecs_calls == 120
    # 2 calls a second (10 % of ECS's 20/s) after a burst of 10: the run takes at least
    # (120 - 10) / 2 s of (virtual) time, and every call took a token of both buckets.
    assert h.clock.now() - start >= (ecs_calls - BACKSTOP_ECS_READS.burst) / BACKSTOP_ECS_READS.rate
    taken = {bucket for bucket, _, _ in h.ledger.token_calls}
    # DescribeTasks' bucket is the cluster's account's and region's.
    assert BACKSTOP_ECS_READS.name in taken
    assert any(bucket.startswith(f"{DESCRIBE_TASKS.name}#") for bucket in taken)


def test_given_too_little_time_when_run_then_the_rest_of_the_slice_waits_for_its_next_round(
    h: Harness,
) -> None:
    h.service("web")
    h.service("api")

    report = h.run(remaining_ms=int((VISIT_SECONDS + 5) * 1000))

    assert report["visited"] == 0
    assert report["skipped"] == 2
    assert h.ecs.list_calls == []


def test_given_a_found_drain_due_soon_when_recorded_then_a_sweeper_run_is_started(
    h: Harness,
) -> None:
    h.service("web", {**OPTED_IN, "drain-terminator:wait-seconds": "30"})
    h.task(1)

    h.run()

    assert h.trigger.starts == 1


def test_given_a_found_drain_due_later_when_recorded_then_the_schedule_handles_it(
    h: Harness,
) -> None:
    h.service("web", {**OPTED_IN, "drain-terminator:wait-seconds": "600"})
    h.task(1)

    h.run()

    assert h.trigger.starts == 0


def test_given_500_opted_in_services_when_a_round_runs_then_each_visited_once_within_bounds(
    clock: ManualClock,
) -> None:
    # The model behind docs/benchmarks.md's backstop row: 500 services, each listing 20
    # stopped tasks the ledger knows, one in 20 with a drain whose events were lost.
    h = Harness(clock, backstop_round_minutes=10)
    suffix = 0
    for number in range(500):
        name = f"svc-{number}"
        h.service(name)
        for _ in range(20):
            suffix += 1
            arn = h.task(suffix, service=name, last="STOPPED")
            h.ledger.seed(
                TaskRecord(arn, CLUSTER_ARN, name, RecordStatus.CLOSED, 7, 0.0, 120, 120.0)
            )
        if number % 20 == 0:
            suffix += 1
            h.task(suffix, service=name)
    visited = 0
    found = 0
    ecs_calls = 0
    for _ in range(10):  # one run a minute, one round
        start = clock.now()
        report = h.run()
        took = clock.now() - start
        assert took < 60  # a run ends inside its minute (pacing included)
        visited += int(report["visited"])  # type: ignore[call-overload]
        found += len(report["found"])  # type: ignore[arg-type]
        calls = report["calls"]
        assert isinstance(calls, dict)
        ecs_calls += calls.get("ListTasks", 0) + calls.get("DescribeTasks", 0)
        clock.advance(60 - took)

    assert visited == 500
    assert found == 25
    # 525 ECS reads in 600 s: well inside the backstop's 2 per second.
    assert ecs_calls == 525
    assert ecs_calls / 600 <= BACKSTOP_ECS_READS.rate


def _lookups_failed_by_account(output: str) -> dict[str, float]:
    counted: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        blob = json.loads(line)
        for directive in blob.get("_aws", {}).get("CloudWatchMetrics", []):
            names = {metric["Name"] for metric in directive["Metrics"]}
            if "LookupsFailed" in names and ["service", "account"] in directive["Dimensions"]:
                raw = blob["LookupsFailed"]
                values = raw if isinstance(raw, list) else [raw]
                counted[blob["account"]] = counted.get(blob["account"], 0.0) + sum(values)
    return counted


def test_given_a_hub_when_the_backstop_runs_then_each_member_is_listed_and_a_broken_one_counted(
    h: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    h.ports = replace(h.ports, tenancy=StaticTenancy(frozenset({MEMBER, BROKEN})))
    h.service("web")
    member_cluster = f"arn:aws:ecs:us-east-1:{MEMBER}:cluster/prod"
    h.ecs.add_service("api", OPTED_IN, cluster_arn=member_cluster)
    h.lister.members[MEMBER] = {f"arn:aws:ecs:us-east-1:{MEMBER}:service/prod/api": "true"}
    h.lister.failing[BROKEN] = PermanentAwsError("AssumeRole: AccessDenied")
    lost = f"arn:aws:ecs:us-east-1:{MEMBER}:task/prod/{'1':0>32}"
    h.ecs.tasks[lost] = TaskState(
        lost,
        "DEACTIVATING",
        "STOPPED",
        SCALING,
        "ServiceSchedulerInitiated",
        group="service:api",
        version=5,
    )
    h.ecs.stopping[(member_cluster, "api")] = [lost]

    report = h.run()

    # The own account first, then each member in turn, with its own client (the route).
    assert h.lister.asked == [None, MEMBER, BROKEN]
    assert report["opted_in"] == 2
    assert report["visited"] == 2
    assert report["found"] == [lost]
    assert report["calls"]["GetResources"] == 3  # type: ignore[index]
    # The broken member is left out of this run and counted with its account.
    assert _lookups_failed_by_account(capsys.readouterr().out) == {BROKEN: 1.0}


def test_given_a_hub_whose_own_listing_fails_when_run_then_nothing_is_visited(
    h: Harness,
) -> None:
    h.ports = replace(h.ports, tenancy=StaticTenancy(frozenset({MEMBER})))
    h.service("web")
    h.task(1)
    h.lister.failing[None] = AwsUnavailableError("GetResources: throttled")

    report = h.run()

    assert h.lister.asked == [None]
    assert report["visited"] == 0
    assert report["found"] == []
