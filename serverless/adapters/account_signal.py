"""A hub's signal port: each signal step made in its task's account and region.

A hub's ``exec`` and ``ssm-signal`` steps on a member account's task (ExecuteCommand,
TerminateSession; DescribeTasks, DescribeContainerInstances, SendCommand,
GetCommandInvocation, CancelCommand) are made with that member's role, like its StopTask:
:class:`AccountSignalPort` keeps one signal adapter per member account and region, on
clients :class:`~serverless.adapters.accounts.AccountClients` makes with the member role,
each of the same flavour as the hub's own (the first call's adaptive retries and capped
rate-limiter wait, the throttle count). The hub's own tasks go to its own adapter, as in a
single-account deployment.

A task of an account or region the hub does not serve, or of a member whose role cannot be
assumed, is refused (a ``REFUSED`` result, nothing called in that account): the sweeper
counts the step failed and leaves the task to ECS as for any other refusal.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from serverless.adapters.accounts import AccountClients, ClientFlavour
from serverless.adapters.errors import call_time_bound, client_config
from serverless.domain.errors import PermanentAwsError
from serverless.domain.signals import (
    SignalCommand,
    SignalOutcome,
    SignalPort,
    SignalResult,
    SignalTarget,
)

__all__ = ["AccountSignalPort", "MemberClients", "MemberPortFactory"]


class MemberClients:
    """The clients of one member account and region, by service and flavour, for the
    resource ``arn`` names (made with the member role by ``accounts``)."""

    def __init__(self, accounts: AccountClients, arn: str) -> None:
        self._accounts = accounts
        self._arn = arn

    def client(self, service: str, flavour: ClientFlavour = "standard") -> Any:
        """The member's ``service`` client of ``flavour``."""
        return self._accounts.client(service, self._arn, flavour=flavour)


#: Makes the signal adapter of one member account and region on its clients.
MemberPortFactory = Callable[[MemberClients], SignalPort]


class AccountSignalPort:
    """:class:`~serverless.domain.signals.SignalPort` of a hub: the target's task ARN
    picks the adapter (``home`` for the hub's own account, else one ``member`` makes per
    account and region, kept per warm container).

    ``action``: the stop action's name (the ``action`` of a refusal's result).
    """

    def __init__(
        self,
        action: str,
        accounts: AccountClients,
        home: SignalPort,
        member: MemberPortFactory,
    ) -> None:
        self._action = action
        self._accounts = accounts
        self._home = home
        self._member = member
        self._ports: dict[str, SignalPort] = {}
        self._lock = threading.Lock()

    @property
    def time_bound(self) -> float:
        """The adapters' bound (member ones are made like the hub's own), plus one
        AssumeRole: a member's credentials may be assumed (again) at the step's start."""
        return self._home.time_bound + call_time_bound(client_config("sts"))

    def signal(self, target: SignalTarget, command: SignalCommand) -> SignalResult:
        """Signal ``target`` through the adapter of its task's account and region."""
        started = time.monotonic()
        try:
            port = self._port(target.task_arn)
        except PermanentAwsError as error:  # not served, or the member role is broken
            return SignalResult(
                action=self._action,
                outcome=SignalOutcome.REFUSED,
                elapsed=time.monotonic() - started,
                detail=str(error),
            )
        return port.signal(target, command)

    def _port(self, task_arn: str) -> SignalPort:
        scope = self._accounts.member_scope(task_arn)
        if scope is None:
            return self._home
        with self._lock:
            port = self._ports.get(scope.key)
            if port is None:
                port = self._ports[scope.key] = self._member(
                    MemberClients(self._accounts, task_arn)
                )
        return port
