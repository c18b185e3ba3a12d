"""The composition root: bootstrap wires what it is given, production ports by default."""

from __future__ import annotations

import threading
import time

import pytest

from serverless.adapters import (
    DynamoLedger,
    EcsAdapter,
    LambdaSweepTrigger,
    TargetHealthAdapter,
    ports_from_clients,
    production_ports,
)
from serverless.adapters.concurrency import InlineConcurrency, ThreadConcurrency
from serverless.app import bootstrap, current, install, reset
from serverless.domain.accounts import scope_of
from serverless.domain.clock import SystemClock
from serverless.domain.errors import ConfigError
from serverless.settings import Settings
from tests.support.clock import ManualClock
from tests.support.fakes import CLUSTER_ARN, FakeEcs, FakeLedger, fake_ports


def test_given_settings_clock_and_ports_when_bootstrapped_then_app_uses_exactly_them(
    clock: ManualClock,
) -> None:
    settings = Settings(table_name="t")
    ports = fake_ports(FakeEcs(clock), FakeLedger())
    app = bootstrap(settings, clock=clock, ports=ports)
    assert app.settings is settings
    assert app.clock is clock
    assert app.ports is ports


def test_given_nothing_when_bootstrapped_then_environment_system_clock_and_production_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-env")
    app = bootstrap()
    assert app.settings.table_name == "from-env"
    assert isinstance(app.clock, SystemClock)
    assert isinstance(app.ports.ledger, DynamoLedger)
    assert isinstance(app.ports.ecs, EcsAdapter)
    assert isinstance(app.ports.health, TargetHealthAdapter)
    assert isinstance(app.ports.concurrency, ThreadConcurrency)


def test_given_bad_environment_when_bootstrapped_then_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEASE_SECONDS", "soon")
    with pytest.raises(ConfigError, match="LEASE_SECONDS"):
        bootstrap()


@pytest.mark.parametrize(
    ("function", "below", "expected"),
    # With early starts off (0) the sweeper still hands over: the trigger stays.
    [("sweeper", 120, True), ("", 120, False), ("sweeper", 0, True)],
)
def test_given_sweeper_name_when_production_ports_built_then_trigger_only_with_a_name(
    function: str, below: int, expected: bool
) -> None:
    settings = Settings("t", sweeper_function_name=function, early_start_below_seconds=below)
    trigger = production_ports(settings).trigger
    assert isinstance(trigger, LambdaSweepTrigger) is expected
    assert (trigger is None) is not expected


def test_given_clients_without_lambda_when_ports_built_then_no_trigger_and_inline_work() -> None:
    settings = Settings("t", sweeper_function_name="sweeper")
    ports = ports_from_clients(settings, dynamodb=object(), ecs=object(), elbv2=object())
    assert ports.trigger is None
    assert isinstance(ports.concurrency, InlineConcurrency)
    with_lambda = ports_from_clients(
        settings, dynamodb=object(), ecs=object(), elbv2=object(), lambda_=object()
    )
    assert isinstance(with_lambda.trigger, LambdaSweepTrigger)


def test_given_installed_app_when_current_then_it_until_reset(clock: ManualClock) -> None:
    app = bootstrap(Settings("t"), clock=clock, ports=fake_ports(FakeEcs(clock)))
    install(app)
    try:
        assert current() is app
    finally:
        reset()
    assert current() is not app  # bootstrapped afresh from the environment
    reset()


# -- Concurrency ----------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [InlineConcurrency(), ThreadConcurrency()])
def test_given_items_when_mapped_then_results_in_item_order(
    concurrency: InlineConcurrency | ThreadConcurrency,
) -> None:
    def slow_square(n: int) -> int:
        time.sleep(0.001 * (5 - n))
        return n * n

    assert concurrency.map(slow_square, [1, 2, 3, 4], limit=4) == [1, 4, 9, 16]


@pytest.mark.parametrize("concurrency", [InlineConcurrency(), ThreadConcurrency()])
def test_given_failing_items_when_mapped_then_all_run_and_first_failure_raised(
    concurrency: InlineConcurrency | ThreadConcurrency,
) -> None:
    ran: list[int] = []

    def work(n: int) -> int:
        ran.append(n)
        if n in (2, 3):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 2"):
        concurrency.map(work, [1, 2, 3, 4], limit=2)
    assert sorted(ran) == [1, 2, 3, 4]


def test_given_limit_when_threads_map_then_never_more_at_once_and_really_concurrent() -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def work(_: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1

    ThreadConcurrency().map(work, list(range(9)), limit=3)
    assert peak == 3


def test_given_a_cold_task_events_container_when_it_looks_up_a_service_then_one_token_is_taken(
    clock: ManualClock,
) -> None:
    ecs, ledger = FakeEcs(clock), FakeLedger()
    ecs.add_service("web", {"drain-terminator:enabled": "true"})
    app = bootstrap(Settings(table_name="t"), clock=clock, ports=fake_ports(ecs, ledger))

    app.services.policy(CLUSTER_ARN, "web")

    # One DescribeServices, one token from the account's shared bucket: a block of several
    # would leave tokens unspent in a container that may never call again (the bucket of
    # the cluster's account and region).
    assert [call[:2] for call in ledger.token_calls] == [
        (f"ecs:DescribeServices#{scope_of(CLUSTER_ARN).key}", 1)
    ]
