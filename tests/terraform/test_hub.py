"""The hub side of the root module (hub.tf): nothing exists unless member accounts or an
organisation are set, the functions may assume only the member role of the listed accounts,
the member bus accepts only ECS task state changes, and the code gets the member settings
only when there are members."""

from __future__ import annotations

from typing import Any

import pytest

from sim.terraform import MODULE_DIR, function_environments, load_tf, render_locals

HUB = load_tf(MODULE_DIR / "hub.tf")
STUBS = {"partition": '"aws"', "region": '"eu-west-1"', "account_id": '"111122223333"'}
ARN_PREFIX = (
    '{ for service in ["events"] : service => '
    '"arn:${local.partition}:${service}:${local.region}:${local.account_id}" }'
)


def _hub_locals(**values: Any) -> dict[str, Any]:
    return render_locals(
        ["variables.tf", "event_pattern.tf", "accounts.tf"],
        {
            "enabled": "local.hub_enabled",
            "accounts": "local.accounts",
            "role_arns": "local.member_role_arns",
            "rule_arns": "local.member_rule_arns",
            "conditions": "local.member_event_conditions",
        },
        stub_locals={**STUBS, "arn_prefix": ARN_PREFIX},
        values=values,
    )


def test_given_the_hub_file_when_read_then_every_resource_is_conditional_on_members() -> None:
    for kind, resources in HUB["resource"].items():
        for name, body in resources.items():
            gate = body.get("count") or body.get("for_each")
            assert gate, f"{kind}.{name} would exist in a single-account deployment"
            assert "member_account_ids" in gate or "hub_enabled" in gate, (kind, name, gate)


@pytest.mark.parametrize("values", [{}, {"cluster_arns": []}])
def test_given_no_members_when_rendered_then_the_hub_is_off_and_only_this_account_is_served(
    values: dict[str, Any],
) -> None:
    rendered = _hub_locals(**values)

    assert rendered["enabled"] is False
    assert rendered["accounts"] == ["111122223333"]
    assert rendered["role_arns"] == []
    assert rendered["rule_arns"] == []


def test_given_members_when_rendered_then_only_their_member_role_in_this_region_is_assumable() -> (
    None
):
    rendered = _hub_locals(
        member_account_ids=["222233334444", "555566667777"], member_external_id="x-id"
    )

    assert rendered["enabled"] is True
    assert rendered["accounts"] == ["111122223333", "222233334444", "555566667777"]
    assert rendered["role_arns"] == [
        "arn:aws:iam::222233334444:role/ecs-drain-terminator-member-eu-west-1",
        "arn:aws:iam::555566667777:role/ecs-drain-terminator-member-eu-west-1",
    ]
    assert rendered["rule_arns"] == [
        "arn:aws:events:eu-west-1:111122223333:rule/ecs-drain-terminator-members/"
        "ecs-drain-terminator-member-task-state-change"
    ]


def test_given_the_member_bus_when_rendered_then_it_accepts_only_ecs_task_state_changes() -> None:
    rendered = _hub_locals(member_organization_id="o-abcdefghij")

    assert rendered["enabled"] is True
    assert {c["variable"]: c["values"] for c in rendered["conditions"]} == {
        "events:source": ["aws.ecs"],
        "events:detail-type": ["ECS Task State Change"],
    }


def test_given_the_assume_policy_when_read_then_it_allows_only_assuming_member_roles() -> None:
    (statement,) = HUB["data"]["aws_iam_policy_document"]["assume_members"]["statement"]

    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["resources"] == "${local.member_role_arns}"


def test_given_members_when_the_environment_is_rendered_then_it_holds_the_member_settings() -> None:
    environments = function_environments(
        member_account_ids=["222233334444"], member_external_id="x-id"
    )

    for environment in environments.values():
        assert environment["MEMBER_ACCOUNT_IDS"] == "222233334444"
        assert environment["MEMBER_EXTERNAL_ID"] == "x-id"
        assert environment["MEMBER_ROLE_ARN_TEMPLATE"] == (
            "arn:{partition}:iam::{account}:role/ecs-drain-terminator-member-{region}"
        )


def test_given_no_members_when_the_environment_is_rendered_then_it_is_unchanged() -> None:
    for environment in function_environments().values():
        assert not [name for name in environment if name.startswith("MEMBER_")]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"member_account_ids": ["12345"]}, "distinct 12-digit"),
        ({"member_account_ids": ["222233334444", "222233334444"]}, "distinct 12-digit"),
        ({"member_organization_id": "org"}, "AWS Organizations id"),
        ({"member_external_id": "x"}, "member_external_id must be 2-1224"),
        ({"member_role_path": "platform"}, "must start and end with /"),
    ],
)
def test_given_an_invalid_hub_input_when_planned_then_terraform_refuses_it_and_says_why(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(RuntimeError) as raised:
        render_locals(["variables.tf"], {"ok": "true"}, values=values)

    assert message in " ".join(str(raised.value).split())


def test_given_the_member_bus_rule_when_read_then_it_uses_the_shared_unnarrowed_pattern() -> None:
    rule = HUB["resource"]["aws_cloudwatch_event_rule"]["members"]
    target = HUB["resource"]["aws_cloudwatch_event_target"]["members"]

    # The members narrow to their clusters at the source; the hub's cluster_arns are its own.
    assert rule["event_pattern"] == "${jsonencode(local.task_state_change_base)}"
    assert rule["event_bus_name"] == "${aws_cloudwatch_event_bus.members[0].name}"
    assert target["arn"] == '${aws_lambda_function.this["task-events"].arn}'
    assert target["dead_letter_config"][0]["arn"] == "${aws_sqs_queue.dead_letter.arn}"
