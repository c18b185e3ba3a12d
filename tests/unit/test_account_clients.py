"""AccountClients: which client serves a resource, from its ARN (no AWS involved)."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from serverless.adapters.accounts import AccountClients, ForeignResourceError
from serverless.adapters.tagging import TAGGING
from serverless.settings import Settings

HUB, MEMBER = "111122223333", "222233334444"
CLUSTER = "arn:aws:ecs:us-east-1:{}:cluster/prod"
GROUP = "arn:aws:elasticloadbalancing:us-east-1:{}:targetgroup/web/0123456789abcdef"


class _Sts:
    def __init__(self) -> None:
        self.calls = 0

    def get_caller_identity(self) -> dict[str, str]:
        self.calls += 1
        return {"Account": HUB}


class _Home:
    """A home client: only its region is read."""

    class meta:
        region_name = "us-east-1"


def _clients(members: frozenset[str], made: list[tuple[str, str]]) -> AccountClients:
    def maker(
        session: botocore.session.Session, service: str, region: str, account: str, **_: Any
    ) -> Any:
        assert account == MEMBER
        made.append((service, region))
        return (service, region, session)

    source = botocore.session.Session()
    source.set_credentials("testing", "testing")
    return AccountClients(
        Settings(table_name="t", member_account_ids=members),
        home={"ecs": _Home(), "elbv2": _Home(), "sts": _Sts(), TAGGING: _Home()},
        source=source,
        maker=maker,
    )


def test_given_single_account_when_any_arn_asked_then_the_home_client_without_lookups() -> None:
    made: list[tuple[str, str]] = []
    clients = _clients(frozenset(), made)
    assert isinstance(clients.client("ecs", CLUSTER.format(MEMBER)), _Home)
    assert made == []


def test_given_hub_when_own_and_member_arns_asked_then_home_and_one_member_client_each() -> None:
    made: list[tuple[str, str]] = []
    clients = _clients(frozenset({MEMBER}), made)

    assert isinstance(clients.client("ecs", CLUSTER.format(HUB)), _Home)
    member_ecs = clients.client("ecs", CLUSTER.format(MEMBER))
    assert clients.client("ecs", CLUSTER.format(MEMBER) + "x") is member_ecs  # kept
    member_elb = clients.client("elbv2", GROUP.format(MEMBER))

    assert made == [("ecs", "us-east-1"), ("elbv2", "us-east-1")]
    assert member_ecs[2] is member_elb[2]  # one session (one role) per member account
    sts = clients._home["sts"].get()
    assert sts.calls == 1  # the hub's own account is learnt once


@pytest.mark.parametrize(
    "arn",
    [
        CLUSTER.format("999988887777"),
        CLUSTER.format(MEMBER).replace("us-east-1", "eu-west-1"),
        "cluster/prod",
    ],
)
def test_given_hub_when_foreign_arn_asked_then_refused_before_any_client(arn: str) -> None:
    made: list[tuple[str, str]] = []
    clients = _clients(frozenset({MEMBER}), made)
    with pytest.raises(ForeignResourceError):
        clients.client("ecs", arn)
    assert made == []


def test_given_hub_when_an_accounts_client_asked_then_own_or_members_and_others_refused() -> None:
    made: list[tuple[str, str]] = []
    clients = _clients(frozenset({MEMBER}), made)

    assert isinstance(clients.client_in(TAGGING, None), _Home)
    assert isinstance(clients.client_in(TAGGING, HUB), _Home)
    member = clients.client_in(TAGGING, MEMBER)
    assert member[:2] == (TAGGING, "us-east-1")  # the member role, in the hub's region
    assert member[2] is clients.client("ecs", CLUSTER.format(MEMBER))[2]  # one session
    with pytest.raises(ForeignResourceError):
        clients.client_in(TAGGING, "999988887777")
    assert made == [(TAGGING, "us-east-1"), ("ecs", "us-east-1")]
