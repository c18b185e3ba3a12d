"""Simulated Lambda: containers with their own App, cold starts, maximum event age."""

from __future__ import annotations

import argparse
import contextlib
import random
from typing import Any

import pytest

from sim.aws.lambda_runtime import (
    LambdaFunction,
    deployed_reserved_concurrency,
    reserved_concurrency_argument,
)
from sim.engine.loop import EventLoop
from sim.engine.observe import Kind, ObservationLog
from sim.terraform import variable_default

START = 1_767_603_600.0


class _Apps:
    """An app factory and install hook that remember what each invocation saw."""

    def __init__(self) -> None:
        self.built = 0
        self.installed: object = None

    def factory(self) -> object:
        self.built += 1
        return f"app-{self.built}"

    def install(self, app: object) -> None:
        self.installed = app


def _function(
    loop: EventLoop, log: ObservationLog, apps: _Apps, handler: Any, **extra: Any
) -> LambdaFunction:
    return LambdaFunction(
        loop,
        log,
        name="fn",
        handler=handler,
        timeout=30.0,
        rng=random.Random(1),
        account="123456789012",
        region="us-east-1",
        app_factory=apps.factory,
        install=apps.install,
        **extra,
    )


def test_given_overlapping_invocations_when_run_then_each_container_keeps_its_own_app() -> None:
    loop, log, apps = EventLoop(START), ObservationLog(), _Apps()
    seen: dict[str, list[object]] = {}

    def handler(event: dict[str, Any], context: Any) -> None:
        for _ in range(3):
            seen.setdefault(event["id"], []).append(apps.installed)
            loop.sleep(1.0)  # the other invocation runs meanwhile

    function = _function(loop, log, apps, handler)
    function.invoke_async({"id": "a"})
    function.invoke_async({"id": "b"})
    loop.run()
    assert seen == {"a": ["app-1"] * 3, "b": ["app-2"] * 3}
    assert [i.cold for i in function.invocations] == [True, True]

    function.invoke_async({"id": "c"})  # both idle now: a warm container is reused
    loop.run()
    assert seen["c"][0] in {"app-1", "app-2"}
    assert function.invocations[-1].cold is False
    assert apps.built == 2


def test_given_a_cold_start_when_invoked_then_the_handler_starts_later() -> None:
    loop, log, apps = EventLoop(START), ObservationLog(), _Apps()
    started: list[float] = []
    function = _function(
        loop, log, apps, lambda e, c: started.append(loop.now), cold_start_seconds=0.4
    )
    function.invoke_async({"id": "a"})
    loop.run()
    function.invoke_async({"id": "b"})
    loop.run()
    assert started == [START + 0.4, START + 0.4]  # the second reuses the warm container


def test_given_an_idle_container_when_it_idled_too_long_then_the_next_start_is_cold() -> None:
    loop, log, apps = EventLoop(START), ObservationLog(), _Apps()
    function = _function(loop, log, apps, lambda e, c: None, container_idle_seconds=60.0)
    function.invoke_async({"id": "a"})
    loop.run()
    loop.run_until(START + 120.0)
    function.invoke_async({"id": "b"})
    loop.run()
    assert [i.cold for i in function.invocations] == [True, True]


def test_given_a_throttled_event_when_older_than_the_max_event_age_then_it_is_dropped() -> None:
    loop, log, apps = EventLoop(START), ObservationLog(), _Apps()

    def busy(event: dict[str, Any], context: Any) -> None:
        loop.sleep(25.0)

    function = _function(loop, log, apps, busy, reserved_concurrency=1, max_event_age=20.0)
    function.invoke_async({"id": "first"})
    function.invoke_async({"id": "second"})  # throttled, retried, too old before a slot frees
    loop.run()
    assert [i.event_id for i in function.invocations] == ["first"]
    assert function.dropped == 1
    dropped = log.of_kind(Kind.LAMBDA_DROPPED)
    assert [o.data["event_id"] for o in dropped] == ["second"]
    assert dropped[0].data["age"] > 20.0


