"""Conventions a reviewer checks: typed, described, validated variables; described
outputs; versions pinned from below; alarms on the metrics the code emits."""

from __future__ import annotations

from typing import Any

import pytest

from serverless.observability import Metric
from sim.terraform import MODULE_DIR, load_tf, render_locals

EXAMPLE = MODULE_DIR / "examples" / "complete"
MINIMAL = MODULE_DIR / "examples" / "minimal"
# Variables that are free-form (any map/bool/list) and need no validation block.
UNVALIDATED = {
    "tags",
    "dry_run",
    "backstop_enabled",
    "tracing_enabled",
    "table_deletion_protection",
    "create_alarm_topic",
    "create_dashboard",
    "exec_enabled",
    "ssm_signal_enabled",
}
EXPECTED_OUTPUTS = {
    "table_name",
    "table_arn",
    "tag_prefix",  # table_name and tag_prefix: what the CLI's --from-terraform reads
    "functions",
    "layer_version_arn",
    "dead_letter_queue_url",
}


CONFIGURATIONS = pytest.mark.parametrize(
    "directory", [MODULE_DIR, EXAMPLE, MINIMAL], ids=["module", "complete", "minimal"]
)


@CONFIGURATIONS
def test_given_a_configuration_when_read_then_every_variable_is_typed_and_described(
    directory: Any,
) -> None:
    for name, body in load_tf(directory)["variable"].items():
        assert body.get("type"), f"variable {name} has no type"
        assert body.get("description", "").endswith("."), f"variable {name} lacks a description"


def test_given_the_module_when_read_then_variables_with_a_range_or_format_are_validated(
    variables: dict[str, Any],
) -> None:
    for name, body in variables.items():
        if name in UNVALIDATED:
            continue
        assert body.get("validation"), f"variable {name} has no validation block"


@CONFIGURATIONS
def test_given_a_configuration_when_read_then_every_output_is_described(directory: Any) -> None:
    for name, body in load_tf(directory)["output"].items():
        assert body.get("description"), f"output {name} has no description"


def test_given_the_module_when_read_then_it_exposes_the_documented_outputs(
    module: dict[str, Any],
) -> None:
    assert set(module["output"]) >= EXPECTED_OUTPUTS


@pytest.mark.parametrize("directory", [EXAMPLE, MINIMAL], ids=["complete", "minimal"])
def test_given_an_example_when_read_then_it_re_exports_the_module_for_the_cli(
    directory: Any,
) -> None:
    outputs = load_tf(directory)["output"]

    assert outputs["drain_terminator"]["value"] == "${module.drain_terminator}"


def test_given_the_module_when_read_then_it_has_the_naming_and_tagging_inputs(
    variables: dict[str, Any],
) -> None:
    assert variables["name_prefix"]["type"] in {"string", "${string}"}
    assert variables["tags"]["type"] == "${map(string)}"
    assert variables["cluster_arns"]["default"] == []


def test_given_versions_when_read_then_hashicorp_aws_is_the_only_provider(
    module: dict[str, Any],
) -> None:
    (terraform,) = module["terraform"]
    providers = terraform["required_providers"][0]

    assert terraform["required_version"] == ">= 1.5.0"
    # hashicorp/aws only: the packages are built by Terraform's own terraform_data. Which
    # versions it admits: tests/terraform/test_provider_versions.py (terraform init).
    assert set(providers) == {"aws"}
    assert providers["aws"]["source"] == "hashicorp/aws"


def test_given_the_alarms_when_read_then_they_watch_metrics_the_code_emits(
    module: dict[str, Any], resources: dict[str, Any]
) -> None:
    alarms = resources["aws_cloudwatch_metric_alarm"]

    # One alarm body, for_each over local.alarms (function errors, DLQ depth, stops).
    assert set(alarms) == {"this"}
    assert alarms["this"]["for_each"] == "${local.alarms}"
    assert set(module["locals"]["stop_metrics"]) == {
        Metric.STOPS_FAILED,
        Metric.STOPS_UNCONFIRMED,
        Metric.STOP_PREREQUISITES_MISSING,
    }
    assert module["locals"]["metric_dimensions"] == {"service": "${var.service_name}"}


