"""Adapters: the only modules that import botocore, and the factories of :class:`Ports`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serverless.adapters.accounts import AccountClients
from serverless.adapters.concurrency import InlineConcurrency, ThreadConcurrency
from serverless.adapters.dynamodb_ledger import DynamoLedger
from serverless.adapters.ecs import EcsAdapter
from serverless.adapters.elb import TargetHealthAdapter
from serverless.adapters.lambda_trigger import LambdaSweepTrigger
from serverless.adapters.tagging import TaggedServices
from serverless.domain.model import StopAction
from serverless.ports import Concurrency, Ports, SignalPort
from serverless.settings import Settings

__all__ = [
    "AccountClients",
    "DynamoLedger",
    "EcsAdapter",
    "LambdaSweepTrigger",
    "TaggedServices",
    "TargetHealthAdapter",
    "ports_from_clients",
    "production_ports",
    "signal_ports",
]


def _trigger(settings: Settings, lambda_client: Any | None) -> LambdaSweepTrigger | None:
    if not settings.sweeper_function_name:
        return None
    return LambdaSweepTrigger(settings.sweeper_function_name, lambda_client)


def signal_ports(
    settings: Settings, ecs: Any | None = None, ssm: Any | None = None
) -> dict[StopAction, SignalPort]:
    """The signal ports the settings enable: ``exec`` with ``EXEC_ENABLED``, ``ssm-signal``
    with ``SSM_SIGNAL_ENABLED`` (botocore clients created on first use when not given).

    Imported only when enabled: the websocket client is no cost to a deployment without exec.
    """
    ports: dict[StopAction, SignalPort] = {}
    enabled = settings.enabled_actions
    if StopAction.EXEC in enabled:
        from serverless.adapters.exec_signal import ExecSignalAdapter

        ports[StopAction.EXEC] = ExecSignalAdapter(ecs, ssm)
    if StopAction.SSM_SIGNAL in enabled:
        from serverless.adapters.ssm_signal import SsmSignalAdapter

        ports[StopAction.SSM_SIGNAL] = SsmSignalAdapter(ecs, ssm)
    return ports


def _routed(accounts: AccountClients) -> tuple[EcsAdapter, TargetHealthAdapter]:
    return (
        EcsAdapter(route=lambda arn: accounts.client("ecs", arn)),
        TargetHealthAdapter(route=lambda arn: accounts.client("elbv2", arn)),
    )


def production_ports(settings: Settings) -> Ports:
    """The ports of a deployed function: botocore clients created on first use, threads;
    a hub's ECS and ELB calls go to each resource's account (:class:`AccountClients`)."""
    accounts = AccountClients(settings) if settings.is_hub else None
    ecs, health = (EcsAdapter(), TargetHealthAdapter()) if accounts is None else _routed(accounts)
    return Ports(
        ledger=DynamoLedger(settings.table_name),
        ecs=ecs,
        health=health,
        trigger=_trigger(settings, None),
        concurrency=ThreadConcurrency(),
        service_list=TaggedServices(),
        signals=signal_ports(settings),
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
    is done in turn on the calling thread; without ``tagging`` no backstop.
    is done in turn on the calling thread; without ``signals`` only StopTask is taken
    (the simulator passes its simulated exec and ssm-signal ports).
    With ``accounts`` (a hub) the ECS and ELB calls go through it (``ecs`` and ``elbv2``
    are then unused: its home clients serve the hub's own account).
    """
    ecs_port, health = (EcsAdapter(ecs), TargetHealthAdapter(elbv2))
    if accounts is not None:
        ecs_port, health = _routed(accounts)
    return Ports(
        ledger=DynamoLedger(settings.table_name, dynamodb),
        ecs=ecs_port,
        health=health,
        trigger=None if lambda_ is None else _trigger(settings, lambda_),
        concurrency=concurrency or InlineConcurrency(),
        service_list=None if tagging is None else TaggedServices(tagging),
        signals=dict(signals or {}),
        tenancy=accounts,
    )
