"""IAM in terraform/: no wildcard action, StopTask scoped to the cluster variable, and each
role allowed the calls in docs/contracts.md and nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sim.terraform import MODULE_DIR, load_tf, render_locals

ACCOUNT = {
    "partition": '"aws"',
    "region": '"us-east-1"',
    "account_id": '"111122223333"',
    "accounts": '["111122223333"]',  # accounts.tf: this account, no members
}
PROD = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
BATCH = "arn:aws:ecs:us-east-1:111122223333:cluster/batch"
COMMON = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",  # the function's own dead-letter queue
    "kms:Decrypt",  # only with var.kms_key_arn
    "kms:GenerateDataKey",
}
CONTRACT_ACTIONS = {
    "task_events": {
        "ecs:DescribeServices",
        "ecs:ListTagsForResource",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "lambda:InvokeFunction",
    },
    "sweeper": {
        "ecs:DescribeTasks",
        "ecs:StopTask",
        "ecs:DescribeServices",
        "ecs:ListTagsForResource",
        "elasticloadbalancing:DescribeTargetHealth",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "lambda:InvokeFunction",
        # ECS-native blue/green guard; the backstop (with backstop_enabled, the default).
        "ecs:DescribeServiceDeployments",
        "ecs:DescribeServiceRevisions",
        "ecs:ListTasks",
        "tag:GetResources",
        "dynamodb:BatchGetItem",
    },
}
# Actions that support no resource-level permissions: "*" is their only valid resource.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "elasticloadbalancing:DescribeTargetHealth",
    "tag:GetResources",
    # Scoped by the ecs:cluster condition key instead (AWS's ECS policy examples do so).
    "ecs:ListTasks",
}


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        if "statement" in dynamic:
            statements.extend(dynamic["statement"]["content"])
    return statements


def _all_documents() -> list[tuple[Path, str, dict[str, Any]]]:
    found = []
    for path in sorted(MODULE_DIR.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        for name, body in load_tf(path).get("data", {}).get("aws_iam_policy_document", {}).items():
            found.append((path, name, body))
    return found


def _scope(cluster_arns: list[str]) -> dict[str, Any]:
    return render_locals(
        ["variables.tf", "scope.tf"],
        {"tasks": "local.scoped_task_arns", "services": "local.scoped_service_arns"},
        stub_locals=ACCOUNT,
        values={"cluster_arns": cluster_arns},
    )


def _policy(module: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """The role's statements, including those of its source_policy_documents."""
    documents = module["data"]["aws_iam_policy_document"]
    document = documents[function]
    statements = _statements(document)
    for source in document.get("source_policy_documents", []):
        match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", source)
        assert match, f"unexpected source document {source!r}"
        statements.extend(_statements(documents[match.group(1)]))
    return statements


@pytest.mark.parametrize("function", ["task_events", "sweeper"])
def test_given_a_function_role_when_read_then_it_includes_the_shared_statements(
    module: dict[str, Any], function: str
) -> None:
    sids = {s.get("sid") for s in _policy(module, function)}
    assert {"DeadLetter", "Tracing", "OwnLogGroup", "Ledger"} <= sids


def test_given_every_policy_document_when_read_then_no_action_has_a_wildcard() -> None:
    documents = _all_documents()

    assert len(documents) >= 4
    for path, name, body in documents:
        for statement in _statements(body):
            for action in statement.get("actions", []):
                assert "*" not in action, f"{path.name}:{name} allows {action!r}"
            assert "not_actions" not in statement, f"{path.name}:{name} uses not_actions"


@pytest.mark.parametrize("function", ["task_events", "sweeper"])
def test_given_a_function_role_when_read_then_it_allows_the_contract_calls_and_no_others(
    module: dict[str, Any], function: str
) -> None:
    actions = {a for s in _policy(module, function) for a in s["actions"]}

    assert CONTRACT_ACTIONS[function] <= actions
    assert actions - CONTRACT_ACTIONS[function] <= COMMON


@pytest.mark.parametrize("function", ["task_events", "sweeper"])
def test_given_a_function_role_when_read_then_star_resources_are_only_for_unscopable_actions(
    module: dict[str, Any], function: str
) -> None:
    for statement in _policy(module, function):
        if "*" in statement["resources"]:
            assert set(statement["actions"]) <= UNSCOPABLE, statement["sid"]


