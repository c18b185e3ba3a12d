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
# The stop actions' calls: granted only when their module variable turns them on.
STOP_ACTION_STATEMENTS = {
    "ExecIntoDrainingTasks": ("exec_enabled", {"ecs:ExecuteCommand"}),
    "ExecSessionChannel": ("exec_enabled", {"ssmmessages:OpenDataChannel"}),
    "EndExecSessions": ("exec_enabled", {"ssm:TerminateSession"}),
    "FindContainerInstances": ("ssm_signal_enabled", {"ecs:DescribeContainerInstances"}),
    "RunSignalDocument": ("ssm_signal_enabled", {"ssm:SendCommand"}),
    "RunOnContainerInstances": ("ssm_signal_enabled", {"ssm:SendCommand"}),
    "FollowSignalCommands": (
        "ssm_signal_enabled",
        {"ssm:GetCommandInvocation", "ssm:CancelCommand"},
    ),
}
STOP_ACTION_CALLS = {a for _, actions in STOP_ACTION_STATEMENTS.values() for a in actions}
# Actions that support no resource-level permissions: "*" is their only valid resource.
UNSCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "elasticloadbalancing:DescribeTargetHealth",
    "tag:GetResources",
    # Scoped by the ecs:cluster condition key instead (AWS's ECS policy examples do so).
    "ecs:ListTasks",
    "ssm:GetCommandInvocation",
    "ssm:CancelCommand",
    "ssmmessages:OpenDataChannel",
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
        if any(part.startswith(".") for part in path.relative_to(MODULE_DIR).parts):
            continue  # .terraform/, and other tests' scratch copies (Terraform ignores both)
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


def _sources(document: dict[str, Any]) -> list[str]:
    """The names of the documents merged into ``document`` (source_policy_documents)."""
    sources = document.get("source_policy_documents", [])
    text = sources if isinstance(sources, str) else " ".join(sources)
    return re.findall(r"data\.aws_iam_policy_document\.(\w+)(?:\[\*\])?\.json", text)