def test_given_a_throttled_event_when_retried_then_one_second_later_doubling_each_time() -> None:
    """Lambda's queue retries a throttled event 1 s after the first attempt, the interval
    doubling up to 5 minutes."""
    loop, log, apps = EventLoop(START), ObservationLog(), _Apps()

    def busy(event: dict[str, Any], context: Any) -> None:
        loop.sleep(20.0)

    function = _function(loop, log, apps, busy, reserved_concurrency=1)
    function.invoke_async({"id": "first"})
    function.invoke_async({"id": "second"})
    loop.run()

    throttled = [round(o.at - START, 3) for o in log.of_kind(Kind.LAMBDA_THROTTLED)]
    assert throttled == [0.0, 1.0, 3.0, 7.0, 15.0]  # then 31 s: the first has ended at 20 s
    assert [round(i.started_at - START, 3) for i in function.invocations] == [0.0, 31.0]


def test_given_a_simulated_deployment_when_containers_start_then_none_shares_a_client() -> None:
    """botocore's standard retry mode keeps a retry quota per client. Containers sharing
    clients would drain one quota together under faults, and then stop retrying in every
    container at once, which no Lambda deployment does: each container has its own."""
    from sim.aws.clients import OnFirstUse
    from sim.scenarios import scenario_named
    from sim.simulation import Simulation

    record = Simulation(
        scenario_named("two-target-groups"), seed=7, counterfactual=False
    ).run_once()
    seen: dict[int, str] = {}
    for function in record.functions:
        assert function.app_factory is not None
        for container in (function.app_factory(), function.app_factory()):
            ports = container.ports
            for adapter in (ports.ledger, ports.ecs, ports.health, ports.trigger):
                # The ECS and ELB adapters route by ARN (one account here: any ARN).
                held = adapter._client
                client = held.get() if hasattr(held, "get") else held("")
                assert isinstance(client, OnFirstUse)
                assert not client.created, "a container makes a client when it first calls it"
                # Each client's own event emitter carries its retry handler and quota.
                events = client.meta.events
                assert client.created
                assert id(events) not in seen, f"{function.name} shares {seen.get(id(events))}"
                seen[id(events)] = f"{function.name}: {type(adapter).__name__}"
    assert len(seen) == 2 * 2 * 4


def test_given_a_client_made_on_first_use_when_called_twice_then_made_once() -> None:
    from sim.aws.clients import OnFirstUse

    made: list[object] = []

    class _Client:
        def describe_tasks(self) -> str:
            return "described"

    def make() -> _Client:
        made.append(_Client())
        return made[-1]

    proxy = OnFirstUse(make)
    assert made == []
    assert not proxy.created
    assert proxy.describe_tasks() == "described"
    assert proxy.describe_tasks() == "described"
    assert len(made) == 1
    assert proxy.created


def test_given_client_classes_kept_when_clients_made_then_one_class_and_own_handlers() -> None:
    import botocore.client
    import botocore.session

    from sim.aws.clients import botocore_work_kept

    session = botocore.session.get_session()
    original = botocore.client.ClientCreator._create_client_class

    def client() -> Any:
        return session.create_client(
            "ecs", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )

    with botocore_work_kept():
        first, second = client(), client()
    third = client()

    assert type(first) is type(second), "inside: the class is built once"
    assert type(third) is not type(first), "outside: botocore's own behaviour again"
    assert first.meta.events is not second.meta.events, "each client keeps its own handlers"
    assert botocore.client.ClientCreator._create_client_class is original
    assert first.describe_tasks.__name__ == "describe_tasks"


class _Sent(Exception):
    """Raised in place of sending a request."""


