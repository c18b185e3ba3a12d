"""The functions in terraform/lambda.tf run the real handlers with the settings they need."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from serverless import settings as settings_module
from serverless.observability import DEFAULT_NAMESPACE, SERVICE_NAME
from serverless.settings import REQUIRED_VARIABLES, Settings, load_settings
from tests.support.hcl import REPO_ROOT, function_environments

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
}
# CONFIRM_AFTER_SECONDS is read by both: the STOPPED event can close a record after our stop.
SWEEPER_ONLY = {"SWEEP_HORIZON_SECONDS", "LEASE_SECONDS", "DRY_RUN"}
# Only task-events starts the sweeper early.
TASK_EVENTS_ONLY = {"SWEEPER_FUNCTION_NAME", "KICK_BELOW_SECONDS"}
FUNCTIONS = ("task_events", "sweeper")


def _local(module: dict[str, Any], expression: str) -> Any:
    match = re.fullmatch(r"\$\{local\.(\w+)\}", expression)
    assert match, f"expected a reference to a local, got {expression!r}"
    return module["locals"][match.group(1)]


@pytest.fixture(scope="module")
def environments() -> dict[str, dict[str, str]]:
    """Both functions' environments, computed by Terraform with the variable defaults."""
    return function_environments()


def test_given_the_functions_when_read_then_their_environment_is_the_rendered_one(
    resources: dict[str, Any],
) -> None:
    for function in FUNCTIONS:
        body = resources["aws_lambda_function"][function]
        assert body["environment"][0]["variables"] == f"${{local.{function}_environment}}"


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
    assert set(environments["sweeper"]) == (SETTINGS_NAMES - TASK_EVENTS_ONLY) | POWERTOOLS_NAMES


def test_given_task_events_when_its_environment_is_read_then_it_has_no_sweeper_settings(
    environments: dict[str, dict[str, str]],
) -> None:
    environment = environments["task_events"]

    assert SWEEPER_ONLY.isdisjoint(environment)
    assert set(environment) == (SETTINGS_NAMES - SWEEPER_ONLY) | POWERTOOLS_NAMES
    assert environment["SWEEPER_FUNCTION_NAME"] == "<sweeper>"


def test_given_variable_defaults_when_loaded_by_the_settings_module_then_they_are_its_defaults(
    environments: dict[str, dict[str, str]],
) -> None:
    environment = environments["sweeper"]

    assert load_settings(environment) == Settings(table_name="<table>")
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
    handler = _local(module, module["resource"]["aws_lambda_function"][function]["handler"])
    module_name, _, attribute = handler.rpartition(".")

    assert f"`{handler}`" in CONTRACTS
    source = REPO_ROOT / Path(*module_name.split(".")).with_suffix(".py")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    assert attribute in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    # The module imports in the function's environment and exposes a callable.
    monkeypatch.setenv("TABLE_NAME", "ledger")
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    assert callable(getattr(importlib.import_module(module_name), attribute))


def test_given_the_functions_when_read_then_they_use_the_layer_runtime_and_architecture(
    resources: dict[str, Any], variables: dict[str, Any]
) -> None:
    for function in FUNCTIONS:
        body = resources["aws_lambda_function"][function]
        assert body["layers"] == ["${aws_lambda_layer_version.runtime.arn}"]
        assert body["runtime"] == "${var.runtime}"
        assert body["architectures"] == ["${var.architecture}"]
        assert body["source_code_hash"] == "${data.external.function_package.result.base64sha256}"
    assert variables["runtime"]["default"] == "python3.13"
    assert variables["architecture"]["default"] == "arm64"


def test_given_the_sweeper_when_read_then_its_timeout_covers_the_horizon_and_runs_are_capped(
    resources: dict[str, Any], variables: dict[str, Any]
) -> None:
    sweeper = resources["aws_lambda_function"]["sweeper"]
    (precondition,) = sweeper["lifecycle"][0]["precondition"]

    assert sweeper["reserved_concurrent_executions"] == "${var.sweeper_reserved_concurrency}"
    assert variables["sweeper_reserved_concurrency"]["default"] == 2
    assert variables["sweeper_timeout"]["default"] == 180
    assert precondition["condition"] == "${var.sweeper_timeout > var.sweep_horizon_seconds + 30}"
    assert (
        variables["sweeper_timeout"]["default"] > variables["sweep_horizon_seconds"]["default"] + 30
    )