def test_given_the_example_when_read_then_its_service_opts_in_with_tags() -> None:
    example = load_tf(EXAMPLE)
    service = example["resource"]["aws_ecs_service"]["this"]

    assert service["tags"]["${local.tag_prefix}enabled"] == "true"
    assert service["launch_type"] == "FARGATE"
    assert example["module"]["drain_terminator"]["source"] == "../.."
    assert example["module"]["drain_terminator"]["cluster_arns"] == ["${aws_ecs_cluster.this.arn}"]
    assert example["resource"]["aws_lb"]["this"]["load_balancer_type"] == "network"


def _readme_names(section: str) -> set[str]:
    text = (MODULE_DIR / "README.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return {
        line.split("|")[1].strip().strip("`")
        for line in body.splitlines()
        if line.startswith("| `")
    }


@pytest.mark.parametrize(("section", "block"), [("Inputs", "variable"), ("Outputs", "output")])
def test_given_module_readme_when_read_then_its_tables_list_exactly_the_module_interface(
    section: str, block: str
) -> None:
    declared: set[str] = set()
    for path in MODULE_DIR.glob("*.tf"):
        declared |= set(load_tf(path).get(block, {}))
    assert _readme_names(section) == declared


def test_given_the_dashboard_when_rendered_then_it_shows_the_asked_metrics_the_code_emits() -> None:
    (widgets,) = render_locals(
        ["variables.tf", "dashboard_widgets.tf"],
        {"widgets": "local.dashboard_widgets"},
        stub_locals={
            "functions": '{ task-events = { name = "te" }, sweeper = { name = "sw" } }',
            "dead_letter_name": '"dlq"',
            "region": '"us-east-1"',
            "partition": '"aws"',
        },
    ).values()
    metrics = [
        (metric[0], metric[1])
        for widget in widgets
        for metric in widget["metrics"]
        if isinstance(metric[0], str)
    ]
    expressions = [
        metric[0]["expression"]
        for widget in widgets
        for metric in widget["metrics"]
        if isinstance(metric[0], dict)
    ]
    custom = {name for namespace, name in metrics if namespace == "EcsDrainTerminator"}
    emitted = {value for name, value in vars(Metric).items() if name.isupper()}

    assert custom <= emitted  # nothing the code never emits
    assert {
        Metric.TASKS_STOPPED,
        Metric.STOP_LATENESS,
        Metric.STOPS_CONFIRMED,
        Metric.STOPS_UNCONFIRMED,
        Metric.STOPS_DEFERRED,
        Metric.DRY_RUN_STOPS,
        Metric.EVENTS_REJECTED,
        Metric.STOP_ESCALATIONS,
        Metric.STOPPED_BY_EXEC,
        Metric.STOP_PREREQUISITES_MISSING,
    } <= custom
    assert ("AWS/Lambda", "Errors") in metrics
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in metrics
    # A hub's per-account series (the dimension count_for_account adds), found by SEARCH.
    assert expressions == [
        "SEARCH('{EcsDrainTerminator,account,service} "
        'MetricName="LookupsFailed" service="ecs-drain-terminator"\', \'Sum\', 60)'
    ]


def test_given_signal_steps_when_enabled_then_the_sweeper_timeout_holds_their_time_bound(
    resources: dict[str, Any],
) -> None:
    from serverless.adapters.errors import call_time_bound, client_config
    from serverless.adapters.exec_signal import ExecSignalAdapter
    from serverless.adapters.ssm_signal import SsmSignalAdapter
    from serverless.sweep.timing import SAFETY_MARGIN_SECONDS, UNIT_SECONDS

    conditions = [
        p["condition"]
        for p in resources["aws_lambda_function"]["this"]["lifecycle"][0]["precondition"]
    ]
    step = int(UNIT_SECONDS + SAFETY_MARGIN_SECONDS)
    for variable, bound in (
        ("exec_enabled", ExecSignalAdapter().time_bound),
        ("ssm_signal_enabled", SsmSignalAdapter().time_bound),
    ):
        expected = (
            f'${{each.key != "sweeper" || !var.{variable} || var.sweeper_timeout > {step} + '
            f"{int(bound)} + local.assume_role_seconds}}"
        )
        assert expected in conditions, variable
    # A hub's port adds one AssumeRole of the member role (AccountSignalPort.time_bound).
    accounts = load_tf(MODULE_DIR / "accounts.tf")["locals"]
    assume_role = int(call_time_bound(client_config("sts")))
    assert accounts["assume_role_seconds"] == f"${{local.hub_enabled ? {assume_role} : 0}}"
