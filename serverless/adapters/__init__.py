"""Adapters: the only modules that import botocore, and the factories of :class:`Ports`."""

from __future__ import annotations

from typing import Any

from serverless.adapters.concurrency import InlineConcurrency, ThreadConcurrency
from serverless.adapters.dynamodb_ledger import DynamoLedger
from serverless.adapters.ecs import EcsAdapter
from serverless.adapters.elb import TargetHealthAdapter
from serverless.adapters.lambda_trigger import LambdaSweepTrigger
from serverless.adapters.tagging import TaggedServices
from serverless.ports import Concurrency, Ports
from serverless.settings import Settings

__all__ = [
    "DynamoLedger",
    "EcsAdapter",
    "LambdaSweepTrigger",
    "TaggedServices",
    "TargetHealthAdapter",
    "ports_from_clients",
    "production_ports",
]


def _trigger(settings: Settings, lambda_client: Any | None) -> LambdaSweepTrigger | None:
    if not settings.sweeper_function_name:
        return None
    return LambdaSweepTrigger(settings.sweeper_function_name, lambda_client)


def production_ports(settings: Settings) -> Ports:
    """The ports of a deployed function: botocore clients created on first use, threads."""
    return Ports(
        ledger=DynamoLedger(settings.table_name),
        ecs=EcsAdapter(),
        health=TargetHealthAdapter(),
        trigger=_trigger(settings, None),
        concurrency=ThreadConcurrency(),
        service_list=TaggedServices(),
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
) -> Ports:
    """The production adapters on the given clients (moto, or the simulator's).

    Without ``lambda_`` there is no early start; without ``concurrency`` the work of a run
    is done in turn on the calling thread; without ``tagging`` no backstop.
    """
    return Ports(
        ledger=DynamoLedger(settings.table_name, dynamodb),
        ecs=EcsAdapter(ecs),
        health=TargetHealthAdapter(elbv2),
        trigger=None if lambda_ is None else _trigger(settings, lambda_),
        concurrency=concurrency or InlineConcurrency(),
        service_list=None if tagging is None else TaggedServices(tagging),
    )
