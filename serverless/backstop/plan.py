"""The backstop's plan: which services a run visits, and the bounds of one visit.

Events can be lost past every retry (EventBridge's and Lambda's, the dead-letter queue) or
never be handled (the terminator deployed, or down, mid-drain). The backstop finds such
drains by asking ECS: every minute a schedule rule starts the sweeper function with
:data:`BACKSTOP_EVENT`; that run visits one slice of the opted-in services, so each is
visited once per round of ``backstop_round_minutes`` (default 10).

Bounds, per opted-in service and visit (calls, at most):

- ListTasks(serviceName, desiredStatus=STOPPED): :data:`MAX_LIST_PAGES` pages of 100;
- BatchGetItem of those task ARNs (keys only): one per 100;
- DescribeTasks of the ones without a record: one per 100;
- DescribeServices, only when a draining task without a record is found (one per 10
  such services of a cluster, and usually answered by the cached copy).

With the default round that is 6 visits an hour: at most 12 ListTasks, 12 DescribeTasks
and 12 BatchGetItem calls per service and hour, typically 6 ListTasks and 6 BatchGetItem
(no lost drain: nothing to describe). Plus, every run, one GetResources per 100 opted-in
services (60 runs an hour). Every ECS call takes a token of the backstop's own buckets
(:data:`serverless.shared.pacing.BACKSTOP_SHARE`, 10 % of each account bucket) and one
of the account's, so the backstop never uses more than a tenth of ECS's ListTasks /
DescribeTasks rate and the sweeper keeps the rest.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from serverless.domain.arns import parse_cluster_arn
from serverless.domain.early_start import EARLY_START_SOURCE

__all__ = [
    "BACKSTOP_DETAIL_TYPE",
    "BACKSTOP_EVENT",
    "MAX_LIST_PAGES",
    "PAGE",
    "ServiceRef",
    "in_slice",
    "is_backstop_event",
    "service_ref",
]

BACKSTOP_DETAIL_TYPE = "Backstop"
#: The input of the backstop's schedule rule (terraform/backstop.tf).
BACKSTOP_EVENT = {"source": EARLY_START_SOURCE, "detail-type": BACKSTOP_DETAIL_TYPE}
#: Task ARNs per ListTasks page, per DescribeTasks call and per BatchGetItem of the ledger.
PAGE = 100
#: ListTasks pages of 100 read per visit: 200 tasks whose desiredStatus is STOPPED (those
#: stopped in the last hour included). A service that stops more in an hour than that
#: may have a lost drain on a later page, found on a later visit if ECS orders it first.
MAX_LIST_PAGES = 2


def is_backstop_event(event: object) -> bool:
    """Whether ``event`` is the backstop's scheduled input."""
    return (
        isinstance(event, dict)
        and event.get("source") == EARLY_START_SOURCE
        and event.get("detail-type") == BACKSTOP_DETAIL_TYPE
    )


def in_slice(service_arn: str, now: float, round_minutes: int) -> bool:
    """Whether the run of the minute ``now`` falls in visits ``service_arn``: each service
    belongs to one minute of the round (CRC-32 of its ARN), spreading the services evenly
    over the round. A minute without a run (a missed tick) leaves its slice to the next
    round."""
    rounds = max(1, round_minutes)
    return zlib.crc32(service_arn.encode()) % rounds == int(now // 60) % rounds


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """The cluster ARN and name of an opted-in service."""

    cluster_arn: str
    name: str


def service_ref(service_arn: str) -> ServiceRef | None:
    """The cluster ARN and name of a long-format service ARN
    (``arn:<partition>:ecs:<region>:<account>:service/<cluster>/<name>``), else None
    (tags need the long format, so a tagged service always has it)."""
    prefix, sep, path = service_arn.partition(":service/")
    cluster, slash, name = path.partition("/")
    if not sep or not slash or not cluster or not name or "/" in name:
        return None
    cluster_arn = f"{prefix}:cluster/{cluster}"
    if parse_cluster_arn(cluster_arn) is None:
        return None
    return ServiceRef(cluster_arn, name)
