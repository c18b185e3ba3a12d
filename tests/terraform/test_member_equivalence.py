"""The member module and its CloudFormation twin say the same thing.

The Terraform side is rendered by Terraform core (``documents.tf``, the locals every
policy, trust and pattern of the module is built from); the CloudFormation side is the
committed template deployed in moto's CloudFormation (which resolves its parameters,
conditions and intrinsic functions) and read back from moto's IAM and EventBridge. Both
come from terraform/patterns/ (tools/member_template.py generates the template).

moto keeps ``AWS::NoValue`` as ``null`` inside lists and objects where CloudFormation
drops the element: :func:`_without_nulls` drops them before comparing.
"""

from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from sim.terraform import MODULE_DIR, render_locals
from tools.member_template import MAX_CLUSTERS, TEMPLATE_FILE, render

MEMBER_DIR = MODULE_DIR / "modules" / "member"
REGION = "eu-west-1"
HUB_ROLES = [
    "arn:aws:iam::444455556666:role/drain-terminator-sweeper",
    "arn:aws:iam::444455556666:role/drain-terminator-task-events",
]
HUB_BUS = f"arn:aws:events:{REGION}:444455556666:event-bus/drain-terminator-members"


@dataclass(frozen=True)
class Case:
    clusters: list[str] = field(default_factory=list)
    exec_: bool = False
    ssm_signal: bool = False
    external_id: str | None = "drain-terminator-example"
    organization_id: str | None = None
    backstop: bool = True


CASES = {
    "defaults-every-cluster": Case(),
    "listed-clusters-all-actions": Case(["prod", "batch"], True, True),
    "every-cluster-all-actions-org": Case([], True, True, None, "o-abcdefghij"),
    "most-clusters-both-guards-no-backstop": Case(
        [f"c{index}" for index in range(MAX_CLUSTERS)], False, True, "x-id", "o-abcdefghij", False
    ),
}


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _document(value: Any) -> dict[str, Any]:
    # moto returns an inline policy created by CloudFormation as a Python repr.
    if isinstance(value, str):
        try:
            return dict(json.loads(value))
        except json.JSONDecodeError:
            return dict(ast.literal_eval(value))
    return dict(value)


def _conditions(condition: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return sorted(
        (test, variable, _as_list(values))
        for test, body in condition.items()
        for variable, values in body.items()
    )


def _cfn_statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "sid": statement["Sid"],
            "actions": _as_list(statement["Action"]),
            "resources": _as_list(statement["Resource"]),
            "conditions": _conditions(statement.get("Condition", {})),
        }
        for statement in _without_nulls(document)["Statement"]
    ]


def _tf_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "sid": statement["sid"],
            "actions": statement["actions"],
            "resources": statement["resources"],
            "conditions": sorted(
                (c["test"], c["variable"], c["values"]) for c in statement["conditions"]
            ),
        }
        for statement in statements
    ]


def _member_account() -> str:
    """The account moto deploys the stack in (its AWS::AccountId)."""
    with mock_aws():
        account: str = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    return account


def _terraform(case: Case) -> dict[str, Any]:
    return render_locals(
        ["variables.tf", "documents.tf"],
        {
            "statements": "local.statements",
            "trust": "local.trust_conditions",
            "hub_account": "local.hub_account_id",
            "pattern": "local.forward_pattern",
            "names": "[local.role_name, local.forwarder_role_name, local.forward_rule_name]",
        },
        stub_locals={
            "partition": '"aws"',
            "region": f'"{REGION}"',
            "account_id": f'"{_member_account()}"',
        },
        values={
            "hub_event_bus_arn": HUB_BUS,
            "hub_role_arns": HUB_ROLES,
            "cluster_names": case.clusters,
            "enable_backstop": case.backstop,
            "enable_exec": case.exec_,
            "enable_ssm_signal": case.ssm_signal,
            **({"external_id": case.external_id} if case.external_id else {}),
            **({"organization_id": case.organization_id} if case.organization_id else {}),
        },
        module_dir=MEMBER_DIR,
    )


