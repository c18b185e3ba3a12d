"""The CloudFormation twin of ``terraform/modules/member``, generated from the sources the
Terraform module reads, for service-managed StackSets (auto-deployed to every account of
an organisational unit).

* ``terraform/patterns/member-role.json``: the member role's statements, resource kinds and
  conditions (``{partition}``/``{region}``/``{account}`` become the stack's pseudo
  parameters, ``{cluster}`` each of the ``ClusterNames`` parameter's names);
* ``terraform/patterns/task-state-change.json``: the forwarded events.

CloudFormation has no loop a StackSet can use (``Fn::ForEach`` needs a transform), and
``Fn::Join``/``Fn::Sub`` take only literal delimiters and templates, so a name list cannot be
turned into a list of ARNs in one expression: the template holds :data:`MAX_CLUSTERS` slots,
each ``Fn::If`` on its own condition (the name at that position is not empty), and
``ClusterNames`` accepts at most that many names (a rule rejects more).

``python -m tools.member_template`` rewrites the template; ``--check`` exits 1 when the
committed file differs from what the sources give (``make terraform-check`` runs it).
``tests/terraform/test_member_equivalence.py`` deploys it in moto and compares the result
with the Terraform module rendered by Terraform core.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MAX_CLUSTERS", "TEMPLATE_FILE", "main", "render", "template"]

REPO_ROOT = Path(__file__).resolve().parents[1]
PATTERNS = REPO_ROOT / "terraform" / "patterns"
TEMPLATE_FILE = REPO_ROOT / "terraform" / "modules" / "member" / "cloudformation" / "member.json"
#: Cluster names one stack takes (slots in the template).
MAX_CLUSTERS = 10

_PSEUDO = {
    "{partition}": "${AWS::Partition}",
    "{region}": "${AWS::Region}",
    "{account}": "${AWS::AccountId}",
    "{cluster}": "${Cluster}",
}
_NO_VALUE = {"Ref": "AWS::NoValue"}
_FEATURE_CONDITIONS = {
    "backstop": "BackstopEnabled",
    "exec": "ExecEnabled",
    "ssm_signal": "SsmSignalEnabled",
}


def _sub(text: str) -> Any:
    """A source string as a CloudFormation value (``Fn::Sub`` when it has placeholders)."""
    for placeholder, pseudo in _PSEUDO.items():
        text = text.replace(placeholder, pseudo)
    return {"Fn::Sub": text} if "${" in text else text


def _cluster_name(slot: int) -> dict[str, Any]:
    # Padded with empty names so that every slot exists whatever the list's length.
    padded = {"Fn::Join": [",", [{"Fn::Join": [",", {"Ref": "ClusterNames"}]}, "," * MAX_CLUSTERS]]}
    return {"Fn::Select": [slot, {"Fn::Split": [",", padded]}]}


def _each_cluster(text: str) -> list[Any]:
    """One ``Fn::If`` per slot: the text for that cluster name, or nothing."""
    for placeholder, pseudo in _PSEUDO.items():
        text = text.replace(placeholder, pseudo)
    return [
        {
            "Fn::If": [
                f"Cluster{slot}",
                {"Fn::Sub": [text, {"Cluster": _cluster_name(slot)}]} if "${" in text else text,
                _NO_VALUE,
            ]
        }
        for slot in range(MAX_CLUSTERS)
    ]


def _values(shape: dict[str, str]) -> list[Any]:
    """The values of a resource kind or condition: fixed, or per cluster / every cluster."""
    if "fixed" in shape:
        return [_sub(shape["fixed"])]
    values = _each_cluster(shape["each_cluster"])
    if "every_cluster" in shape:
        values.insert(0, {"Fn::If": ["EveryCluster", _sub(shape["every_cluster"]), _NO_VALUE]})
    return values


def _condition(source: dict[str, Any], name: str, *, listed_only: bool = False) -> Any:
    shape = source["conditions"][name]
    listed = {shape["test"]: {shape["variable"]: _each_cluster(shape["each_cluster"])}}
    if listed_only:  # the statement exists only with listed clusters
        return listed
    if "every_cluster" not in shape:  # says nothing the resources do not: dropped
        return {"Fn::If": ["EveryCluster", _NO_VALUE, listed]}
    every_test = shape.get("every_cluster_test", shape["test"])
    every = {every_test: {shape["variable"]: [_sub(shape["every_cluster"])]}}
    return {"Fn::If": ["EveryCluster", every, listed]}


def _statement(source: dict[str, Any], statement: dict[str, Any]) -> Any:
    resources: list[Any] = []
    for kind in statement["resources"]:
        resources.extend(_values(source["resources"][kind]))
    body: dict[str, Any] = {
        "Sid": statement["sid"],
        "Effect": "Allow",
        "Action": list(statement["actions"]),
        "Resource": resources,
    }
    conditions = statement["conditions"]
    listed_only = bool(statement.get("listed_clusters_only", False))
    if len(conditions) > 1:
        raise ValueError(f"{statement['sid']}: one condition per statement is supported")
    if conditions:
        body["Condition"] = _condition(source, conditions[0], listed_only=listed_only)
    if listed_only:
        # Only narrows what the every-cluster resources already allow: left out then.
        body = {"Fn::If": ["EveryCluster", _NO_VALUE, body]}
    feature = statement["feature"]
    if feature == "always":
        return body
    return {"Fn::If": [_FEATURE_CONDITIONS[feature], body, _NO_VALUE]}


def _pattern(base: dict[str, Any], cluster_arn: str) -> Any:
    narrowed = json.loads(json.dumps(base))
    narrowed["detail"]["clusterArn"] = _each_cluster(cluster_arn)
    return {"Fn::If": ["EveryCluster", base, narrowed]}


def _parameters() -> dict[str, Any]:
    return {
        "HubEventBusArn": {
            "Type": "String",
            "Description": (
                "ARN of the hub's member event bus (hub output member_event_bus_arn), in this "
                "region: one hub per region."
            ),
            "AllowedPattern": (
                "^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]{1,256}$"
            ),
        },
        "HubFunctionRoleArns": {
            "Type": "CommaDelimitedList",
            "Description": (
                "ARNs of the hub's function roles (hub output member_trusted_role_arns), "
                "comma-separated: the only principals the member role trusts."
            ),
        },
        "ExternalId": {
            "Type": "String",
            "Default": "",
            "Description": (
                "External id the hub passes to sts:AssumeRole (hub output member_external_id); "
                "empty: none (then OrganizationId is required)."
            ),
            "AllowedPattern": "^([A-Za-z0-9+=,.@:/_-]{2,1224})?$",
        },
        "OrganizationId": {
            "Type": "String",
            "Default": "",
            "Description": (
                "AWS Organizations id (o-...) of the hub: the trust requires aws:PrincipalOrgID "
                "to equal it; empty: no organisation condition (then ExternalId is required)."
            ),
            "AllowedPattern": "^(o-[a-z0-9]{10,32})?$",
        },
        "ClusterNames": {
            "Type": "CommaDelimitedList",
            "Default": "",
            "Description": (
                "Names of this account's ECS clusters (in this region) whose services may "
                f"opt in, comma-separated, at most {MAX_CLUSTERS}; empty: every cluster of "
                "the account in this region."
            ),
            "AllowedPattern": "^[A-Za-z0-9_-]{0,255}$",
        },
        "NamePrefix": {
            "Type": "String",
            "Default": "ecs-drain-terminator",
            "Description": (
                "Prefix of the member's resource names; equal to the hub's name_prefix, whose "
                "functions assume <NamePrefix>-member-<region>."
            ),
            "AllowedPattern": "^[A-Za-z][A-Za-z0-9-]{0,39}$",
        },
        "RoleName": {
            "Type": "String",
            "Default": "",
            "Description": (
                "Name of the member role; empty: <NamePrefix>-member-<region> (the hub's default "
                "member_role_name)."
            ),
            "AllowedPattern": "^[A-Za-z0-9+=,.@_-]{0,64}$",
        },
        "RolePath": {
            "Type": "String",
            "Default": "/",
            "Description": (
                "Path of the member and forwarding roles; the hub's member_role_path must match."
            ),
            "AllowedPattern": "^/([A-Za-z0-9+=,.@_-]+/)*$",
        },
        "PermissionsBoundaryArn": {
            "Type": "String",
            "Default": "",
            "Description": (
                "ARN of the managed policy set as the permissions boundary of both roles; empty: "
                "none."
            ),
            "AllowedPattern": "^(arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+)?$",
        },
        "EnableBackstop": {
            "Type": "String",
            "Default": "true",
            "AllowedValues": ["false", "true"],
            "Description": (
                "Allow the hub's backstop to look at this account (tag:GetResources, "
                "ecs:ListTasks on the listed clusters); equal to the hub's backstop_enabled."
            ),
        },
        "EnableExec": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["false", "true"],
            "Description": (
                "Allow the hub to stop tasks through ECS Exec (ecs:ExecuteCommand on the listed "
                "clusters, ssmmessages:OpenDataChannel and ssm:TerminateSession on ECS Exec "
                "sessions); equal to the hub's exec_enabled."
            ),
        },
        "EnableSsmSignal": {
            "Type": "String",
            "Default": "false",
            "AllowedValues": ["false", "true"],
            "Description": (
                "Allow the hub to signal containers through SSM Run Command (AWS-RunShellScript "
                "on container instances tagged drain-terminator:cluster = <cluster name>); equal "
                "to the hub's ssm_signal_enabled."
            ),
        },
    }


def _conditions() -> dict[str, Any]:
    conditions: dict[str, Any] = {
        "EveryCluster": {"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ClusterNames"}]}, ""]},
        "BackstopEnabled": {"Fn::Equals": [{"Ref": "EnableBackstop"}, "true"]},
        "ExecEnabled": {"Fn::Equals": [{"Ref": "EnableExec"}, "true"]},
        "SsmSignalEnabled": {"Fn::Equals": [{"Ref": "EnableSsmSignal"}, "true"]},
        "HasExternalId": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalId"}, ""]}]},
        "HasOrganizationId": {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]},
        "HasRoleName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "RoleName"}, ""]}]},
        "HasBoundary": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PermissionsBoundaryArn"}, ""]}]},
        "TooManyClusters": {"Fn::Not": [{"Fn::Equals": [_cluster_name(MAX_CLUSTERS), ""]}]},
    }
    for slot in range(MAX_CLUSTERS):
        conditions[f"Cluster{slot}"] = {"Fn::Not": [{"Fn::Equals": [_cluster_name(slot), ""]}]}
    return conditions


def _trust_conditions() -> dict[str, Any]:
    external = {"sts:ExternalId": {"Ref": "ExternalId"}}
    organization = {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    return {
        "ArnEquals": {"aws:PrincipalArn": {"Ref": "HubFunctionRoleArns"}},
        "StringEquals": {
            "Fn::If": [
                "HasExternalId",
                {
                    "Fn::If": [
                        "HasOrganizationId",
                        {**external, **organization},
                        external,
                    ]
                },
                {"Fn::If": ["HasOrganizationId", organization, _NO_VALUE]},
            ]
        },
    }


def template() -> dict[str, Any]:
    """The member template as a dict (what :data:`TEMPLATE_FILE` holds)."""
    source = json.loads((PATTERNS / "member-role.json").read_text(encoding="utf-8"))
    base = json.loads((PATTERNS / "task-state-change.json").read_text(encoding="utf-8"))
    hub_account = {
        "Fn::Select": [
            4,
            {"Fn::Split": [":", {"Fn::Select": [0, {"Ref": "HubFunctionRoleArns"}]}]},
        ]
    }
    tags = [{"Key": "managed-by", "Value": "ecs-drain-terminator"}]
    boundary = {"Fn::If": ["HasBoundary", {"Ref": "PermissionsBoundaryArn"}, _NO_VALUE]}
    rule_name = {"Fn::Sub": "${NamePrefix}-forward-to-hub"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "ecs-drain-terminator member (one stack per account and region): forwards ECS "
            "task state changes to the hub's bus and lets the hub's functions act on this "
            "account's clusters. Generated by tools/member_template.py from "
            "terraform/patterns/; the twin of terraform/modules/member."
        ),
        "Parameters": _parameters(),
        "Rules": {
            "ConfusedDeputyGuard": {
                "Assertions": [
                    {
                        "Assert": {
                            "Fn::Or": [
                                {"Fn::Not": [{"Fn::Equals": [{"Ref": "ExternalId"}, ""]}]},
                                {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]},
                            ]
                        },
                        "AssertDescription": (
                            "Set ExternalId and/or OrganizationId: the member role's trust needs "
                            "a confused-deputy guard."
                        ),
                    }
                ]
            }
        },
        "Conditions": _conditions(),
        "Resources": {
            "MemberRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {
                        "Fn::If": [
                            "HasRoleName",
                            {"Ref": "RoleName"},
                            {"Fn::Sub": "${NamePrefix}-member-${AWS::Region}"},
                        ]
                    },
                    "Path": {"Ref": "RolePath"},
                    "Description": {
                        "Fn::Sub": (
                            "Assumed by the ecs-drain-terminator hub's functions to act on this "
                            "account's ECS tasks in ${AWS::Region}."
                        )
                    },
                    "MaxSessionDuration": 3600,
                    "PermissionsBoundary": boundary,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "HubFunctions",
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {
                                    "AWS": {
                                        "Fn::Sub": [
                                            "arn:${AWS::Partition}:iam::${HubAccount}:root",
                                            {"HubAccount": hub_account},
                                        ]
                                    }
                                },
                                "Condition": _trust_conditions(),
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "drain-terminator",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    _statement(source, statement)
                                    for statement in source["statements"]
                                ],
                            },
                        }
                    ],
                    "Tags": tags,
                },
            },
            "ForwardRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": rule_name,
                    "Description": (
                        "ECS service tasks that start draining or stop, forwarded to the "
                        "ecs-drain-terminator hub."
                    ),
                    "EventBusName": "default",
                    "EventPattern": _pattern(base, source["conditions"]["cluster"]["each_cluster"]),
                    "State": "ENABLED",
                    "Targets": [
                        {
                            "Id": "hub",
                            "Arn": {"Ref": "HubEventBusArn"},
                            "RoleArn": {"Fn::GetAtt": ["ForwardRole", "Arn"]},
                        }
                    ],
                },
            },
            "ForwardRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Fn::Sub": "${NamePrefix}-forward-${AWS::Region}"},
                    "Path": {"Ref": "RolePath"},
                    "Description": {
                        "Fn::Sub": (
                            "Lets the ${NamePrefix}-forward-to-hub rule put events on the "
                            "ecs-drain-terminator hub's bus."
                        )
                    },
                    "PermissionsBoundary": boundary,
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "EventBridgeForwardRule",
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {
                                        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
                                    },
                                    "ArnEquals": {
                                        "aws:SourceArn": {
                                            "Fn::Sub": (
                                                "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${NamePrefix}-forward-to-hub"
                                            )
                                        }
                                    },
                                },
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "put-to-hub",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Sid": "PutToHubBus",
                                        "Effect": "Allow",
                                        "Action": "events:PutEvents",
                                        "Resource": {"Ref": "HubEventBusArn"},
                                    }
                                ],
                            },
                        }
                    ],
                    "Tags": tags,
                },
            },
            # More names than slots: fail the stack (the wait times out at once) rather
            # than leave clusters out silently.
            "TooManyClusterNamesHandle": {
                "Type": "AWS::CloudFormation::WaitConditionHandle",
                "Condition": "TooManyClusters",
            },
            "TooManyClusterNames": {
                "Type": "AWS::CloudFormation::WaitCondition",
                "Condition": "TooManyClusters",
                "Properties": {
                    "Handle": {"Ref": "TooManyClusterNamesHandle"},
                    "Timeout": "1",
                    "Count": 1,
                },
            },
        },
        "Outputs": {
            "RoleArn": {
                "Description": "ARN of the member role the hub's functions assume.",
                "Value": {"Fn::GetAtt": ["MemberRole", "Arn"]},
            },
            "RoleName": {
                "Description": "Name of the member role.",
                "Value": {"Ref": "MemberRole"},
            },
            "ForwardRuleArn": {
                "Description": (
                    "ARN of the rule forwarding this account's task state changes to the hub."
                ),
                "Value": {"Fn::GetAtt": ["ForwardRule", "Arn"]},
            },
            "ForwarderRoleArn": {
                "Description": (
                    "ARN of the role the forwarding rule uses to put events on the hub's bus."
                ),
                "Value": {"Fn::GetAtt": ["ForwardRole", "Arn"]},
            },
        },
    }


def render() -> str:
    """The template file's text."""
    return json.dumps(template(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.member_template",
        description="Write (or --check) the member's CloudFormation template.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    options = parser.parse_args(argv)
    text = render()
    if options.check:
        current = TEMPLATE_FILE.read_text(encoding="utf-8") if TEMPLATE_FILE.is_file() else ""
        if current != text:
            print(
                f"{TEMPLATE_FILE.relative_to(REPO_ROOT)} is stale: run "
                "`python -m tools.member_template`",
                file=sys.stderr,
            )
            return 1
        print(f"{TEMPLATE_FILE.relative_to(REPO_ROOT)} matches its sources")
        return 0
    TEMPLATE_FILE.parent.mkdir(parents=True, exist_ok=True)
    TEMPLATE_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {TEMPLATE_FILE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
