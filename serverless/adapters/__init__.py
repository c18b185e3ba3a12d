"""Adapters: the only modules that import botocore, and the factories of :class:`Ports`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serverless.adapters.account_signal import AccountSignalPort, MemberPortFactory
from serverless.adapters.accounts import AccountClients
from serverless.adapters.concurrency import InlineConcurrency, ThreadConcurrency
from serverless.adapters.dynamodb_ledger import (
    DUE_INDEX_SHARDS,
    SINGLE_ACCOUNT_SHARDS,
    DynamoLedger,
)
from serverless.adapters.ecs import EcsAdapter
from serverless.adapters.elb import TargetHealthAdapter
from serverless.adapters.lambda_trigger import LambdaSweepTrigger
from serverless.adapters.tagging import TAGGING, TaggedServices
from serverless.domain.model import StopAction
from serverless.ports import Concurrency, Ports, SignalPort
from serverless.settings import Settings

__all__ = [
    "AccountClients",
    "AccountSignalPort",
    "DynamoLedger",
    "EcsAdapter",
    "LambdaSweepTrigger",
    "TaggedServices",
    "TargetHealthAdapter",
    "due_index_shards",
    "ports_from_clients",
    "production_ports",
    "signal_ports",
]


def _trigger(settings: Settings, lambda_client: Any | None) -> LambdaSweepTrigger | None:
    if not settings.sweeper_function_name:
        return None
    return LambdaSweepTrigger(settings.sweeper_function_name, lambda_client)


def signal_ports(
    settings: Settings,
    ecs: Any | None = None,
    ssm: Any | None = None,
    accounts: AccountClients | None = None,
) -> dict[StopAction, SignalPort]:
    """The signal ports the settings enable: ``exec`` with ``EXEC_ENABLED``, ``ssm-signal``
    with ``SSM_SIGNAL_ENABLED`` (botocore clients created on first use when not given).

    With ``accounts`` (a hub) a member account's task is signalled through an adapter on
    that member's clients (:class:`~serverless.adapters.account_signal.AccountSignalPort`);
    ``ecs`` and ``ssm`` serve the hub's own account.
    Imported only when enabled: the websocket client is no cost to a deployment without exec.
    """
    ports: dict[StopAction, SignalPort] = {}
    enabled = settings.enabled_actions
    if StopAction.EXEC in enabled:
        from serverless.adapters.exec_signal import ExecSignalAdapter

        ports[StopAction.EXEC] = ExecSignalAdapter(ecs, ssm)
        if accounts is not None:
            ports[StopAction.EXEC] = _per_account(
                StopAction.EXEC,
                accounts,
                ports[StopAction.EXEC],
                lambda member: ExecSignalAdapter(
                    member.client("ecs", "signal"), member.client("ssm")
                ),
            )
    if StopAction.SSM_SIGNAL in enabled:
        from serverless.adapters.ssm_signal import SsmSignalAdapter

        ports[StopAction.SSM_SIGNAL] = SsmSignalAdapter(ecs, ssm)
        if accounts is not None:
            ports[StopAction.SSM_SIGNAL] = _per_account(
                StopAction.SSM_SIGNAL,
                accounts,
                ports[StopAction.SSM_SIGNAL],
                lambda member: SsmSignalAdapter(
                    member.client("ecs"),
                    member.client("ssm"),
                    send_client=member.client("ssm", "signal"),
                ),
            )
    return ports


def _per_account(
    action: StopAction, accounts: AccountClients, home: SignalPort, member: MemberPortFactory
) -> SignalPort:
    return AccountSignalPort(str(action), accounts, home, member)


def _routed(accounts: AccountClients) -> tuple[EcsAdapter, TargetHealthAdapter]:
    return (
        EcsAdapter(route=lambda arn: accounts.client("ecs", arn)),
        TargetHealthAdapter(route=lambda arn: accounts.client("elbv2", arn)),
    )


def _tagged(accounts: AccountClients | None, client: Any | None = None) -> TaggedServices:
    """The backstop's lister: a hub's lists each account with its own client."""
    if accounts is None:
        return TaggedServices(client)
    return TaggedServices(route=lambda account: accounts.client_in(TAGGING, account))


def due_index_shards(settings: Settings) -> int:
    """The due-index shards a deployment writes: a hub's twelve (its accounts' stops land
    at once), one account's six (see :data:`SINGLE_ACCOUNT_SHARDS`)."""
    return DUE_INDEX_SHARDS if settings.is_hub else SINGLE_ACCOUNT_SHARDS


def production_ports(settings: Settings) -> Ports:
    """The ports of a deployed function: botocore clients created on first use, threads;
    a hub's ECS and ELB calls go to each resource's account (:class:`AccountClients`)."""
    accounts = AccountClients(settings) if settings.is_hub else None
    ecs, health = (EcsAdapter(), TargetHealthAdapter()) if accounts is None else _routed(accounts)
    threads = ThreadConcurrency()
    return Ports(
        ledger=DynamoLedger(
            settings.table_name, concurrency=threads, shards=due_index_shards(settings)
        ),
        ecs=ecs,
        health=health,
        trigger=_trigger(settings, None),
        concurrency=threads,
        service_list=_tagged(accounts),
        signals=signal_ports(settings, accounts=accounts),
        tenancy=accounts,
    )


def ports_from_clients(
    settings: Settings,
    *,
    dynamodb: Any,
    ecs: Any,
    elbv2: Any,
    lambda_: Any | None = None,
    concurrency: Concurrency | None = None,
    tagging: Any | None = None,
    signals: Mapping[StopAction, SignalPort] | None = None,
    accounts: AccountClients | None = None,
) -> Ports:
    """The production adapters on the given clients (moto, or the simulator's).

    Without ``lambda_`` there is no early start; without ``concurrency`` the work of a run
    (and the due read's Queries) is done in turn on the calling thread; without ``tagging``
    no backstop; without ``signals`` only StopTask is taken (the simulator passes its
    simulated exec and ssm-signal ports).
    With ``accounts`` (a hub) the ECS, ELB and tagging calls go through it (``ecs``,
    ``elbv2`` and ``tagging`` are then unused: its home clients serve the hub's own
    account; ``tagging`` still turns the backstop on).
    """
    ecs_port, health = (EcsAdapter(ecs), TargetHealthAdapter(elbv2))
    if accounts is not None:
        ecs_port, health = _routed(accounts)
    concurrency = concurrency or InlineConcurrency()
    return Ports(
        ledger=DynamoLedger(
            settings.table_name, dynamodb, concurrency, shards=due_index_shards(settings)
        ),
        ecs=ecs_port,
        health=health,
        trigger=None if lambda_ is None else _trigger(settings, lambda_),
        concurrency=concurrency,
        service_list=None if tagging is None else _tagged(accounts, tagging),
        signals=dict(signals or {}),
        tenancy=accounts,
    )