def test_given_user_agent_texts_kept_when_requests_sent_then_the_header_is_botocores() -> None:
    import botocore.session
    import botocore.useragent

    from sim.aws.clients import botocore_work_kept

    session = botocore.session.get_session()

    def user_agents() -> list[str]:
        sent: list[str] = []
        client = session.create_client(
            "ecs", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )

        def answer(request: Any, **_: Any) -> Any:
            sent.append(request.headers["User-Agent"].decode())
            raise _Sent  # not retried: one request per call

        client.meta.events.register("before-send", answer)
        for _ in range(2):  # plain calls, then calls with a feature id (a paginator's)
            with contextlib.suppress(_Sent):
                client.list_clusters()
            with contextlib.suppress(_Sent):
                next(iter(client.get_paginator("list_clusters").paginate()))
        return sent

    original = botocore.useragent.sanitize_user_agent_string_component
    to_string = botocore.useragent.UserAgentString.to_string
    plain = user_agents()
    with botocore_work_kept():
        kept_texts = user_agents()
        kept = botocore.useragent.sanitize_user_agent_string_component
        assert botocore.useragent.UserAgentString.to_string is not to_string
    assert botocore.useragent.sanitize_user_agent_string_component is original
    assert botocore.useragent.UserAgentString.to_string is to_string
    assert kept is not original
    assert kept.cache_info().hits > 0  # type: ignore[attr-defined]
    assert len(plain) == 4
    assert len(set(plain)) == 2, "a call with a feature id sends another header"
    assert kept_texts == plain, "the same headers with and without the caches"


def test_given_many_simulated_clients_when_made_then_the_shared_session_does_not_grow() -> None:
    """Every client copies the shared botocore session's handlers; making clients must not
    add to them (a boto3 Session per client did: boto3 registers its handlers again)."""
    from sim.aws.clients import botocore_session, client

    class _Interceptor:
        def attach(self, made: Any, account: str | None = None) -> Any:
            return made

    emitter: Any = botocore_session().get_component("event_emitter")

    def handlers() -> int:
        return len(list(emitter._emitter._handlers.prefix_search("creating-client-class.s3")))

    client(_Interceptor(), "ecs", "us-east-1")  # type: ignore[arg-type]
    before = handlers()
    for _ in range(3):
        client(_Interceptor(), "ecs", "us-east-1")  # type: ignore[arg-type]
    assert handlers() == before


def test_given_the_module_when_a_simulation_is_built_then_it_reserves_what_the_module_does() -> (
    None
):
    from sim.scenarios import scenario_named
    from sim.simulation import Simulation
    from sim.terraform import backstop_schedule

    assert deployed_reserved_concurrency("task_events") == variable_default(
        "task_events_reserved_concurrency"
    )
    # terraform/functions.tf: the sweeper's variable, plus a slot for the backstop's run.
    backstop = 1 if backstop_schedule() is not None else 0
    assert backstop == 1  # the module deploys the backstop by default
    assert deployed_reserved_concurrency("sweeper") == (
        variable_default("sweeper_reserved_concurrency") + backstop
    )
    scenario = scenario_named("scale-in")
    assert Simulation(scenario).sweeper_concurrency == deployed_reserved_concurrency("sweeper")
    assert Simulation(scenario, sweeper_concurrency=None).sweeper_concurrency is None
    assert Simulation(scenario, sweeper_concurrency=2).sweeper_concurrency == 2


@pytest.mark.parametrize(
    ("text", "value"), [("module", "module"), ("unreserved", None), ("1", 1), ("10", 10)]
)
def test_given_a_concurrency_on_a_command_line_when_parsed_then_module_none_or_a_number(
    text: str, value: object
) -> None:
    assert reserved_concurrency_argument(text) == value


@pytest.mark.parametrize("text", ["0", "11", "-1", "two", ""])
def test_given_a_concurrency_the_module_refuses_when_parsed_then_a_plain_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="give 1-10, 'unreserved' or 'module'"):
        reserved_concurrency_argument(text)
