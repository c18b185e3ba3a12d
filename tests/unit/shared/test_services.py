"""ServiceDirectory: cached policies for task-events, fresh batched views for stop decisions."""

from __future__ import annotations

from typing import Any

import pytest

from serverless.domain.errors import AwsUnavailableError, DrainTerminatorError
from serverless.domain.model import ServiceInfo, ServicePolicy, ServiceSnapshot
from serverless.settings import Settings
from serverless.shared.services import (
    LOOKUP_CLAIM_SECONDS,
    LOOKUP_POLL_SECONDS,
    ServiceDirectory,
)
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeEcs, FakeLedger

OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "45"}


@pytest.fixture
def ecs(clock: ManualClock) -> FakeEcs:
    return FakeEcs(clock)


def directory(ecs: FakeEcs, clock: ManualClock, **overrides: Any) -> ServiceDirectory:
    return ServiceDirectory(ecs, Settings(table_name="t", **overrides), clock)


def test_given_tagged_service_when_policy_read_then_parsed_from_tags(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    policy = directory(ecs, clock).policy(CLUSTER_ARN, "web")
    assert policy == ServicePolicy(enabled=True, wait_seconds=45)


def test_given_missing_service_when_policy_read_then_not_opted_in(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    services = directory(ecs, clock)
    assert services.policy(CLUSTER_ARN, "ghost").enabled is False


def test_given_cached_policy_when_read_within_ttl_then_ecs_asked_once(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    services = directory(ecs, clock, tag_cache_seconds=60)
    services.policy(CLUSTER_ARN, "web")
    clock.advance(59.9)
    services.policy(CLUSTER_ARN, "web")
    assert ecs.describe_service_calls == [(CLUSTER_ARN, "web")]


def test_given_cached_policy_when_ttl_passes_then_tags_fetched_again_and_change_seen(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    services = directory(ecs, clock, tag_cache_seconds=60)
    assert services.policy(CLUSTER_ARN, "web").enabled
    ecs.add_service("web", {"drain-terminator:enabled": "false"})
    clock.advance(30)
    assert services.policy(CLUSTER_ARN, "web").enabled  # still cached
    clock.advance(30)
    assert not services.policy(CLUSTER_ARN, "web").enabled
    assert len(ecs.describe_service_calls) == 2


def test_given_missing_service_when_read_twice_within_ttl_then_absence_is_cached(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    services = directory(ecs, clock)
    services.policy(CLUSTER_ARN, "ghost")
    services.policy(CLUSTER_ARN, "ghost")
    assert len(ecs.describe_service_calls) == 1


def test_given_zero_cache_seconds_when_read_twice_then_fetched_each_time(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    services = directory(ecs, clock, tag_cache_seconds=0)
    services.policy(CLUSTER_ARN, "web")
    services.policy(CLUSTER_ARN, "web")
    assert len(ecs.describe_service_calls) == 2


def test_given_services_in_two_clusters_when_read_then_cached_separately(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    other = CLUSTER_ARN.replace("/prod", "/staging")
    ecs.add_service("web", OPTED_IN)
    ecs.add_service("web", {}, cluster_arn=other)
    services = directory(ecs, clock)
    assert services.policy(CLUSTER_ARN, "web").enabled
    assert not services.policy(other, "web").enabled


def test_given_custom_prefix_and_default_when_read_then_settings_are_applied(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", {"edt/enabled": "true"})
    policy = directory(ecs, clock, tag_prefix="edt/", default_wait_seconds=33).policy(
        CLUSTER_ARN, "web"
    )
    assert policy == ServicePolicy(enabled=True, wait_seconds=33)


def test_given_invalid_tag_when_read_repeatedly_then_warning_logged_once_per_tag_set(
    ecs: FakeEcs, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ecs.add_service(
        "odd", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "soon"}
    )
    services = directory(ecs, clock, tag_cache_seconds=60)

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]

    services.policy(CLUSTER_ARN, "odd")
    services.policy(CLUSTER_ARN, "odd")
    assert len(warnings()) == 1
    assert "drain-terminator:wait-seconds='soon'" in warnings()[0]
    record = next(r for r in caplog.records if r.levelname == "WARNING")
    assert getattr(record, "ecs_service", None) == "odd"
    assert getattr(record, "cluster_arn", None) == CLUSTER_ARN

    clock.advance(60)
    services.policy(CLUSTER_ARN, "odd")  # read again, same tags: no new warning
    assert len(warnings()) == 1
    ecs.add_service(
        "odd", {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "later"}
    )
    clock.advance(60)
    services.policy(CLUSTER_ARN, "odd")
    assert len(warnings()) == 2


# -- fresh views for stop decisions ----------------------------------------------------------------


def test_given_views_younger_than_max_age_when_fresh_asked_then_reused_without_a_call(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    services = directory(ecs, clock)
    services.policy(CLUSTER_ARN, "web")
    clock.advance(5)
    view = services.fresh(CLUSTER_ARN, ["web"], max_age=5)["web"]
    assert isinstance(view, ServiceSnapshot)
    assert view.read_at == clock.now() - 5
    assert len(ecs.describe_services_calls) == 1


def test_given_view_older_than_max_age_when_fresh_asked_then_read_again_and_opt_out_seen(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    services = directory(ecs, clock, tag_cache_seconds=60)
    assert services.policy(CLUSTER_ARN, "web").enabled
    ecs.add_service("web", {"drain-terminator:enabled": "false"})
    clock.advance(5.1)
    view = services.fresh(CLUSTER_ARN, ["web"], max_age=5)["web"]
    assert isinstance(view, ServiceSnapshot)
    assert not view.policy.enabled
    assert view.read_at == clock.now()
    # The task-events path sees the fresher view as well.
    assert not services.policy(CLUSTER_ARN, "web").enabled


def test_given_23_stale_services_when_fresh_asked_then_batches_of_ten_each_paced(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    names = [f"svc-{i:02d}" for i in range(23)]
    for name in names:
        ecs.add_service(name, OPTED_IN)
    paced: list[float] = []
    views = directory(ecs, clock).fresh(
        CLUSTER_ARN, [*names, "svc-00", "ghost"], 5, lambda _cluster: paced.append(clock.now())
    )
    assert [len(call[1]) for call in ecs.describe_services_calls] == [10, 10, 4]
    assert len(paced) == 3
    assert all(isinstance(views[name], ServiceSnapshot) for name in names)
    ghost = views["ghost"]
    assert isinstance(ghost, ServiceSnapshot)
    assert ghost.info is None
    assert not ghost.policy.enabled


def test_given_one_service_fails_when_fresh_asked_then_only_it_carries_the_error(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    names = [f"svc-{i:02d}" for i in range(12)]
    for name in names:
        ecs.add_service(name, OPTED_IN)
    ecs.describe_services_failures["svc-11"].extend(
        [AwsUnavailableError("Throttling"), AwsUnavailableError("Throttling")]
    )
    views = directory(ecs, clock).fresh(CLUSTER_ARN, names, 5)
    assert all(isinstance(views[name], ServiceSnapshot) for name in names[:11])
    assert isinstance(views["svc-11"], DrainTerminatorError)
    # 10 + the failed batch of 2, then each of its services alone.
    assert [len(call[1]) for call in ecs.describe_services_calls] == [10, 2, 1, 1]


# -- the ledger's shared copy (many cold containers, one DescribeServices) -----------------------


def test_given_two_containers_when_the_second_looks_up_then_it_reads_the_shared_copy(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    ledger = FakeLedger()
    paced: list[float] = []
    settings = Settings(table_name="t")
    first = ServiceDirectory(
        ecs, settings, clock, ledger, lambda _cluster: paced.append(clock.now())
    )
    second = ServiceDirectory(
        ecs, settings, clock, ledger, lambda _cluster: paced.append(clock.now())
    )

    assert first.policy(CLUSTER_ARN, "web").enabled
    clock.advance(10)
    assert second.policy(CLUSTER_ARN, "web") == ServicePolicy(enabled=True, wait_seconds=45)

    assert len(ecs.describe_services_calls) == 1
    assert len(paced) == 1  # only the real call is paced
    assert ledger.shared_services[(CLUSTER_ARN, "web")][1] == clock.now() - 10


def test_given_shared_copy_older_than_the_cache_time_when_looked_up_then_ecs_asked_again(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ledger = FakeLedger()
    ledger.put_service(CLUSTER_ARN, "web", None, clock.now() - 60)  # "no such service", 60 s ago
    ecs.add_service("web", OPTED_IN)
    services = ServiceDirectory(ecs, Settings(table_name="t"), clock, ledger)
    assert services.policy(CLUSTER_ARN, "web").enabled
    assert len(ecs.describe_services_calls) == 1
    assert ledger.shared_services[(CLUSTER_ARN, "web")][1] == clock.now()


def test_given_shared_copy_of_a_missing_service_when_fresh_then_not_opted_in_without_a_call(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ledger = FakeLedger()
    ledger.put_service(CLUSTER_ARN, "ghost", None, clock.now() - 5)
    services = ServiceDirectory(ecs, Settings(table_name="t"), clock, ledger)
    assert not services.policy(CLUSTER_ARN, "ghost").enabled
    assert ecs.describe_services_calls == []


def test_given_another_container_is_looking_up_the_service_when_policy_needed_then_its_copy_used(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    ledger = FakeLedger()
    start = clock.now()
    assert ledger.claim_service_lookup(CLUSTER_ARN, "web", start, start + LOOKUP_CLAIM_SECONDS)
    # The other container's DescribeServices answers 0.3 s later and it stores the copy.
    info = ServiceInfo(CLUSTER_ARN, "web", OPTED_IN, 2, ())
    clock.at(start + 0.3, lambda: ledger.put_service(CLUSTER_ARN, "web", info, start + 0.3))
    services = ServiceDirectory(ecs, Settings(table_name="t"), clock, ledger)

    assert services.policy(CLUSTER_ARN, "web") == ServicePolicy(enabled=True, wait_seconds=45)

    assert ecs.describe_services_calls == []  # no second DescribeServices for the same service
    assert clock.now() - (start + 0.3) <= LOOKUP_POLL_SECONDS


def test_given_the_claimed_lookup_never_stored_when_policy_needed_then_described_after_the_wait(
    ecs: FakeEcs, clock: ManualClock
) -> None:
    ecs.add_service("web", OPTED_IN)
    ledger = FakeLedger()
    start = clock.now()
    assert ledger.claim_service_lookup(CLUSTER_ARN, "web", start, start + LOOKUP_CLAIM_SECONDS)
    services = ServiceDirectory(ecs, Settings(table_name="t"), clock, ledger)

    assert services.policy(CLUSTER_ARN, "web").enabled

    assert len(ecs.describe_services_calls) == 1
    assert clock.now() == pytest.approx(start + LOOKUP_CLAIM_SECONDS, abs=LOOKUP_POLL_SECONDS)
    assert (CLUSTER_ARN, "web") not in ledger.service_lookups  # the stored copy clears it
