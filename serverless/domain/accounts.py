"""Whose resource an ARN names, and whether this deployment may act on it.

One deployment (a *hub*) can act for its own account and the *member* accounts it lists,
in its own region only (one hub per region). Every ECS and ELB ARN carries the partition,
region and account of the resource: the adapters pick the client of that account and
region from it, the pacing keys the shared API token buckets by it, and task-events
rejects a task of any account or region the hub does not serve (:meth:`Tenancy.refusal`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ACCOUNT_ID", "Scope", "Tenancy", "scope_of"]

#: An AWS account id: twelve digits.
ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)
_ARN = re.compile(r"arn:(aws[a-z-]*):[a-z0-9-]+:([a-z0-9-]*):([0-9]{12}):.+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Scope:
    """The partition, account and region a resource lives in."""

    partition: str
    account: str
    region: str

    @property
    def key(self) -> str:
        """``<account>#<region>``: what the API token buckets are kept per."""
        return f"{self.account}#{self.region}"


def scope_of(arn: str) -> Scope:
    """The :class:`Scope` of an ECS or ELB ARN; ValueError when ``arn`` is not one."""
    match = _ARN.fullmatch(arn)
    if match is None or not match.group(2):
        raise ValueError(f"not a regional ARN with an account: {arn!r}")
    return Scope(match.group(1), match.group(3), match.group(2))


@dataclass(frozen=True, slots=True)
class Tenancy:
    """The accounts and the region a hub serves: its own account and its members."""

    home_account: str
    region: str
    members: frozenset[str]

    def serves(self, account: str) -> bool:
        """Whether the hub acts for ``account`` (its own or a listed member)."""
        return account == self.home_account or account in self.members

    def refusal(self, arn: str) -> str | None:
        """Why a resource named by ``arn`` is not the hub's to act on (None: it is)."""
        try:
            scope = scope_of(arn)
        except ValueError as error:
            return str(error)
        if not self.serves(scope.account):
            return f"account {scope.account} is not a member of this hub"
        if scope.region != self.region:
            return f"region {scope.region} is not this hub's region ({self.region})"
        return None
