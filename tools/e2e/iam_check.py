"""IAM, checked by maintained tools on what was deployed.

* :func:`lint_policies` runs ``parliament`` (Duo Labs' IAM linter) over every policy
  document the deployment holds: the roles' inline policies, their trust policies and
  the dead-letter queue's resource policy. Accepted findings are listed in
  :data:`ACCEPTED` with the reason; anything else is a finding.
* :func:`unauthorised_calls` evaluates every AWS call the handlers made during the run
  against the role's deployed policy with moto's IAM policy evaluator
  (``moto.iam.access_control.IAMPolicy``: actions, resources and conditions). Only the
  mapping from a call's parameters to the resource ARN IAM authorises is written here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

__all__ = ["ACCEPTED", "Denied", "lint_policies", "resource_of", "unauthorised_calls"]

# (policy name suffix, finding issue, text in the finding's detail): why it is accepted.
ACCEPTED: dict[tuple[str, str, str], str] = {
    ("sweeper", "RESOURCE_STAR", "ecs:ListTasks"): (
        "the backstop's ListTasks is confined by the ecs:cluster condition key on resource "
        "*, as AWS's ECS policy examples do; its container-instance resource type does not "
        "cover a Fargate cluster's tasks"
    ),
    ("member policy", "RESOURCE_STAR", "ecs:ListTasks"): (
        "the member role's ListTasks (the hub's backstop in a member account) is confined "
        "as the sweeper's is: by the ecs:cluster condition key on resource *"
    ),
    (" trust", "MALFORMED", "neither Resource nor NotResource"): (
        "a role's trust policy is a resource policy on the role itself: it names a "
        "Principal and never a Resource (IAM rejects one); parliament lints it as an "
        "identity policy"
    ),
}
# botocore operations whose IAM action has another name.
IAM_ACTIONS = {
    ("lambda", "Invoke"): "lambda:InvokeFunction",
    ("resourcegroupstaggingapi", "GetResources"): "tag:GetResources",
}


@dataclass(frozen=True)
class Denied:
    function: str
    action: str
    resource: str


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        document: dict[str, Any] = json.loads(unquote(value))
        return document
    return dict(value)


def deployed_policies(
    session: Any, roles: Iterable[str], queue_url: str
) -> dict[str, dict[str, Any]]:
    """Every policy document of the deployment, by a readable name."""
    iam = session.client("iam")
    documents: dict[str, dict[str, Any]] = {}
    for role in roles:
        described = iam.get_role(RoleName=role)["Role"]
        documents[f"{role} trust"] = _document(described["AssumeRolePolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            policy = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            documents[f"{role} {name}"] = _document(policy)
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["Policy"]
    )["Attributes"]
    documents["dead-letter queue"] = _document(attributes["Policy"])
    return documents


def lint_policies(documents: dict[str, dict[str, Any]]) -> list[str]:
    """parliament's findings, ``"<policy>: <issue> <detail>"``, minus :data:`ACCEPTED`."""
    from parliament import analyze_policy_string

    findings: list[str] = []
    for name, document in sorted(documents.items()):
        policy = analyze_policy_string(json.dumps(document))
        for finding in policy.findings:
            if any(
                name.endswith(suffix) and finding.issue == issue and text in str(finding.detail)
                for suffix, issue, text in ACCEPTED
            ):
                continue
            findings.append(f"{name}: {finding.issue} {finding.detail} {finding.location}")
    return findings