def test_given_the_sweeper_role_when_read_then_stop_task_is_scoped_to_the_cluster_variable(
    module: dict[str, Any],
) -> None:
    (stop,) = [s for s in _policy(module, "sweeper") if s.get("sid") == "StopDrainingTasks"]

    assert set(stop["actions"]) == {"ecs:StopTask", "ecs:DescribeTasks"}
    assert stop["resources"] == "${local.scoped_task_arns}"
    (condition,) = stop["dynamic"]
    content = condition["condition"]["content"][0]
    assert condition["condition"]["for_each"] == (
        "${length(var.cluster_arns) == 0 ? [] : [var.cluster_arns]}"
    )
    assert content["variable"] == "ecs:cluster"
    assert content["test"] == "ArnEquals"


def test_given_clusters_when_the_scope_is_rendered_then_tasks_are_limited_to_them() -> None:
    scope = _scope([PROD, BATCH])

    assert scope["tasks"] == [
        "arn:aws:ecs:us-east-1:111122223333:task/prod/*",
        "arn:aws:ecs:us-east-1:111122223333:task/batch/*",
    ]
    assert scope["services"] == [
        "arn:aws:ecs:us-east-1:111122223333:service/prod/*",
        "arn:aws:ecs:us-east-1:111122223333:service/batch/*",
    ]


def test_given_no_clusters_when_the_scope_is_rendered_then_it_is_this_account_and_region() -> None:
    scope = _scope([])

    assert scope["tasks"] == ["arn:aws:ecs:us-east-1:111122223333:task/*"]
    assert scope["services"] == ["arn:aws:ecs:us-east-1:111122223333:service/*"]


def _dynamic(module: dict[str, Any], sid: str) -> dict[str, Any]:
    """The dynamic statement block of the sweeper's policy whose content has ``sid``."""
    document = module["data"]["aws_iam_policy_document"]["sweeper"]
    (block,) = [
        d["statement"]
        for d in document.get("dynamic", [])
        if "statement" in d and d["statement"]["content"][0].get("sid") == sid
    ]
    return block


def test_given_the_sweeper_role_when_read_then_old_format_task_arns_are_confined_by_cluster(
    module: dict[str, Any],
) -> None:
    # task/<id> names no cluster: only the ecs:cluster condition key can scope it.
    block = _dynamic(module, "StopOldFormatTasks")
    content = block["content"][0]

    assert block["for_each"] == "${length(var.cluster_arns) == 0 ? [] : [var.cluster_arns]}"
    assert set(content["actions"]) == {"ecs:StopTask", "ecs:DescribeTasks"}
    assert content["resources"] == "${local.old_format_task_arns}"
    assert content["condition"][0]["variable"] == "ecs:cluster"
    assert content["condition"][0]["test"] == "ArnEquals"
    assert content["condition"][0]["values"] == "${statement.value}"


def test_given_old_format_scope_when_rendered_then_it_covers_task_ids_of_this_account() -> None:
    scope = render_locals(
        ["variables.tf", "scope.tf"],
        {"old": "local.old_format_task_arns"},
        stub_locals=ACCOUNT,
        values={"cluster_arns": [PROD]},
    )

    assert scope["old"] == ["arn:aws:ecs:us-east-1:111122223333:task/*"]


def test_given_the_sweeper_role_when_read_then_blue_green_reads_are_on_the_scoped_services(
    module: dict[str, Any],
) -> None:
    (statement,) = [
        s for s in _policy(module, "sweeper") if s.get("sid") == "BlueGreenDeployments"
    ]
    assert statement["resources"] == "${local.scoped_service_arns}"


def test_given_the_sweeper_role_when_read_then_backstop_list_tasks_is_confined_by_cluster(
    module: dict[str, Any],
) -> None:
    block = _dynamic(module, "BackstopListTasks")
    content = block["content"][0]

    assert block["for_each"] == "${var.backstop_enabled ? [true] : []}"
    assert content["actions"] == ["ecs:ListTasks"]
    (condition,) = content["dynamic"]
    assert condition["condition"]["content"][0]["variable"] == "ecs:cluster"
    assert condition["condition"]["for_each"] == (
        "${length(var.cluster_arns) == 0 ? [] : [var.cluster_arns]}"
    )
