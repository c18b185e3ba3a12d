"""What an AWS call costs in the simulation: virtual time, rate limits, capacity units.

Every figure the simulator charges lives here, so a benchmark can state its assumptions
by pointing at this module.

* **Latency** (virtual seconds per call, :data:`LATENCY_SECONDS`): *assumed* typical
  in-region round trips, not measured on AWS. The service acts when the call is sent;
  the calling Lambda process is then parked for the whole latency before it sees the
  answer. ``latency_scale`` multiplies them all; ``0`` is the old zero-latency model.
* **Account token buckets** (:data:`ACCOUNT_BUCKETS`, burst / refill per second, per
  account and region, from the ECS and ELB API references, see the
  README's AWS facts; each account of a run has its own, drawn by the calls made with
  that account's credentials): a call that finds its bucket empty is
  answered with the service's real throttling error (ECS ``ThrottlingException``, ELB
  ``Throttling``), so botocore's own retries run, on the virtual clock.
* **DynamoDB partitions**: each partition-key value of a table and of each global
  secondary index takes at most 1,000 write and 3,000 read units per second
  (:data:`PARTITION_WCU`, :data:`PARTITION_RCU`). Units are derived generically from item
  sizes and the key schema seen in ``CreateTable``: a write costs ceil(size / 1 KB) on the
  table's partition and again on each index partition the item enters, leaves or changes
  in (index projections are taken as ALL, the conservative case); a read costs
  ceil(size / 4 KB), halved when eventually consistent; a Query sums the sizes it returns.
  Units are charged after the call (DynamoDB knows the size only then), so a partition can
  go briefly into debt; the next call to a partition in debt is answered with
  ``ProvisionedThroughputExceededException`` (the key-range throttle; a write is throttled
  when one of its index partitions is, as DynamoDB's GSI back-pressure does). Bursts above
  one second's worth of units (DynamoDB's adaptive and burst capacity) are not modelled.

Only calls made by simulated Lambda invocations are charged: the harness (provisioning,
scenario actions, operator actions) works at zero cost and outside the buckets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.aws.capacity import (
    Index,
    error_code,
    index_key,
    item_size,
    key_of,
    key_schema,
    label,
    pk,
    query_hash_value,
    read_units,
    update_values,
    write_units,
)

__all__ = [
    "ACCOUNT_BUCKETS",
    "DEFAULT_LATENCY_SECONDS",
    "LATENCY_SECONDS",
    "NO_COSTS",
    "PARTITION_RCU",
    "PARTITION_WCU",
    "BucketSpec",
    "CostModel",
    "Costs",
    "TokenBucket",
    "item_size",
]

ELB = "elastic-load-balancing-v2"

#: Assumed latency of one call (seconds), keyed "service.Operation" (botocore service ids).
LATENCY_SECONDS: Mapping[str, float] = {
    "dynamodb.GetItem": 0.005,
    "dynamodb.PutItem": 0.007,
    "dynamodb.UpdateItem": 0.007,
    "dynamodb.DeleteItem": 0.007,
    "dynamodb.Query": 0.010,
    "ecs.StopTask": 0.060,
    "ecs.DescribeTasks": 0.080,
    "ecs.DescribeServices": 0.050,
    "ecs.ListTagsForResource": 0.050,
    f"{ELB}.DescribeTargetHealth": 0.040,
    "lambda.Invoke": 0.030,
    # The stop actions' calls (sim/aws/signals.py states the session latencies on top).
    "ecs.ExecuteCommand": 0.250,  # creates the Session Manager session
    "ecs.DescribeContainerInstances": 0.060,
    "ssm.TerminateSession": 0.050,
    "ssm.SendCommand": 0.100,
    "ssm.GetCommandInvocation": 0.050,
    "ssm.CancelCommand": 0.050,
    # Not modelled: a member role is assumed once per container and account (then kept
    # for the session's hour), and botocore holds a real lock while it does so, which a
    # simulated process may not wait on (it would block the loop, not yield to it).
    "sts.AssumeRole": 0.0,
}
#: Assumed latency of any other call.
DEFAULT_LATENCY_SECONDS = 0.020

#: Write and read units per second one partition-key value takes (table or index).
PARTITION_WCU = 1000.0
PARTITION_RCU = 3000.0


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """An account-wide token bucket shared by ``operations`` ("service.Operation" keys)."""

    name: str
    burst: float
    per_second: float
    operations: frozenset[str]
    #: Also every call of this service whose operation starts with this prefix.
    prefix: tuple[str, str] | None = None

    def covers(self, key: str, service: str, operation: str) -> bool:
        """Whether a call draws from this bucket."""
        if key in self.operations:
            return True
        return self.prefix is not None and (
            service == self.prefix[0] and operation.startswith(self.prefix[1])
        )


#: The documented account buckets (burst / refill per second).
ACCOUNT_BUCKETS: tuple[BucketSpec, ...] = (
    BucketSpec(
        "ecs.StopTask", 100, 40, frozenset({"ecs.StopTask", "ecs.RunTask", "ecs.StartTask"})
    ),
    BucketSpec("ecs.DescribeTasks", 100, 20, frozenset({"ecs.DescribeTasks", "ecs.ListTasks"})),
    BucketSpec(
        "ecs.DescribeServices", 100, 20, frozenset({"ecs.DescribeServices", "ecs.ListServices"})
    ),
    BucketSpec("ecs.ListTagsForResource", 50, 20, frozenset({"ecs.ListTagsForResource"})),
    BucketSpec("elb.Describe*", 40, 10, frozenset(), prefix=(ELB, "Describe")),
)

_THROTTLE_CODES = {"ecs": "ThrottlingException", ELB: "Throttling"}


@dataclass(frozen=True, slots=True)
class Costs:
    """The knobs: ``latency_scale`` (0 = free calls) and ``limits`` (buckets, partitions)."""

    latency_scale: float = 1.0
    limits: bool = True
    latencies: Mapping[str, float] = field(default_factory=lambda: dict(LATENCY_SECONDS))
    default_latency: float = DEFAULT_LATENCY_SECONDS
    buckets: tuple[BucketSpec, ...] = ACCOUNT_BUCKETS
    partition_wcu: float = PARTITION_WCU
    partition_rcu: float = PARTITION_RCU

    def __post_init__(self) -> None:
        if self.latency_scale < 0:
            raise ValueError("latency_scale must be >= 0")

    def latency(self, key: str) -> float:
        """Virtual seconds a call of ``key`` ("service.Operation") takes."""
        return self.latency_scale * self.latencies.get(key, self.default_latency)


#: The zero-latency, unlimited model (what the simulator did before costs existed).
NO_COSTS = Costs(latency_scale=0.0, limits=False)


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``per_second``; may run into debt."""

    __slots__ = ("burst", "level", "per_second", "updated")

    def __init__(self, burst: float, per_second: float, now: float) -> None:
        self.burst, self.per_second = burst, per_second
        self.level, self.updated = burst, now

    def refill(self, now: float) -> float:
        """Tokens available at ``now``."""
        if now > self.updated:
            self.level = min(self.burst, self.level + (now - self.updated) * self.per_second)
            self.updated = now
        return self.level

    def take(self, now: float, amount: float = 1.0) -> bool:
        """Take ``amount`` tokens if there are that many; False (nothing taken) otherwise."""
        if self.refill(now) < amount:
            return False
        self.level -= amount
        return True

    def charge(self, now: float, amount: float) -> None:
        """Take ``amount`` unconditionally (the level may go negative: a debt)."""
        self.refill(now)
        self.level -= amount