def _arn(account: str, region: str, service: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def resource_of(call: dict[str, Any], account: str, region: str) -> list[tuple[str, str]]:
    """``(action, resource ARN)`` pairs IAM authorises for one recorded call."""
    service, operation, params = call["service"], call["operation"], call["params"]
    action = IAM_ACTIONS.get((service, operation), f"{service}:{operation}")
    if service == "dynamodb":
        table = params["TableName"]
        arn = (
            table
            if table.startswith("arn:")
            else _arn(account, region, "dynamodb", f"table/{table}")
        )
        if params.get("IndexName"):
            arn = f"{arn}/index/{params['IndexName']}"
        return [(action, arn)]
    if service == "ecs" and operation in ("StopTask", "DescribeTasks"):
        tasks = [params["task"]] if operation == "StopTask" else list(params["tasks"])
        return [(action, task) for task in tasks]
    if service == "ecs" and operation == "DescribeServices":
        cluster = params.get("cluster", "default").rpartition("/")[2]
        return [
            (
                action,
                name
                if name.startswith("arn:")
                else _arn(account, region, "ecs", f"service/{cluster}/{name}"),
            )
            for name in params["services"]
        ]
    if service == "ecs" and operation in (
        "DescribeServiceDeployments",
        "DescribeServiceRevisions",
    ):
        # service-deployment/<cluster>/<service>/<id>: authorised on the service.
        key = (
            "serviceDeploymentArns"
            if operation == "DescribeServiceDeployments"
            else ("serviceRevisionArns")
        )
        return [
            (
                action,
                re.sub(r":service-(?:deployment|revision)/([^/]+/[^/]+)/.*$", r":service/\1", arn),
            )
            for arn in params[key]
        ]
    if service == "ecs" and operation == "ListTagsForResource":
        return [(action, params["resourceArn"])]
    if service == "ecs" and operation == "ExecuteCommand":
        # The exec stop action: IAM authorises the cluster and the task.
        cluster = params["cluster"]
        if not cluster.startswith("arn:"):
            cluster = _arn(account, region, "ecs", f"cluster/{cluster}")
        return [(action, cluster), (action, params["task"])]
    if service == "ecs" and operation == "DescribeContainerInstances":
        return [(action, arn) for arn in params["containerInstances"]]
    if service == "ssm" and operation == "TerminateSession":
        return [(action, _arn(account, region, "ssm", f"session/{params['SessionId']}"))]
    if service == "ssm" and operation == "SendCommand":
        # The ssm-signal stop action: the document and each target instance.
        document = f"arn:aws:ssm:{region}:{account}:document/{params['DocumentName']}"
        instances = [
            _arn(account, region, "ec2", f"instance/{instance}")
            for instance in params.get("InstanceIds", [])
        ]
        return [(action, document), *((action, arn) for arn in instances)]
    if service == "lambda" and operation in ("Invoke", "InvokeAsync"):
        name = params["FunctionName"]
        arn = (
            name if name.startswith("arn:") else _arn(account, region, "lambda", f"function:{name}")
        )
        return [(action, arn)]
    # Calls without resource-level permissions (elasticloadbalancing:Describe*, X-Ray).
    return [(action, "*")]


def _conditions(call: dict[str, Any]) -> dict[str, str]:
    params = call["params"]
    conditions: dict[str, str] = {}
    if call["service"] == "ecs" and "cluster" in params:
        conditions["ecs:cluster"] = params["cluster"]
    if call["service"] == "ecs" and call["operation"] == "ExecuteCommand":
        conditions["ecs:container-name"] = params["container"]
    return conditions


def unauthorised_calls(
    calls: dict[str, list[dict[str, Any]]],
    policies: dict[str, dict[str, Any]],
    account: str,
    region: str,
) -> tuple[int, list[Denied]]:
    """How many (action, resource) pairs were evaluated, and those the role does not allow."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    checked = 0
    denied: list[Denied] = []
    for function, recorded in calls.items():
        policy = IAMPolicy({"policy_document": json.dumps(policies[function])})
        for call in recorded:
            for action, resource in resource_of(call, account, region):
                checked += 1
                verdict = policy.is_action_permitted(
                    action, resource, incoming_condition_values=_conditions(call)
                )
                if verdict != PermissionResult.PERMITTED:
                    denied.append(Denied(function, action, resource))
    return checked, denied
