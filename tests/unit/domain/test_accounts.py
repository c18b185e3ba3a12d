"""Accounts and regions from ARNs, and what a hub serves."""

from __future__ import annotations

import pytest

from serverless.domain.accounts import Scope, Tenancy, scope_of

TASK = "arn:aws:ecs:us-east-1:222233334444:task/prod/0123456789abcdef0123456789abcdef"
HUB = Tenancy("111122223333", "us-east-1", frozenset({"222233334444"}))


@pytest.mark.parametrize(
    ("arn", "scope"),
    [
        (TASK, Scope("aws", "222233334444", "us-east-1")),
        (
            "arn:aws-cn:ecs:cn-north-1:111122223333:cluster/prod",
            Scope("aws-cn", "111122223333", "cn-north-1"),
        ),
        (
            "arn:aws:elasticloadbalancing:eu-west-1:555566667777:targetgroup/web/0123456789abcdef",
            Scope("aws", "555566667777", "eu-west-1"),
        ),
    ],
)
def test_given_resource_arn_when_scoped_then_partition_account_and_region(
    arn: str, scope: Scope
) -> None:
    assert scope_of(arn) == scope
    assert scope.key == f"{scope.account}#{scope.region}"


@pytest.mark.parametrize(
    "arn", ["", "task/prod/1", "arn:aws:iam::111122223333:role/x", "arn:aws:ecs:us-east-1:12:x"]
)
def test_given_no_regional_arn_when_scoped_then_value_error(arn: str) -> None:
    with pytest.raises(ValueError, match="not a regional ARN"):
        scope_of(arn)


@pytest.mark.parametrize(
    ("arn", "refusal"),
    [
        (TASK, None),
        (TASK.replace("222233334444", "111122223333"), None),
        (
            TASK.replace("222233334444", "999988887777"),
            "account 999988887777 is not a member of this hub",
        ),
        (
            TASK.replace("us-east-1", "eu-west-1"),
            "region eu-west-1 is not this hub's region (us-east-1)",
        ),
        ("not-an-arn", "not a regional ARN with an account: 'not-an-arn'"),
    ],
)
def test_given_hub_when_asked_about_a_resource_then_only_its_accounts_in_its_region(
    arn: str, refusal: str | None
) -> None:
    assert HUB.refusal(arn) == refusal