#: Reads the current item of ``table`` with ``key`` (JSON attribute values), or None.
ItemLookup = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class CostModel:
    """Latency, account buckets and DynamoDB partition units for one run."""

    def __init__(self, costs: Costs, now: Callable[[], float], lookup: ItemLookup) -> None:
        self.costs = costs
        self._now = now
        self._lookup = lookup
        #: The account buckets by (account, bucket name): each account has its own.
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._tables: dict[str, list[Index]] = {}
        self._partitions: dict[tuple[str, str, str, str], TokenBucket] = {}
        #: Throttled calls by "service.Operation".
        self.throttled: dict[str, int] = defaultdict(int)
        #: Throttled calls by partition: "table[/index] pk=value (read|write)".
        self.throttled_partitions: dict[str, int] = defaultdict(int)
        #: Units consumed: {"read": ..., "write": ...} over every table and index.
        self.units: dict[str, float] = defaultdict(float)
        #: Highest units one partition consumed in any one-second window start..start+1.
        self.peak_partition_units: dict[str, float] = defaultdict(float)
        self._window: dict[tuple[str, str, str, str], tuple[int, float]] = {}

    # -- before the call ------------------------------------------------------------------

    def latency(self, key: str) -> float:
        """Virtual seconds the call takes."""
        return self.costs.latency(key)

    def learn(self, service: str, operation: str, params: Mapping[str, Any]) -> None:
        """Remember key schemas from CreateTable (whoever calls it)."""
        if service == "dynamodb" and operation == "CreateTable":
            indexes = [key_schema("", list(params.get("KeySchema", [])))]
            for gsi in params.get("GlobalSecondaryIndexes", []) or []:
                indexes.append(key_schema(str(gsi["IndexName"]), list(gsi["KeySchema"])))
            self._tables[str(params.get("TableName"))] = indexes

    def _bucket(self, account: str, spec: BucketSpec) -> TokenBucket:
        bucket = self._buckets.get((account, spec.name))
        if bucket is None:
            bucket = TokenBucket(spec.burst, spec.per_second, self._now())
            self._buckets[(account, spec.name)] = bucket
        return bucket

    def admit(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        account: str | None = None,
    ) -> str | None:
        """The throttling error code to answer with, or None to let the call through
        (``account``: whose buckets the call draws from; None: the deployment's own)."""
        if not self.costs.limits:
            return None
        key, now = f"{service}.{operation}", self._now()
        for spec in self.costs.buckets:
            if spec.covers(key, service, operation) and not self._bucket(account or "", spec).take(
                now
            ):
                self.throttled[key] += 1
                return _THROTTLE_CODES.get(service, "ThrottlingException")
        if service == "dynamodb":
            for partition in self._touched(operation, params):
                bucket = self._partitions.get(partition)
                if bucket is not None and bucket.refill(now) < 0:
                    self.throttled[key] += 1
                    self.throttled_partitions[label(partition)] += 1
                    return "ProvisionedThroughputExceededException"
        return None

    def before_write(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The item a write will replace (read before the call, to charge index changes)."""
        if operation not in {"PutItem", "UpdateItem", "DeleteItem"}:
            return None
        table = str(params.get("TableName"))
        indexes = self._tables.get(table)
        if not indexes:
            return None
        key = key_of(indexes[0], params)
        return self._lookup(table, key) if key else None

    # -- after the call -------------------------------------------------------------------

    def charge(
        self,
        operation: str,
        params: Mapping[str, Any],
        old: dict[str, Any] | None,
        status: int | None,
        body: Mapping[str, Any] | None,
    ) -> None:
        """Charge the units a DynamoDB call consumed (failed conditional writes included)."""
        table = str(params.get("TableName"))
        indexes = self._tables.get(table)
        if not indexes or status is None:
            return
        conditional_failure = (
            status == 400 and error_code(body) == "ConditionalCheckFailedException"
        )
        if status != 200 and not conditional_failure:
            return
        base = indexes[0]
        if operation in {"PutItem", "UpdateItem", "DeleteItem"}:
            key = key_of(base, params)
            new = None if conditional_failure else self._lookup(table, key) if key else None
            if conditional_failure:
                size = item_size(old) if old else item_size(key or {})
                self._consume((table, "", "write", pk(base, key or {})), write_units(size))
                return
            self._charge_write(table, indexes, old, new)
        elif operation == "GetItem":
            item = (body or {}).get("Item") or {}
            key = key_of(base, params) or {}
            units = read_units(item_size(item), bool(params.get("ConsistentRead")))
            self._consume((table, "", "read", pk(base, key)), units)
        elif operation == "Query":
            index = self._index(table, params.get("IndexName"))
            if index is None:
                return
            items = list((body or {}).get("Items", []))
            value = query_hash_value(index, params)
            size = sum(item_size(i) for i in items)
            units = read_units(size, bool(params.get("ConsistentRead")))
            self._consume((table, index.name, "read", value), units)

    def _charge_write(
        self,
        table: str,
        indexes: list[Index],
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> None:
        base = indexes[0]
        present = new or old
        if present is None:
            return
        size = max(item_size(old or {}), item_size(new or {}))
        self._consume((table, "", "write", pk(base, present)), write_units(size))
        for index in indexes[1:]:
            before = index_key(index, old)
            after = index_key(index, new)
            if before is None and after is None:
                continue
            if after is not None:
                assert new is not None
                self._consume((table, index.name, "write", after[0]), write_units(item_size(new)))
            if before is not None and (after is None or before != after):
                assert old is not None
                self._consume((table, index.name, "write", before[0]), write_units(item_size(old)))

    def _consume(self, partition: tuple[str, str, str, str], units: float) -> None:
        if units <= 0:
            return
        now = self._now()
        self.units[partition[2]] += units
        if self.costs.limits:
            bucket = self._partitions.get(partition)
            if bucket is None:
                per_second = (
                    self.costs.partition_wcu
                    if partition[2] == "write"
                    else self.costs.partition_rcu
                )
                bucket = self._partitions[partition] = TokenBucket(per_second, per_second, now)
            bucket.charge(now, units)
        second = int(now)
        start, used = self._window.get(partition, (second, 0.0))
        used = used + units if start == second else units
        self._window[partition] = (second, used)
        where = label(partition)
        self.peak_partition_units[where] = max(self.peak_partition_units[where], used)

    def _index(self, table: str, name: object) -> Index | None:
        for index in self._tables.get(table, []):
            if index.name == (name or ""):
                return index
        return None

    def _touched(
        self, operation: str, params: Mapping[str, Any]
    ) -> list[tuple[str, str, str, str]]:
        """Partitions a call will draw from, known before it runs."""
        table = str(params.get("TableName"))
        indexes = self._tables.get(table)
        if not indexes:
            return []
        base = indexes[0]
        if operation == "GetItem":
            key = key_of(base, params)
            return [(table, "", "read", pk(base, key))] if key else []
        if operation == "Query":
            index = self._index(table, params.get("IndexName"))
            if index is None:
                return []
            return [(table, index.name, "read", query_hash_value(index, params))]
        if operation in {"PutItem", "UpdateItem", "DeleteItem"}:
            key = key_of(base, params)
            if not key:
                return []
            touched = [(table, "", "write", pk(base, key))]
            # Index partitions the item may land in or leave: any index partition in debt
            # that this item belongs to (now, or after a PutItem) throttles the write.
            old = self._lookup(table, key)
            item = params.get("Item") if operation == "PutItem" else None
            for index in indexes[1:]:
                for candidate in (old, item):
                    found = index_key(index, candidate)
                    if found is not None:
                        touched.append((table, index.name, "write", found[0]))
                for value in update_values(index, params):
                    touched.append((table, index.name, "write", value))
            return touched
        return []
