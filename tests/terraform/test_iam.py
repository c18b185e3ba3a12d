"""IAM in terraform/: no wildcard action, StopTask scoped to the cluster variable, and each
role allowed the calls in docs/contracts.md and nothing else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.hcl import MODULE_DIR, REPO_ROOT, load_tf, render_locals

ACCOUNT = {"partition": '"aws"', "region": '"us-east-1"', "account_id": '"111122223333"'}
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
    },
}
# Actions that support no resource-level permissions: "*" is their only valid resource.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "elasticloadbalancing:DescribeTargetHealth",
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


def test_given_the_module_when_read_then_policies_only_come_from_policy_documents(
    resources: dict[str, Any],
) -> None:
    for role_policy in resources["aws_iam_role_policy"].values():
        assert role_policy["policy"].startswith("${data.aws_iam_policy_document.")
    assert "aws_iam_role_policy_attachment" not in resources
    for role in resources["aws_iam_role"].values():
        assert role["assume_role_policy"] == "${data.aws_iam_policy_document.lambda_assume.json}"


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


@pytest.mark.parametrize("function", ["task_events", "sweeper"])
def test_given_a_function_role_when_read_then_logs_go_only_to_its_own_log_group(
    module: dict[str, Any], function: str
) -> None:
    (logs,) = [s for s in _policy(module, function) if s["sid"] == "OwnLogGroup"]

    assert logs["resources"] == [f"${{aws_cloudwatch_log_group.{function}.arn}}:*"]


def test_given_the_sweeper_role_when_read_then_dynamodb_is_limited_to_the_table_and_index(
    module: dict[str, Any],
) -> None:
    (ledger,) = [s for s in _policy(module, "sweeper") if s["sid"] == "Ledger"]

    assert ledger["resources"] == ["${local.table_arn}", "${local.due_index_arn}"]
    assert module["locals"]["due_index_arn"] == "${aws_dynamodb_table.ledger.arn}/index/due-index"


def test_given_the_sweeper_role_when_read_then_stop_task_is_scoped_to_the_cluster_variable(
    module: dict[str, Any],
) -> None:
    (stop,) = [s for s in _policy(module, "sweeper") if "ecs:StopTask" in s["actions"]]

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


def test_given_the_dead_letter_queue_when_read_then_only_the_rules_may_send_to_it(
    module: dict[str, Any],
) -> None:
    (allow,) = [s for s in _policy(module, "dead_letter") if s["effect"] == "Allow"]

    assert allow["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert allow["condition"][0]["variable"] == "aws:SourceArn"
    assert set(allow["condition"][0]["values"]) == {
        "${aws_cloudwatch_event_rule.task_state_change.arn}",
        "${aws_cloudwatch_event_rule.sweeper_schedule.arn}",
    }


def test_given_task_events_role_when_read_then_it_may_start_only_the_sweeper() -> None:
    iam = (REPO_ROOT / "terraform" / "iam.tf").read_text(encoding="utf-8")
    block = iam.split('sid       = "StartSweeperEarly"', 1)[1].split("}", 1)[0]
    assert '"lambda:InvokeFunction"' in block
    assert "resources = [aws_lambda_function.sweeper.arn]" in block
