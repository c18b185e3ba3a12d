"""examples/premise: ``terraform validate`` (Terraform CLI + the hashicorp/aws schema, 0 errors
and 0 warnings) and what the premise command relies on in it.

Validation needs the Terraform CLI and a filesystem mirror of hashicorp/aws, found as
``make e2e`` finds them; where either is absent the test fails and says which.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from sim.terraform import MODULE_DIR, REPO_ROOT, load_tf
from tests.terraform.conftest import Validate
from tools.e2e.terraform import (
    Missing,
    Terraform,
    find_plugin_dir,
    find_terraform,
    write_cli_config,
)
from tools.premise.stack import EXAMPLE_DIR, StackOutputs

PREMISE = MODULE_DIR / "examples" / "premise"
IGNORED = shutil.ignore_patterns(
    "__pycache__", ".terraform", "*.tfstate*", "build", "builds", "*.auto.tfvars.json"
)


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return load_tf(PREMISE)


def test_given_the_example_when_validated_by_terraform_then_valid_without_warnings(
    tmp_path: Path, validate: Validate
) -> None:
    try:
        binary, plugin_dir = find_terraform(), find_plugin_dir()
    except Missing as missing:
        pytest.fail(f"terraform validate of examples/premise needs Terraform: {missing}")
    for name in ("terraform", "serverless", "handlers", "layers"):
        shutil.copytree(REPO_ROOT / name, tmp_path / name, ignore=IGNORED)
    terraform = Terraform(binary, write_cli_config(tmp_path / "terraform.rc", plugin_dir), {})
    directory = tmp_path / "terraform" / "examples" / "premise"

    result = validate(terraform, directory)

    assert result["valid"], result["diagnostics"]
    assert (result["error_count"], result["warning_count"]) == (0, 0), result["diagnostics"]


def test_given_the_example_when_read_then_variables_are_typed_described_and_outputs_described(
    example: dict[str, Any],
) -> None:
    for name, body in example["variable"].items():
        assert body.get("type"), f"variable {name} has no type"
        assert body.get("description", "").endswith("."), f"variable {name} lacks a description"
        assert body.get("validation") or body["type"] == "bool", f"variable {name} unvalidated"
    for name, body in example["output"].items():
        assert body.get("description"), f"output {name} has no description"


def test_given_the_example_when_read_then_it_outputs_what_the_premise_command_reads(
    example: dict[str, Any],
) -> None:
    assert EXAMPLE_DIR == PREMISE
    needed = {
        "region",
        "account_id",
        "cluster_arn",
        "services",
        "deregistration_delay_seconds",
        "wait_seconds",
        "table_name",
        "tag_prefix",
        "sweeper_log_group",
    }
    assert set(example["output"]) == needed
    assert set(StackOutputs.__dataclass_fields__) >= {"region", "table_name", "tag_prefix"}


def test_given_the_example_when_read_then_exec_is_on_end_to_end_and_the_drain_is_long(
    example: dict[str, Any],
) -> None:
    resources = example["resource"]
    fargate = resources["aws_ecs_service"]["fargate"]
    module = example["module"]["drain_terminator"]

    assert fargate["enable_execute_command"] is True
    assert fargate["tags"] == "${local.opt_in}"
    assert module["source"] == "../.."
    assert module["exec_enabled"] is True
    assert module["ssm_signal_enabled"] == "${var.ec2_variant}"
    assert module["table_deletion_protection"] is False
    assert resources["aws_lb"]["this"]["enable_deletion_protection"] is False
    assert example["variable"]["deregistration_delay_seconds"]["default"] == 600
    assert example["variable"]["wait_seconds"]["default"] == 30
    # The task role holds exactly the ECS Exec channels.
    (statement,) = example["data"]["aws_iam_policy_document"]["task"]["statement"]
    assert sorted(statement["actions"]) == [
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    ]
