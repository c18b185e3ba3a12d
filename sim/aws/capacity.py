"""DynamoDB capacity arithmetic: item sizes, key schemas, partitions, units.

What :class:`sim.aws.costs.CostModel` charges is derived here generically from the items and
the key schema a ``CreateTable`` declared (table and global secondary indexes): nothing
in it knows the ledger's own attributes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KEY_CONDITION",
    "Index",
    "attribute_names",
    "error_code",
    "hashable",
    "index_key",
    "item_size",
    "key_of",
    "key_schema",
    "label",
    "pk",
    "query_hash_value",
    "read_units",
    "update_values",
    "value_size",
    "write_units",
]


def value_size(value: Mapping[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(str(raw).encode())
    if kind == "N":
        digits = str(raw).lstrip("-").replace(".", "").strip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return math.ceil(len(str(raw)) * 3 / 4)  # base64 on the wire
    if kind in {"BOOL", "NULL"}:
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in dict(raw).items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind in {"SS", "BS"}:
        return sum(len(str(v).encode()) for v in raw)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in raw)
    return 0


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB bills for an item: attribute names plus values."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


@dataclass(frozen=True, slots=True)
class Index:
    name: str  # "" for the table itself
    hash_key: str
    range_key: str | None


def key_schema(name: str, schema: list[dict[str, str]]) -> Index:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return Index(name, hash_key, range_key)


def hashable(value: Mapping[str, Any]) -> str:
    (kind, raw), *_ = value.items()
    return f"{kind}:{raw}"


KEY_CONDITION = re.compile(r"([#\w.]+)\s*=\s*(:\w+)")


def label(partition: tuple[str, str, str, str]) -> str:
    table, index, kind, value = partition
    where = f"{table}/{index}" if index else table
    return f"{where} {value} ({kind})"


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def read_units(size: int, consistent: bool) -> float:
    units = float(max(1, math.ceil(size / 4096)))
    return units if consistent else units / 2


def key_of(index: Index, params: Mapping[str, Any]) -> dict[str, Any] | None:
    source = params.get("Key") or params.get("Item") or {}
    if index.hash_key not in source:
        return None
    key = {index.hash_key: source[index.hash_key]}
    if index.range_key and index.range_key in source:
        key[index.range_key] = source[index.range_key]
    return key


def pk(index: Index, item: Mapping[str, Any]) -> str:
    return hashable(item[index.hash_key]) if index.hash_key in item else "?"


def index_key(index: Index, item: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """(hash value, range value) of ``item`` in a sparse index, None if not in it."""
    if not item or index.hash_key not in item:
        return None
    if index.range_key and index.range_key not in item:
        return None
    ranged = hashable(item[index.range_key]) if index.range_key else ""
    return hashable(item[index.hash_key]), ranged


def attribute_names(params: Mapping[str, Any]) -> dict[str, str]:
    return dict(params.get("ExpressionAttributeNames") or {})


def query_hash_value(index: Index, params: Mapping[str, Any]) -> str:
    names, values = attribute_names(params), dict(params.get("ExpressionAttributeValues") or {})
    for name, placeholder in KEY_CONDITION.findall(str(params.get("KeyConditionExpression", ""))):
        if names.get(name, name) == index.hash_key and placeholder in values:
            return hashable(values[placeholder])
    return "?"


def update_values(index: Index, params: Mapping[str, Any]) -> list[str]:
    """Values an UpdateItem SETs the index's hash key to."""
    expression = str(params.get("UpdateExpression", ""))
    if not expression:
        return []
    names, values = attribute_names(params), dict(params.get("ExpressionAttributeValues") or {})
    found = []
    for name, placeholder in KEY_CONDITION.findall(expression):
        if names.get(name, name) == index.hash_key and placeholder in values:
            found.append(hashable(values[placeholder]))
    return found


def error_code(body: Mapping[str, Any] | None) -> str:
    code = str((body or {}).get("__type", ""))
    return code.rsplit("#", 1)[-1]
