"""scope.tf: the clusters a deployment can never serve, rendered by Terraform core with
accounts.tf (the one list of served accounts), and the plan-time refusal that names them
(events.tf)."""

from __future__ import annotations

from typing import Any

import pytest

from sim.terraform import render_locals

HERE = {
    "partition": '"aws"',
    "region": '"us-east-1"',
    "account_id": '"111122223333"',
    "arn_prefix": '{ events = "arn:aws:events:us-east-1:111122223333" }',
}
OWN = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
MEMBER = "arn:aws:ecs:us-east-1:444455556666:cluster/prod"


def _unservable(cluster_arns: list[str], members: list[str] | None = None) -> list[str]:
    rendered: list[str] = render_locals(
        ["variables.tf", "event_pattern.tf", "accounts.tf", "scope.tf"],
        {"unservable": "local.unservable_clusters"},
        stub_locals=HERE,
        values={
            "cluster_arns": cluster_arns,
            "member_account_ids": members or [],
            "member_external_id": "e2e-external-id",
        },
    )["unservable"]
    return rendered


def test_given_clusters_of_this_account_and_region_when_checked_then_all_are_served() -> None:
    assert _unservable([OWN, "arn:aws:ecs:us-east-1:111122223333:cluster/batch"]) == []


def test_given_a_member_accounts_cluster_when_the_hub_lists_it_then_it_is_served() -> None:
    assert _unservable([OWN, MEMBER], members=["444455556666"]) == []


def test_given_every_cluster_when_checked_then_nothing_is_refused() -> None:
    assert _unservable([]) == []


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        ("arn:aws:ecs:eu-west-1:111122223333:cluster/prod", "region eu-west-1, not us-east-1"),
        (
            "arn:aws:ecs:us-east-1:444455556666:cluster/prod",
            "account 444455556666, not 111122223333",
        ),
        ("arn:aws-cn:ecs:us-east-1:111122223333:cluster/prod", "partition aws-cn, not aws"),
    ],
)
def test_given_a_cluster_elsewhere_when_checked_then_it_is_named_with_the_reason(
    arn: str, reason: str
) -> None:
    assert _unservable([OWN, arn]) == [f"{arn} ({reason})"]


def test_given_the_task_events_rule_when_read_then_it_refuses_unservable_clusters_at_plan(
    resources: dict[str, Any],
) -> None:
    (lifecycle,) = resources["aws_cloudwatch_event_rule"]["this"]["lifecycle"]
    (precondition,) = lifecycle["precondition"]

    assert "length(local.unservable_clusters) == 0" in precondition["condition"]
    assert '${join(", ", local.unservable_clusters)}' in precondition["error_message"]