def _policy(module: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """The role's statements, including those of its source_policy_documents (each
    feature's document as if its variable were on)."""
    documents = module["data"]["aws_iam_policy_document"]
    document = documents[function]
    statements = _statements(document)
    for source in _sources(document):
        statements.extend(_statements(documents[source]))
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
    optional = STOP_ACTION_CALLS if function == "sweeper" else set()

    assert CONTRACT_ACTIONS[function] <= actions
    assert actions - CONTRACT_ACTIONS[function] <= COMMON | optional


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
    assert condition["condition"]["for_each"] == "${local.cluster_conditions}"
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


def _feature_statements(module: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The statements of the sweeper's feature documents by sid: (the document's count,
    the statement)."""
    documents = module["data"]["aws_iam_policy_document"]
    found = {}
    for name in _sources(documents["sweeper"]):
        document = documents[name]
        if "count" in document:
            for statement in document.get("statement", []):
                found[statement["sid"]] = (document["count"], statement)
    return found


def test_given_the_sweeper_role_when_read_then_old_format_task_arns_are_confined_by_cluster(
    module: dict[str, Any],
) -> None:
    # task/<id> names no cluster: only the ecs:cluster condition key can scope it.
    block = _dynamic(module, "StopOldFormatTasks")
    content = block["content"][0]

    assert block["for_each"] == "${local.cluster_conditions}"
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
    (statement,) = [s for s in _policy(module, "sweeper") if s.get("sid") == "BlueGreenDeployments"]
    resources = statement["resources"]
    # IAM requires both resource types of each read: the service and its deployment or
    # revision (the Service Authorization Reference; parliament's data agrees).
    assert "local.scoped_service_arns" in resources
    assert '":service/", ":service-deployment/"' in resources
    assert '":service/", ":service-revision/"' in resources


def test_given_the_sweeper_role_when_read_then_backstop_list_tasks_is_confined_by_cluster(
    module: dict[str, Any],
) -> None:
    count, content = _feature_statements(module)["BackstopListTasks"]

    assert count == "${var.backstop_enabled ? 1 : 0}"
    assert content["actions"] == ["ecs:ListTasks"]
    (condition,) = content["dynamic"]
    assert condition["condition"]["content"][0]["variable"] == "ecs:cluster"
    assert condition["condition"]["for_each"] == "${local.cluster_conditions}"


def test_given_the_cluster_conditions_when_rendered_then_one_list_of_the_listed_clusters() -> None:
    for clusters, expected in (([PROD, BATCH], [[PROD, BATCH]]), ([], [])):
        rendered = render_locals(
            ["variables.tf", "scope.tf"],
            {"conditions": "local.cluster_conditions"},
            stub_locals=ACCOUNT,
            values={"cluster_arns": clusters},
        )

        assert rendered["conditions"] == expected


# -- stop actions: off by default, scoped, parliament clean -----------------------------------


def test_given_stop_action_statements_when_read_then_each_exists_only_with_its_variable(
    module: dict[str, Any], variables: dict[str, Any]
) -> None:
    dynamic = _feature_statements(module)

    assert set(STOP_ACTION_STATEMENTS) <= set(dynamic)
    for sid, (variable, actions) in STOP_ACTION_STATEMENTS.items():
        count, content = dynamic[sid]
        assert count == f"${{var.{variable} ? 1 : 0}}", sid
        assert set(content["actions"]) == actions, sid
    for variable in ("exec_enabled", "ssm_signal_enabled"):
        assert variables[variable]["default"] is False
        assert variables[variable]["type"] == "bool"


def _conditions_of(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        block["condition"]["content"][0]["variable"]: block["condition"]
        for block in content.get("dynamic", [])
    }


def test_given_exec_statement_when_read_then_conditioned_on_cluster_and_container_name(
    module: dict[str, Any],
) -> None:
    _, content = _feature_statements(module)["ExecIntoDrainingTasks"]
    conditions = _conditions_of(content)

    assert content["resources"] == "${concat(local.scoped_cluster_arns, local.scoped_task_arns)}"
    assert conditions["ecs:cluster"]["content"][0]["test"] == "ArnEquals"
    assert conditions["ecs:container-name"]["for_each"] == (
        "${length(var.exec_container_names) == 0 ? [] : [var.exec_container_names]}"
    )
    _, sessions = _feature_statements(module)["EndExecSessions"]
    assert sessions["resources"] == "${local.exec_session_arns}"


def test_given_send_command_when_read_then_one_document_and_tagged_instances_only(
    module: dict[str, Any],
) -> None:
    statements = _feature_statements(module)
    _, document = statements["RunSignalDocument"]
    _, instances = statements["RunOnContainerInstances"]

    assert document["resources"] == ["${local.ssm_signal_document_arn}"]
    assert "dynamic" not in document and "condition" not in document
    assert instances["resources"] == (
        "${concat([local.ssm_signal_document_arn], local.ssm_signal_instance_arns)}"
    )
    [tag] = instances["condition"]
    assert tag["variable"] == "ssm:resourceTag/drain-terminator:cluster"
    assert tag["values"] == '${local.all_clusters ? ["*"] : local.ssm_signal_cluster_names}'


@pytest.mark.parametrize(
    ("clusters", "names"), [([PROD, BATCH], ["prod", "batch"]), ([], [])], ids=["listed", "all"]
)
def test_given_clusters_when_rendered_then_instance_tag_values_are_their_names(
    clusters: list[str], names: list[str]
) -> None:
    rendered = render_locals(
        ["variables.tf", "scope.tf"],
        {"names": "local.ssm_signal_cluster_names", "document": "local.ssm_signal_document_arn"},
        stub_locals=ACCOUNT,
        values={"cluster_arns": clusters},
    )

    assert rendered["names"] == names
    assert rendered["document"] == "arn:aws:ssm:us-east-1:*:document/AWS-RunShellScript"


def _rendered_stop_action_policy(module: dict[str, Any]) -> dict[str, Any]:
    """The stop-action statements as IAM JSON, with the module's scope rendered for one
    cluster, one container name and one instance tag (the conditions' sample values)."""
    expressions = {}
    statements = {
        sid: found
        for sid, found in _feature_statements(module).items()
        if sid in STOP_ACTION_STATEMENTS
    }
    for sid, (_, content) in statements.items():
        resources = content["resources"]
        if isinstance(resources, str):
            expressions[sid] = resources[2:-1]
        else:
            items = [r[2:-1] if r.startswith("${") else f'"{r}"' for r in resources]
            expressions[sid] = "[" + ", ".join(items) + "]"
    rendered = render_locals(
        ["variables.tf", "scope.tf"],
        expressions,
        stub_locals=ACCOUNT,
        values={"cluster_arns": [PROD]},
    )
    samples = {
        "ecs:cluster": [PROD],
        "ecs:container-name": ["web"],
        "ssm:resourceTag/drain-terminator:cluster": ["prod"],
    }
    policy: list[dict[str, Any]] = []
    for sid, (_, content) in statements.items():
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": content["effect"],
            "Action": sorted(content["actions"]),
            "Resource": rendered[sid],
        }
        conditions: dict[str, dict[str, list[str]]] = {}
        for variable, block in _conditions_of(content).items():
            test = block["content"][0]["test"]
            conditions.setdefault(test, {})[variable] = samples[variable]
        for condition in content.get("condition", []):
            variable = condition["variable"]
            conditions.setdefault("StringEquals", {})[variable] = samples[variable]
        if conditions:
            statement["Condition"] = conditions
        policy.append(statement)
    return {"Version": "2012-10-17", "Statement": policy}


def test_given_stop_action_statements_when_linted_then_parliament_clean(
    module: dict[str, Any],
) -> None:
    from tools.e2e.iam_check import lint_policies

    policy = _rendered_stop_action_policy(module)
    by_sid = {statement["Sid"]: statement for statement in policy["Statement"]}

    assert by_sid["EndExecSessions"]["Resource"] == [
        "arn:aws:ssm:us-east-1:111122223333:session/ecs-execute-command-*"
    ]
    # Each statement on its own, and all of them together: no finding at all.
    for sid, statement in by_sid.items():
        alone = {**policy, "Statement": [statement]}
        assert lint_policies({sid: alone}) == [], sid
    assert lint_policies({"stop actions": policy}) == []


def test_given_contracts_when_read_then_they_list_every_stop_action_call() -> None:
    contracts = (Path(MODULE_DIR).parent / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = contracts.split("## AWS calls made by the functions (IAM)", 1)[1].split("\n## ", 1)[0]

    for action in sorted(STOP_ACTION_CALLS):
        service, name = action.split(":")
        assert action in section or f"`{name}`" in section, action