def _cloudformation(case: Case) -> dict[str, Any]:
    parameters = {
        "HubEventBusArn": HUB_BUS,
        "HubFunctionRoleArns": ",".join(HUB_ROLES),
        "ClusterNames": ",".join(case.clusters),
        "EnableBackstop": str(case.backstop).lower(),
        "EnableExec": str(case.exec_).lower(),
        "EnableSsmSignal": str(case.ssm_signal).lower(),
        "ExternalId": case.external_id or "",
        "OrganizationId": case.organization_id or "",
    }
    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName="member",
            TemplateBody=TEMPLATE_FILE.read_text(encoding="utf-8"),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        outputs = {
            output["OutputKey"]: output["OutputValue"]
            for output in cloudformation.describe_stacks(StackName="member")["Stacks"][0]["Outputs"]
        }
        iam = boto3.client("iam", region_name=REGION)
        role = iam.get_role(RoleName=outputs["RoleName"])["Role"]
        policy = iam.get_role_policy(RoleName=outputs["RoleName"], PolicyName="drain-terminator")
        forwarder = outputs["ForwarderRoleArn"].rpartition("/")[2]
        events = boto3.client("events", region_name=REGION)
        rule_name = outputs["ForwardRuleArn"].rpartition("/")[2]
        rule = events.describe_rule(Name=rule_name)
        (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
        return {
            "trust": _without_nulls(_document(role["AssumeRolePolicyDocument"])),
            "policy": _without_nulls(_document(policy["PolicyDocument"])),
            "pattern": _without_nulls(json.loads(rule["EventPattern"])),
            "names": [outputs["RoleName"], forwarder, rule_name],
            "target": target,
        }


@functools.cache
def rendered(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both sides of one case (Terraform core and moto, a few seconds): once per process."""
    return _terraform(CASES[name]), _cloudformation(CASES[name])


@pytest.fixture(scope="module", params=sorted(CASES))
def both(request: pytest.FixtureRequest) -> tuple[Case, dict[str, Any], dict[str, Any]]:
    return CASES[request.param], *rendered(request.param)


def test_given_the_sources_when_the_template_is_generated_then_it_is_the_committed_file() -> None:
    assert TEMPLATE_FILE.read_text(encoding="utf-8") == render()


def test_given_both_members_when_rendered_then_the_role_allows_the_same_statements(
    both: tuple[Case, dict[str, Any], dict[str, Any]],
) -> None:
    _case, terraform, cloudformation = both

    assert _cfn_statements(cloudformation["policy"]) == _tf_statements(terraform["statements"])


def test_given_both_members_when_rendered_then_the_role_trusts_the_same_principals(
    both: tuple[Case, dict[str, Any], dict[str, Any]],
) -> None:
    case, terraform, cloudformation = both
    (statement,) = cloudformation["trust"]["Statement"]

    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{terraform['hub_account']}:root"}
    assert _conditions(statement["Condition"]) == sorted(
        (c["test"], c["variable"], c["values"]) for c in terraform["trust"]
    )
    guards = {variable for _, variable, _ in _conditions(statement["Condition"])}
    assert ("sts:ExternalId" in guards) == (case.external_id is not None)
    assert ("aws:PrincipalOrgID" in guards) == (case.organization_id is not None)


def test_given_both_members_when_rendered_then_they_forward_the_same_events_to_the_hub(
    both: tuple[Case, dict[str, Any], dict[str, Any]],
) -> None:
    case, terraform, cloudformation = both

    assert cloudformation["pattern"] == terraform["pattern"]
    assert cloudformation["names"] == terraform["names"]
    assert cloudformation["target"]["Arn"] == HUB_BUS
    assert cloudformation["target"]["RoleArn"].endswith(f"/{terraform['names'][1]}")
    clusters = terraform["pattern"]["detail"].get("clusterArn", [])
    assert [arn.rpartition("/")[2] for arn in clusters] == case.clusters


def test_given_optional_features_off_when_rendered_then_only_stop_task_calls_are_allowed() -> None:
    statements = _terraform(Case(["prod"], backstop=False))["statements"]

    assert {action for s in statements for action in s["actions"]} == {
        "ecs:DescribeServices",
        "ecs:ListTagsForResource",
        "ecs:DescribeServiceDeployments",
        "ecs:DescribeServiceRevisions",
        "ecs:StopTask",
        "ecs:DescribeTasks",
        "elasticloadbalancing:DescribeTargetHealth",
    }


def test_given_listed_clusters_when_rendered_then_old_format_tasks_are_confined_by_cluster() -> (
    None
):
    listed = {s["sid"]: s for s in _terraform(Case(["prod"]))["statements"]}
    every = {s["sid"] for s in _terraform(Case([]))["statements"]}
    account = _member_account()

    old = listed["StopOldFormatTasks"]
    assert old["resources"] == [f"arn:aws:ecs:{REGION}:{account}:task/*"]
    assert old["conditions"] == [
        {
            "test": "ArnEquals",
            "variable": "ecs:cluster",
            "values": [f"arn:aws:ecs:{REGION}:{account}:cluster/prod"],
        }
    ]
    # Every cluster: StopDrainingTasks' task/* already covers old-format ARNs.
    assert "StopOldFormatTasks" not in every
