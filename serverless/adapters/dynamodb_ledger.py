"""The ledger on DynamoDB: one item per task, conditional writes on ``rev``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors
from serverless.errors import ConflictError
from serverless.model import Outcome, RecordStatus, TaskRecord

__all__ = ["DUE_INDEX", "OPEN", "DynamoLedger", "from_item", "to_item"]

DUE_INDEX = "due-index"
OPEN = "open"

_FIELDS = {f.name: f for f in dataclasses.fields(TaskRecord)}
_INT_FIELDS = frozenset({"version", "wait_seconds", "rev", "attempts", "deferrals", "expires_at"})
_ENUMS: dict[str, type[RecordStatus] | type[Outcome]] = {
    "status": RecordStatus,
    "outcome": Outcome,
}


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def to_item(record: TaskRecord) -> dict[str, dict[str, str]]:
    """The DynamoDB item of a record; ``sweep_key`` marks records the sweeper must visit."""
    item: dict[str, dict[str, str]] = {"pk": {"S": record.task_arn}}
    for name in _FIELDS:
        if name == "task_arn":
            continue
        value = getattr(record, name)
        if value is None:
            continue
        if isinstance(value, str):  # includes the StrEnums
            item[name] = {"S": str(value)}
        else:
            item[name] = {"N": _number(value)}
    if record.is_open:
        item["sweep_key"] = {"S": OPEN}
    return item


def from_item(item: dict[str, Any]) -> TaskRecord:
    """The record stored in ``item``."""
    values: dict[str, Any] = {"task_arn": item["pk"]["S"]}
    for name in _FIELDS:
        if name == "task_arn" or name not in item:
            continue
        raw = item[name]
        if "S" in raw:
            enum = _ENUMS.get(name)
            values[name] = enum(raw["S"]) if enum else raw["S"]
        else:
            values[name] = int(raw["N"]) if name in _INT_FIELDS else float(raw["N"])
    return TaskRecord(**values)


class DynamoLedger:
    """:class:`serverless.ports.LedgerPort` on a DynamoDB table (see terraform/dynamodb.tf)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = LazyClient("dynamodb", client)

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
        if expected_rev is None:
            condition = "attribute_not_exists(pk)"
            values: dict[str, Any] = {}
        else:
            condition = "rev = :expected"
            values = {":expected": {"N": str(expected_rev)}}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": to_item(written),
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        with aws_errors("PutItem"):
            self._client.get().put_item(**kwargs)
        return written

    def _query(self, until: float | None, limit: int | None = None) -> Iterator[dict[str, Any]]:
        condition = "sweep_key = :open"
        values: dict[str, Any] = {":open": {"S": OPEN}}
        if until is not None:
            condition += " AND due_at <= :until"
            values[":until"] = {"N": _number(until)}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        while True:
            with aws_errors("Query"):
                response = self._client.get().query(**kwargs)
            yield from response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if not last or limit is not None:
                return
            kwargs["ExclusiveStartKey"] = last

    def due(self, until: float) -> Iterator[TaskRecord]:
        """Open task records due at or before ``until``, earliest first."""
        for item in self._query(until):
            yield from_item(item)

    def has_open(self) -> bool:
        """Whether any record is open."""
        return any(True for _ in self._query(None, limit=1))

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
