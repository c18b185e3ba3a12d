"""The functions in terraform/functions.tf run the real handlers with the settings they need."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from serverless import settings as settings_module
from serverless.observability import DEFAULT_NAMESPACE, SERVICE_NAME
from serverless.settings import REQUIRED_VARIABLES, Settings, load_settings
from sim.terraform import REPO_ROOT, AsyncInvocation, async_invocation, function_environments

CONTRACTS = (REPO_ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
SETTINGS_NAMES = {
    value
    for name, value in vars(settings_module).items()
    if name.isupper() and isinstance(value, str) and name == value
}
POWERTOOLS_NAMES = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_TRACE_DISABLED",
}
# CONFIRM_AFTER_SECONDS is read by both: the STOPPED event can close a record after our stop.
SWEEPER_ONLY = {
    "SWEEP_HORIZON_SECONDS",
    "LEASE_SECONDS",
    "DECISION_MAX_AGE_SECONDS",
    "DRY_RUN",
    "BACKSTOP_ROUND_MINUTES",
    "CLUSTER_ARNS",
    "ESCALATE_AFTER_SECONDS",
    "STOP_SIGNAL",
    "STOP_COMMAND",
    "EXEC_CALLS_PER_SECOND",
    "SSM_COMMANDS_PER_SECOND",
}
# Only task-events starts the sweeper early (both start it: the sweeper hands a backlog over).
TASK_EVENTS_ONLY = {"EARLY_START_BELOW_SECONDS"}
# A hub's settings (terraform/environment.tf): set only when member_account_ids is, so a
# single-account deployment's environment (the variable defaults) has none of them.
HUB_ONLY = {"MEMBER_ACCOUNT_IDS", "MEMBER_ROLE_ARN_TEMPLATE", "MEMBER_EXTERNAL_ID"}
FUNCTIONS = ("task_events", "sweeper")


@pytest.fixture(scope="module")
def environments() -> dict[str, dict[str, str]]:
    """Both functions' environments, computed by Terraform with the variable defaults."""
    return function_environments()


@pytest.mark.parametrize("function", FUNCTIONS)
def test_given_a_function_when_its_environment_is_read_then_required_settings_are_set(
    environments: dict[str, dict[str, str]], function: str
) -> None:
    environment = environments[function]

    for name in REQUIRED_VARIABLES:
        assert environment.get(name, "").strip()
    assert environment["TABLE_NAME"] == "<table>"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_given_a_function_when_its_environment_is_read_then_every_name_is_one_the_code_reads(
    environments: dict[str, dict[str, str]], function: str
) -> None:
    environment = environments[function]

    unknown = set(environment) - SETTINGS_NAMES - POWERTOOLS_NAMES
    assert unknown == set()
    for name in environment:
        assert f"`{name}`" in CONTRACTS, f"{name} is not documented in docs/contracts.md"


def test_given_the_sweeper_when_its_environment_is_read_then_it_has_every_setting(
    environments: dict[str, dict[str, str]],
) -> None:
    assert (
        set(environments["sweeper"])
        == (SETTINGS_NAMES - TASK_EVENTS_ONLY - HUB_ONLY) | POWERTOOLS_NAMES
    )


def test_given_task_events_when_its_environment_is_read_then_it_has_no_sweeper_settings(
    environments: dict[str, dict[str, str]],
) -> None:
    environment = environments["task_events"]

    assert SWEEPER_ONLY.isdisjoint(environment)
    assert set(environment) == (SETTINGS_NAMES - SWEEPER_ONLY - HUB_ONLY) | POWERTOOLS_NAMES
    assert environment["SWEEPER_FUNCTION_NAME"] == "<sweeper>"


def test_given_a_hub_when_its_environments_are_read_then_both_have_every_hub_setting() -> None:
    hub = function_environments(member_account_ids=["222233334444"], member_external_id="x-id")

    for function, only_elsewhere in (("sweeper", TASK_EVENTS_ONLY), ("task_events", SWEEPER_ONLY)):
        assert set(hub[function]) == (SETTINGS_NAMES - only_elsewhere) | POWERTOOLS_NAMES


