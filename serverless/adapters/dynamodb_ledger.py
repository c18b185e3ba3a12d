"""The ledger on DynamoDB: one item per task, conditional writes on ``rev``.

Open task records carry ``sweep_key`` = ``open#<shard>`` (shard = CRC-32 of the task ARN
modulo :data:`DUE_INDEX_SHARDS`), which puts them in the sparse ``due-index`` spread over
several partition-key values, so no index partition is hot. The index projects the keys,
``status`` and ``lease_until``: enough to plan a run without reading whole items.

Every task record written carries ``schema_version`` (:data:`SCHEMA_VERSION`), the layout
of its item. Records of every layout that has landed are read, swept and closed (see
:func:`item_layout` and docs/contracts.md, "Ledger layouts and upgrades").
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.concurrency import InlineConcurrency
from serverless.adapters.errors import aws_errors
from serverless.domain.errors import ConflictError
from serverless.domain.model import (
    ActionTaken,
    DueEntry,
    Outcome,
    RecordStatus,
    ServiceInfo,
    StopAction,
    TaskRecord,
    TaskSetInfo,
)
from serverless.ports import Concurrency

__all__ = [
    "BATCH_GET_KEYS",
    "DUE_INDEX",
    "DUE_INDEX_SHARDS",
    "DUE_READ_WORKERS",
    "LEGACY_SWEEP_KEY",
    "SCHEMA_VERSION",
    "SINGLE_ACCOUNT_SHARDS",
    "DynamoLedger",
    "from_item",
    "item_layout",
    "sweep_key",
    "to_item",
]

DUE_INDEX = "due-index"
#: Partition-key values of the due index: twelve keep each under DynamoDB's 1,000 write
#: units per second when a hub's 20 accounts stop their drains at once, each at its own
#: StopTask rate (six took 1,006 at 2,000 drains over 20 accounts: every drain's record,
#: claim and stop land within a second or two), and an idle-to-busy deployment under 6
#: read units per drain. Only grow it: a run's first read queries ``open#0`` ..
#: ``open#<n-1>``, so records written under a smaller count are still found, but a smaller
#: count would strand some.
DUE_INDEX_SHARDS = 12
#: The shards a single-account deployment writes: one StopTask bucket paces its stops, and
#: six kept its hottest partition under 900 write units per second at 10,000 drains
#: (docs/benchmarks.md). Its later polls of a run read only these six (and a hub's its
#: twelve): half the Queries per poll. Each run's first read still covers every partition a
#: record may hold (:data:`DUE_INDEX_SHARDS` and the legacy key), and each write moves a
#: record into the writer's layout, so records of a hub turned back into one account, or
#: of an older layout, are found within a run.
SINGLE_ACCOUNT_SHARDS = 6
_OPEN_PREFIX = "open#"
#: The due read's Queries (one per shard, and the legacy key's) in flight at once: 13 in
#: two rounds, within botocore's pool of 10 connections per client (more would open, and
#: then drop, a connection per extra Query at every poll).
DUE_READ_WORKERS = 7
#: The layout of the task records this code writes, stored in each as ``schema_version``.
#: The layouts that have landed (all read by this code; the commits are where each began):
#:   1. f04bb52: ``sweep_key = "open"``, one due-index partition; no ``schema_version``.
#:   2. 0853a65: ``sweep_key = "open#<CRC-32 of the task ARN % 4>"`` (``% 6`` from e603de1:
#:      the same layout, more shards); no ``schema_version``.
#:   3. as 2, plus ``schema_version`` (``% 12`` from the hub's per-account pacing: the
#:      same layout, more shards).
#: The record fields themselves (``TaskRecord``) have not changed since layout 1, but for
#: optional attributes added to layout 3 (``cause``, ``started_by``, ``found_by``, and the
#: stop actions' ``plan`` and ``actions`` lists: absent in older records, ignored by older
#: readers; docs/contracts.md).
SCHEMA_VERSION = 3
#: The due-index partition key of every open record written in layout 1. The due read
#: queries it beside the shards, so drains recorded before the upgrade are still stopped on
#: time; their next write moves them to their shard, and nothing writes this key any more,
#: so the extra Query returns nothing once they are done (half a read unit; an idle run
#: never reaches it: ``has_open`` answers first). A migration job or a migrating first run
#: was not chosen: an old invocation still finishing during the deployment may write such a
#: record after it, and a record may not wait past its deadline for the next migration.
LEGACY_SWEEP_KEY = "open"
#: BatchGetItem reads at most 100 keys per call.
BATCH_GET_KEYS = 100
#: Conditional writes that lose to another invocation taking tokens are tried this often.
_TOKEN_ATTEMPTS = 5

#: Every due-index partition key an open record can carry (layout 3's shards also hold the
#: records of layout 2, written under 4 shards, then 6, and layout 3's first under 6).
_DUE_PARTITIONS = (*(f"{_OPEN_PREFIX}{n}" for n in range(DUE_INDEX_SHARDS)), LEGACY_SWEEP_KEY)

_FIELDS = {f.name: f for f in dataclasses.fields(TaskRecord)}
_INT_FIELDS = frozenset({"version", "wait_seconds", "rev", "attempts", "deferrals", "expires_at"})
_ENUMS: dict[str, type[RecordStatus] | type[Outcome]] = {
    "status": RecordStatus,
    "outcome": Outcome,
}
#: Stop-action fields: ``plan`` a list of action names, ``actions`` a list of maps.
_LIST_FIELDS = frozenset({"plan", "actions"})


def _action_item(action: ActionTaken) -> dict[str, Any]:
    item: dict[str, Any] = {
        "action": {"S": str(action.action)},
        "at": {"N": _number(action.at)},
        "outcome": {"S": action.outcome},
    }
    if action.missing:
        item["missing"] = {"S": action.missing}
    if action.detail:
        item["detail"] = {"S": action.detail}
    return {"M": item}


def _action_of(raw: dict[str, Any]) -> ActionTaken:
    item = raw["M"]
    return ActionTaken(
        action=StopAction(item["action"]["S"]),
        at=float(item["at"]["N"]),
        outcome=item["outcome"]["S"],
        missing=item.get("missing", {}).get("S"),
        detail=item.get("detail", {}).get("S", ""),
    )


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _service_key(cluster_arn: str, service_name: str) -> str:
    return f"service#{cluster_arn}#{service_name}"


def sweep_key(task_arn: str, shards: int = DUE_INDEX_SHARDS) -> str:
    """The due-index partition key of an open record of ``task_arn`` written over
    ``shards`` shards."""
    return f"{_OPEN_PREFIX}{zlib.crc32(task_arn.encode()) % shards}"


def item_layout(item: dict[str, Any]) -> int:
    """The layout (see :data:`SCHEMA_VERSION`) a task record's item was written in.

    Items without ``schema_version`` are layout 1 when open under the single legacy key,
    else 2 (closed records of layouts 1 and 2 are the same).
    """
    stored = item.get("schema_version")
    if stored is not None:
        return int(stored["N"])
    return 1 if item.get("sweep_key", {}).get("S") == LEGACY_SWEEP_KEY else 2


def to_item(record: TaskRecord, shards: int = DUE_INDEX_SHARDS) -> dict[str, dict[str, Any]]:
    """The DynamoDB item of a record in the current layout over ``shards`` due-index shards;
    ``sweep_key`` marks records the sweeper must visit (a record read in an older layout, or
    under another shard count, is moved by this write).
    ``plan`` and ``actions`` (stop actions) are lists, present once a stop step is chosen."""
    item: dict[str, dict[str, Any]] = {
        "pk": {"S": record.task_arn},
        "schema_version": {"N": str(SCHEMA_VERSION)},
    }
    if record.plan:
        item["plan"] = {"L": [{"S": str(step)} for step in record.plan]}
    if record.actions:
        item["actions"] = {"L": [_action_item(action) for action in record.actions]}
    for name in _FIELDS:
        if name == "task_arn" or name in _LIST_FIELDS:
            continue
        value = getattr(record, name)
        if value is None:
            continue
        if isinstance(value, str):  # includes the StrEnums
            item[name] = {"S": str(value)}
        else:
            item[name] = {"N": _number(value)}
    if record.is_open:
        item["sweep_key"] = {"S": sweep_key(record.task_arn, shards)}
    return item


def from_item(item: dict[str, Any]) -> TaskRecord:
    """The record stored in ``item``, whatever its layout (they share the record fields; a
    later layout may add attributes, which this ignores)."""
    values: dict[str, Any] = {"task_arn": item["pk"]["S"]}
    if "plan" in item:
        values["plan"] = tuple(StopAction(step["S"]) for step in item["plan"]["L"])
    if "actions" in item:
        values["actions"] = tuple(_action_of(action) for action in item["actions"]["L"])
    for name in _FIELDS:
        if name == "task_arn" or name in _LIST_FIELDS or name not in item:
            continue
        raw = item[name]
        if "S" in raw:
            enum = _ENUMS.get(name)
            values[name] = enum(raw["S"]) if enum else raw["S"]
        else:
            values[name] = int(raw["N"]) if name in _INT_FIELDS else float(raw["N"])
    return TaskRecord(**values)


class DynamoLedger:
    """:class:`serverless.ports.LedgerPort` on a DynamoDB table (see terraform/dynamodb.tf).

    ``concurrency`` runs the due read's Queries (one per due-index partition)
    :data:`DUE_READ_WORKERS` at a time, so a read takes about two Queries' latency, not
    thirteen (default: in turn, for unit tests).
    """

    def __init__(
        self,
        table_name: str,
        client: Any | None = None,
        concurrency: Concurrency | None = None,
        shards: int = DUE_INDEX_SHARDS,
    ) -> None:
        if not 1 <= shards <= DUE_INDEX_SHARDS:
            raise ValueError(f"shards must be 1 to {DUE_INDEX_SHARDS}, not {shards}")
        self._table = table_name
        self._client = LazyClient("dynamodb", client)
        self._concurrency = concurrency or InlineConcurrency()
        self._shards = shards
        #: The partitions this deployment writes: what a run's later polls read.
        self._written = tuple(f"{_OPEN_PREFIX}{n}" for n in range(shards))
        #: The last read of every partition found records outside ``_written`` (an earlier
        #: layout's): later polls read every partition too until one finds none there.
        self._strays = False
        #: Per token bucket, the ``tat`` this ledger last wrote or saw: which of the two
        #: conditional writes of :meth:`take_tokens` to try first.
        self._last_tat: dict[str, float] = {}

    def get(self, task_arn: str) -> TaskRecord | None:
        """Strongly consistent read of one record."""
        with aws_errors("GetItem"):
            response = self._client.get().get_item(
                TableName=self._table, Key={"pk": {"S": task_arn}}, ConsistentRead=True
            )
        item = response.get("Item")
        return from_item(item) if item else None

    def put(self, record: TaskRecord, expected_rev: int | None) -> TaskRecord:
        """Write ``record`` with ``rev`` + 1 if the stored rev is still ``expected_rev``."""
        written = dataclasses.replace(record, rev=(expected_rev or 0) + 1)
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(written, self._shards),
        }
        if expected_rev is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "rev = :expected"
            kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_rev)}}
        with aws_errors("PutItem"):
            self._client.get().put_item(**kwargs)
        return written

    def _partition(self, key: str, until: float) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "sweep_key = :open AND due_at <= :until",
            "ExpressionAttributeValues": {
                ":open": {"S": key},
                ":until": {"N": _number(until)},
            },
        }
        while True:
            with aws_errors("Query"):
                response = self._client.get().query(**kwargs)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def due(self, until: float, *, every_partition: bool = False) -> list[DueEntry]:
        """Open records due at or before ``until``, earliest first: one Query per shard this
        deployment writes or, with ``every_partition`` (a run's first read) and while the
        last such read found records elsewhere, per shard any layout may have written and
        one of :data:`LEGACY_SWEEP_KEY` (records written before the index was sharded);
        :data:`DUE_READ_WORKERS` at a time (each partition's pages in turn); a failed Query
        fails the read once all have returned."""
        every = every_partition or self._strays
        keys = _DUE_PARTITIONS if every else self._written
        pages = self._concurrency.map(
            lambda key: list(self._partition(key, until)), keys, DUE_READ_WORKERS
        )
        if every:
            self._strays = any(
                items for key, items in zip(keys, pages, strict=True) if key not in self._written
            )
        entries = [
            DueEntry(
                task_arn=item["pk"]["S"],
                due_at=float(item["due_at"]["N"]),
                status=RecordStatus(item["status"]["S"]),
                lease_until=float(item["lease_until"]["N"]) if "lease_until" in item else None,
            )
            for items in pages
            for item in items
        ]
        return sorted(entries, key=lambda entry: (entry.due_at, entry.task_arn))

    def claim(self, task_arn: str, owner: str, now: float, until: float) -> TaskRecord | None:
        """Lease a due, open, unleased record in one conditional UpdateItem (ALL_NEW)."""
        try:
            with aws_errors("UpdateItem"):
                response = self._client.get().update_item(
                    TableName=self._table,
                    Key={"pk": {"S": task_arn}},
                    UpdateExpression="SET lease_owner = :owner, lease_until = :until, "
                    "rev = rev + :one",
                    ConditionExpression="attribute_exists(sweep_key) AND due_at <= :now AND "
                    "(attribute_not_exists(lease_until) OR lease_until <= :now)",
                    ExpressionAttributeValues={
                        ":owner": {"S": owner},
                        ":until": {"N": _number(until)},
                        ":now": {"N": _number(now)},
                        ":one": {"N": "1"},
                    },
                    ReturnValues="ALL_NEW",
                )
        except ConflictError:
            return None
        return from_item(response["Attributes"])

    def known(self, task_arns: Sequence[str]) -> set[str]:
        """BatchGetItem of the keys only, 100 per call (eventually consistent: a record
        written a moment ago may be missed; the backstop's conditional write then fails and
        it moves on). Keys DynamoDB leaves unprocessed are not retried: they count as
        unknown, with the same outcome."""
        found: set[str] = set()
        unique = list(dict.fromkeys(task_arns))
        for start in range(0, len(unique), BATCH_GET_KEYS):
            keys = [{"pk": {"S": arn}} for arn in unique[start : start + BATCH_GET_KEYS]]
            with aws_errors("BatchGetItem"):
                response = self._client.get().batch_get_item(
                    RequestItems={
                        self._table: {"Keys": keys, "ProjectionExpression": "pk"},
                    }
                )
            for item in response.get("Responses", {}).get(self._table, []):
                found.add(item["pk"]["S"])
        return found

    def has_open(self) -> bool:
        """Whether the sparse due index holds anything: one Scan with Limit=1."""
        with aws_errors("Scan"):
            response = self._client.get().scan(
                TableName=self._table, IndexName=DUE_INDEX, Limit=1, Select="COUNT"
            )
        return bool(response.get("Count")) or "LastEvaluatedKey" in response

    def get_service(
        self, cluster_arn: str, service_name: str
    ) -> tuple[ServiceInfo | None, float] | None:
        """The shared ``service#<cluster ARN>#<name>`` item (eventually consistent read)."""
        with aws_errors("GetItem"):
            item = (
                self._client.get()
                .get_item(
                    TableName=self._table,
                    Key={"pk": {"S": _service_key(cluster_arn, service_name)}},
                )
                .get("Item")
            )
        if not item or "read_at" not in item:  # never stored, or only claimed
            return None
        read_at = float(item["read_at"]["N"])
        if not item.get("exists", {}).get("BOOL", False):
            return None, read_at
        info = ServiceInfo(
            cluster_arn=cluster_arn,
            service_name=service_name,
            tags={k: v["S"] for k, v in item.get("tags", {}).get("M", {}).items()},
            desired_count=int(item.get("desired_count", {}).get("N", "0")),
            target_group_arns=tuple(v["S"] for v in item.get("target_groups", {}).get("L", [])),
            # Items stored before these were kept: assume a load balancer (the drain is
            # recorded; the sweeper decides on a fresh DescribeServices).
            load_balanced=item.get("load_balanced", {}).get("BOOL", True),
            controller=item.get("controller", {}).get("S", "ECS"),
            primary_deployment_id=item.get("primary_deployment", {}).get("S"),
            task_sets=tuple(
                TaskSetInfo(task_set_id=v["M"]["id"]["S"], status=v["M"]["status"]["S"])
                for v in item.get("task_sets", {}).get("L", [])
            ),
            lb_container_name=item.get("lb_container", {}).get("S"),
        )
        return info, read_at

    def put_service(
        self, cluster_arn: str, service_name: str, info: ServiceInfo | None, read_at: float
    ) -> None:
        """Overwrite the shared item of a service (last writer wins; it expires in an hour)."""
        item: dict[str, Any] = {
            "pk": {"S": _service_key(cluster_arn, service_name)},
            "read_at": {"N": _number(read_at)},
            "exists": {"BOOL": info is not None},
            "expires_at": {"N": str(int(read_at) + 3600)},
        }
        if info is not None:
            item["tags"] = {"M": {k: {"S": v} for k, v in info.tags.items()}}
            item["desired_count"] = {"N": str(info.desired_count)}
            item["target_groups"] = {"L": [{"S": arn} for arn in info.target_group_arns]}
            item["load_balanced"] = {"BOOL": info.load_balanced}
            item["controller"] = {"S": info.controller}
            if info.primary_deployment_id:
                item["primary_deployment"] = {"S": info.primary_deployment_id}
            item["task_sets"] = {
                "L": [
                    {"M": {"id": {"S": ts.task_set_id}, "status": {"S": ts.status}}}
                    for ts in info.task_sets
                ]
            }
            if info.lb_container_name:
                item["lb_container"] = {"S": info.lb_container_name}
        with aws_errors("PutItem"):
            self._client.get().put_item(TableName=self._table, Item=item)

    def claim_service_lookup(
        self, cluster_arn: str, service_name: str, now: float, until: float
    ) -> bool:
        """One conditional UpdateItem of the service's shared item; put_service clears it."""
        try:
            with aws_errors("UpdateItem"):
                self._client.get().update_item(
                    TableName=self._table,
                    Key={"pk": {"S": _service_key(cluster_arn, service_name)}},
                    UpdateExpression="SET lookup_until = :until, expires_at = :expires",
                    ConditionExpression=(
                        "attribute_not_exists(lookup_until) OR lookup_until <= :now"
                    ),
                    ExpressionAttributeValues={
                        ":until": {"N": _number(until)},
                        ":now": {"N": _number(now)},
                        ":expires": {"N": str(int(until) + 3600)},
                    },
                )
        except ConflictError:
            return False
        return True

    def take_tokens(self, bucket: str, count: int, rate: float, burst: int, now: float) -> float:
        """GCRA on the item ``rate#<bucket>``: move its theoretical arrival time ``tat`` on by
        ``count / rate``; the tokens may be spent once ``tat`` is within ``burst / rate`` of now.

        Two conditional writes cover the two states of the bucket: in use (``tat >= now``:
        queue behind the calls already granted) and idle (start from now). The one that
        matches the ``tat`` this ledger last wrote or saw goes first, and the other only when
        it fails: an idle bucket (the usual state between drains) then costs one write per
        take, not a failed write and a second one.
        """
        step = count / rate
        tolerance = burst / rate
        expires = {"N": str(int(now + tolerance + 3600))}
        last = self._last_tat.get(bucket)
        idle = last is None or last < now
        for _ in range(_TOKEN_ATTEMPTS):
            for _form in range(2):
                try:
                    if idle:
                        tat = self._take_idle(bucket, step, now, expires)
                    else:
                        tat = self._take_queued(bucket, step, now, expires)
                except ConflictError:
                    idle = not idle  # the bucket is in the other state (or just moved)
                    continue
                self._last_tat[bucket] = tat
                return max(now, tat - tolerance)
        raise ConflictError(f"rate#{bucket}: too many concurrent token takes")

    def _take_queued(self, bucket: str, step: float, now: float, expires: dict[str, str]) -> float:
        """The bucket is in use: queue behind the calls already granted; the new ``tat``."""
        with aws_errors("UpdateItem"):
            response = self._client.get().update_item(
                TableName=self._table,
                Key={"pk": {"S": f"rate#{bucket}"}},
                UpdateExpression="SET tat = tat + :step, expires_at = :expires",
                ConditionExpression="tat >= :now",
                ExpressionAttributeValues={
                    ":step": {"N": _number(step)},
                    ":now": {"N": _number(now)},
                    ":expires": expires,
                },
                ReturnValues="UPDATED_NEW",
            )
        return float(response["Attributes"]["tat"]["N"])

    def _take_idle(self, bucket: str, step: float, now: float, expires: dict[str, str]) -> float:
        """The bucket has been idle: start from now; the new ``tat``."""
        tat = now + step
        with aws_errors("UpdateItem"):
            self._client.get().update_item(
                TableName=self._table,
                Key={"pk": {"S": f"rate#{bucket}"}},
                UpdateExpression="SET tat = :tat, expires_at = :expires",
                ConditionExpression="attribute_not_exists(tat) OR tat < :now",
                ExpressionAttributeValues={
                    ":tat": {"N": _number(tat)},
                    ":now": {"N": _number(now)},
                    ":expires": expires,
                },
            )
        return tat

    def reserve_stagger(self, key: str, now: float, hold_until: float) -> float | None:
        """Atomically take a service's stagger slot (see LedgerPort)."""
        client = self._client.get()
        try:
            with aws_errors("UpdateItem"):
                client.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET next_slot_at = :hold, expires_at = :expires",
                    ConditionExpression=(
                        "attribute_not_exists(next_slot_at) OR next_slot_at <= :now"
                    ),
                    ExpressionAttributeValues={
                        ":hold": {"N": _number(hold_until)},
                        ":now": {"N": _number(now)},
                        ":expires": {"N": str(int(hold_until + 3600))},
                    },
                )
        except ConflictError:
            pass
        else:
            return None
        with aws_errors("GetItem"):
            item = client.get_item(
                TableName=self._table, Key={"pk": {"S": key}}, ConsistentRead=True
            ).get("Item", {})
        next_slot = float(item.get("next_slot_at", {}).get("N", _number(now)))
        return max(next_slot, now)

    def settle_stagger(self, key: str, held_until: float, next_at: float) -> None:
        """Move a held stagger slot to ``next_at`` if it is still held until ``held_until``."""
        try:
            with aws_errors("UpdateItem"):
                self._client.get().update_item(
                    TableName=self._table,
                    Key={"pk": {"S": key}},
                    UpdateExpression="SET next_slot_at = :next",
                    ConditionExpression="next_slot_at = :held",
                    ExpressionAttributeValues={
                        ":next": {"N": _number(next_at)},
                        ":held": {"N": _number(held_until)},
                    },
                )
        except ConflictError:
            return
