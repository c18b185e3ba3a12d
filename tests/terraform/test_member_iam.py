"""The member role and the forwarding role are parliament clean in every configuration,
and the member module's variables reject what AWS would (or what would weaken the trust)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sim.terraform import render_locals
from tests.terraform.test_member_equivalence import (
    CASES,
    HUB_BUS,
    HUB_ROLES,
    MEMBER_DIR,
    rendered,
)
from tools.e2e.iam_check import lint_policies


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """Terraform's rendered statements as the IAM document aws_iam_policy_document makes."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": s["sid"],
                "Effect": "Allow",
                "Action": s["actions"],
                "Resource": s["resources"],
                **(
                    {
                        "Condition": {
                            c["test"]: {c["variable"]: c["values"]} for c in s["conditions"]
                        }
                    }
                    if s["conditions"]
                    else {}
                ),
            }
            for s in statements
        ],
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_given_a_member_configuration_when_linted_then_parliament_finds_nothing(case: str) -> None:
    terraform, deployed = rendered(case)

    findings = lint_policies(
        {
            "terraform: member policy": _policy(terraform["statements"]),
            "cloudformation: member policy": deployed["policy"],
            "member trust": deployed["trust"],
        }
    )

    assert findings == []


def test_given_the_forwarding_role_when_linted_then_parliament_finds_nothing() -> None:
    forward = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PutToHubBus",
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": HUB_BUS,
            }
        ],
    }

    assert lint_policies({"forwarder policy": forward}) == []


def _invalid(**values: Any) -> str:
    defaults: dict[str, Any] = {
        "hub_event_bus_arn": HUB_BUS,
        "hub_role_arns": HUB_ROLES,
        "external_id": "drain-terminator-example",
    }
    with pytest.raises(RuntimeError) as raised:
        render_locals(
            ["variables.tf"],
            {"ok": "true"},
            values={**defaults, **values},
            module_dir=MEMBER_DIR,
        )
    return " ".join(str(raised.value).split())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"cluster_names": ["arn:aws:ecs:eu-west-1:123456789012:cluster/prod"]},
            "must be an ECS cluster name",
        ),
        (
            {"hub_role_arns": [HUB_ROLES[0], "arn:aws:iam::999999999999:role/other"]},
            "all of the hub's account",
        ),
        ({"hub_role_arns": []}, "one or more IAM role ARNs"),
        ({"hub_event_bus_arn": "arn:aws:sqs:eu-west-1:1:q"}, "event bus ARN"),
        ({"external_id": "x"}, "external_id must be 2-1224"),
        ({"organization_id": "org-1"}, "AWS Organizations id"),
        ({"name_prefix": "9-starts-with-a-digit"}, "must start with a letter"),
        ({"role_path": "no-slashes"}, "must start and end with /"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else value[:20],
)
def test_given_an_invalid_member_input_when_planned_then_terraform_refuses_it_and_says_why(
    values: dict[str, Any], message: str
) -> None:
    assert message in _invalid(**values)


def test_given_valid_member_inputs_when_planned_then_the_variables_accept_them() -> None:
    rendered = render_locals(
        ["variables.tf"],
        {"names": "var.cluster_names"},
        values={
            "hub_event_bus_arn": HUB_BUS,
            "hub_role_arns": HUB_ROLES,
            "organization_id": "o-abcdefghij",
            "cluster_names": ["prod", "batch_2"],
            "role_path": "/platform/",
        },
        module_dir=MEMBER_DIR,
    )

    assert rendered["names"] == ["prod", "batch_2"]
