"""Read the ledger for the operator CLI (status, explain, verify): never writes."""

from __future__ import annotations

from typing import Any

from serverless.adapters.dynamodb_ledger import from_item
from serverless.cli.aws.session import AwsAccess
from serverless.domain.errors import NotFoundError
from serverless.domain.model import TaskRecord

__all__ = ["LedgerReader"]


class LedgerReader:
    """Task records of the ledger table (the stagger slots are not task records)."""

    def __init__(self, table_name: str, access: AwsAccess) -> None:
        self.table_name = table_name
        self._access = access

    def _missing(self, error: NotFoundError) -> NotFoundError:
        where = f" in region {self._access.region}" if self._access.region else ""
        return NotFoundError(
            f"ledger table {self.table_name!r} not found{where}: check --table, "
            f"TABLE_NAME or --from-terraform, and the region ({error})"
        )

    def get(self, task_arn: str) -> TaskRecord | None:
        """The record of ``task_arn`` (strongly consistent), or None."""
        client = self._access.client
        try:
            response = self._access.call(
                "GetItem",
                lambda: client("dynamodb").get_item(
                    TableName=self.table_name, Key={"pk": {"S": task_arn}}, ConsistentRead=True
                ),
            )
        except NotFoundError as error:
            raise self._missing(error) from error
        item = response.get("Item")
        return from_item(item) if item else None

    def _scan(self, **filters: Any) -> list[dict[str, Any]]:
        client = self._access.client
        kwargs: dict[str, Any] = {"TableName": self.table_name, **filters}
        items: list[dict[str, Any]] = []
        while True:
            try:
                response = self._access.call("Scan", lambda: client("dynamodb").scan(**kwargs))
            except NotFoundError as error:
                raise self._missing(error) from error
            items.extend(response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return items
            kwargs["ExclusiveStartKey"] = last

    def records(self) -> list[TaskRecord]:
        """Every task record in the table (open and closed, until TTL removes them)."""
        return [from_item(item) for item in self._scan() if _is_task(item)]

    def find(self, task_ref: str) -> TaskRecord | None:
        """The record of a task given by ARN, or by id (a scan: ids are not keys)."""
        if task_ref.startswith("arn:"):
            return self.get(task_ref)
        suffix = "/" + task_ref
        items = self._scan(
            FilterExpression="contains(pk, :id)",
            ExpressionAttributeValues={":id": {"S": suffix}},
        )
        matches = [from_item(i) for i in items if _is_task(i) and i["pk"]["S"].endswith(suffix)]
        return matches[0] if matches else None


def _is_task(item: dict[str, Any]) -> bool:
    return str(item.get("pk", {}).get("S", "")).startswith("arn:")
