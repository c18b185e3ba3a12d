"""Read what the simulation must share with the Terraform module, so the two cannot drift.

* the task-events rule pattern: ``terraform/patterns/task-state-change.json``;
* the sweeper's schedule expression: ``aws_cloudwatch_event_rule.sweeper_schedule``;
* the ledger table: ``aws_dynamodb_table.ledger`` (keys, GSI, TTL) turned into CreateTable.

HCL is parsed with python-hcl2 (a dev dependency; the demo runs in the dev environment).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SCHEDULE",
    "PROJECT_ROOT",
    "ledger_table_request",
    "rule_pattern",
    "schedule_expression",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: The contract's schedule (docs/contracts.md), used when the module does not spell it.
DEFAULT_SCHEDULE = "rate(1 minute)"


def _unquote(value: Any) -> Any:
    # python-hcl2 >= 7 keeps string literals' quotes; older versions strip them.
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _resources(root: Path, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    import hcl2

    for path in sorted((root / "terraform").glob("*.tf")):
        document = hcl2.loads(path.read_text())
        for block in document.get("resource", []):
            for raw_kind, named in block.items():
                if _unquote(raw_kind) != kind:
                    continue
                for raw_name, body in named.items():
                    yield _unquote(raw_name), body


def _first(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key, [{}])
    return value[0] if isinstance(value, list) and value else {}


def rule_pattern(root: Path = PROJECT_ROOT) -> str:
    """The task-state-change rule's event pattern, as JSON text."""
    return (root / "terraform" / "patterns" / "task-state-change.json").read_text()


def schedule_expression(root: Path = PROJECT_ROOT, rule: str = "sweeper_schedule") -> str:
    """The sweeper rule's ``schedule_expression`` (the contract's default if absent)."""
    for name, body in _resources(root, "aws_cloudwatch_event_rule"):
        if name == rule and "schedule_expression" in body:
            return str(_unquote(body["schedule_expression"]))
    return DEFAULT_SCHEDULE


def ledger_table_request(table_name: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """CreateTable arguments for ``aws_dynamodb_table.ledger`` (name replaced)."""
    for name, body in _resources(root, "aws_dynamodb_table"):
        if name != "ledger":
            continue
        attributes = [
            {"AttributeName": _unquote(a["name"]), "AttributeType": _unquote(a["type"])}
            for a in body.get("attribute", [])
        ]
        indexes = []
        for index in body.get("global_secondary_index", []):
            schema = [{"AttributeName": _unquote(index["hash_key"]), "KeyType": "HASH"}]
            if "range_key" in index:
                schema.append({"AttributeName": _unquote(index["range_key"]), "KeyType": "RANGE"})
            indexes.append(
                {
                    "IndexName": _unquote(index["name"]),
                    "KeySchema": schema,
                    "Projection": {"ProjectionType": _unquote(index["projection_type"])},
                }
            )
        key_schema = [{"AttributeName": _unquote(body["hash_key"]), "KeyType": "HASH"}]
        if "range_key" in body:
            key_schema.append({"AttributeName": _unquote(body["range_key"]), "KeyType": "RANGE"})
        request: dict[str, Any] = {
            "TableName": table_name,
            "AttributeDefinitions": attributes,
            "KeySchema": key_schema,
            "BillingMode": _unquote(body.get("billing_mode", "PAY_PER_REQUEST")),
        }
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        ttl = _first(body, "ttl")
        if ttl:
            request["_ttl_attribute"] = _unquote(ttl["attribute_name"])
        return request
    raise LookupError(f"no aws_dynamodb_table.ledger under {root / 'terraform'}")