def test_given_variable_defaults_when_loaded_by_the_settings_module_then_they_are_its_defaults(
    environments: dict[str, dict[str, str]],
) -> None:
    environment = environments["sweeper"]

    assert load_settings(environment) == Settings(
        table_name="<table>", sweeper_function_name="<sweeper>"
    )
    assert environment["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == DEFAULT_NAMESPACE


def test_given_variables_set_when_loaded_by_the_settings_module_then_they_pass_through() -> None:
    environment = function_environments(
        dry_run=True,
        tag_prefix="stopper/",
        default_wait_seconds=45,
        sweep_horizon_seconds=100,
        lease_seconds=20,
        tag_cache_seconds=5,
        record_retention_seconds=3600,
        confirm_after_seconds=90,
    )["sweeper"]

    assert load_settings(environment) == Settings(
        table_name="<table>",
        sweeper_function_name="<sweeper>",
        tag_prefix="stopper/",
        default_wait_seconds=45,
        sweep_horizon_seconds=100,
        lease_seconds=20,
        tag_cache_seconds=5,
        record_retention_seconds=3600,
        dry_run=True,
        confirm_after_seconds=90,
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_given_a_handler_string_when_resolved_then_it_names_a_real_function(
    module: dict[str, Any], function: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = module["locals"]["functions"][function.replace("_", "-")]["handler"]
    module_name, _, attribute = handler.rpartition(".")

    assert f"`{handler}`" in CONTRACTS
    source = REPO_ROOT / Path(*module_name.split(".")).with_suffix(".py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    assert attribute in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    # The module imports in the function's environment and exposes a callable.
    monkeypatch.setenv("TABLE_NAME", "ledger")
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_given_the_defaults_when_read_then_the_sweeper_timeout_covers_the_horizon_2_reserved(
    variables: dict[str, Any],
) -> None:
    # The sweeper reserves 2 (measured in docs/benchmarks.md); task-events is unreserved, and
    # either can be null for accounts at the minimum quota, which cannot reserve any.
    assert variables["sweeper_reserved_concurrency"]["default"] == 2
    assert variables["task_events_reserved_concurrency"]["default"] is None
    assert (
        variables["sweeper_timeout"]["default"] > variables["sweep_horizon_seconds"]["default"] + 30
    )


def test_given_a_module_when_async_settings_are_read_then_they_are_its_invoke_config(
    tmp_path: Path,
) -> None:
    module = tmp_path / "terraform"
    module.mkdir()
    text = (REPO_ROOT / "terraform" / "functions.tf").read_text(encoding="utf-8")
    sweeper = "async    = { maximum_event_age_in_seconds = 60, maximum_retry_attempts = 0 }"
    assert text.count(sweeper) == 1
    (module / "functions.tf").write_text(
        text.replace(sweeper, sweeper.replace("= 60,", "= 75,").replace("= 0 }", "= 1 }")),
        encoding="utf-8",
    )

    assert async_invocation("sweeper", tmp_path) == AsyncInvocation(75.0, 1)
    assert async_invocation("task-events", tmp_path) == async_invocation("task-events")


def test_given_the_simulation_when_it_deploys_the_functions_then_their_queues_are_the_modules() -> (
    None
):
    from sim.aws.lambda_runtime import ASYNC_RETRY_DELAYS, deployed_queue

    for function in ("task-events", "sweeper"):
        deployed = async_invocation(function)
        simulated = deployed_queue(function)
        assert simulated["max_event_age"] == deployed.maximum_event_age_seconds
        assert len(simulated["async_retry_delays"]) == deployed.maximum_retry_attempts
        assert (
            simulated["async_retry_delays"]
            == ASYNC_RETRY_DELAYS[: len(simulated["async_retry_delays"])]
        )
    # A tick is replaced by the next one: the sweeper's events wait a minute at most.
    assert deployed_queue("sweeper") == {"max_event_age": 60.0, "async_retry_delays": ()}
