"""The module's resources, as ``terraform output`` names them or the module's naming implies.

With ``--from-terraform`` the module's outputs name them (``functions`` by key with their
``name`` and ``rule_arn``, ``dead_letter_queue_url``, ``alarm_topic_arn``); with
``--table`` the module's locals do: ``<name_prefix>-task-events``, ``-sweeper``,
``-task-state-change``, ``-dlq``, where the name prefix is the table's name without
``-ledger`` (``--name-prefix`` overrides it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ResourceNames"]


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """The deployment's resources, as the module names them."""

    table: str
    name_prefix: str | None
    task_events_function: str | None
    sweeper_function: str | None
    task_events_rule: str | None
    sweeper_rule: str | None
    queue: str | None  # a URL from Terraform, or the queue's name
    alarm_topic: str | None = None

    @classmethod
    def of(
        cls, table: str, name_prefix: str | None, outputs: Mapping[str, Any] | None = None
    ) -> ResourceNames:
        """From the module's Terraform outputs where given, else its naming from the prefix."""
        outputs = outputs or {}
        functions = outputs.get("functions")
        functions = functions if isinstance(functions, Mapping) else {}

        def function(key: str, field: str) -> str | None:
            entry = functions.get(key)
            value = entry.get(field) if isinstance(entry, Mapping) else None
            return value if isinstance(value, str) and value else None

        def output(key: str) -> str | None:
            value = outputs.get(key)
            return value if isinstance(value, str) and value else None

        prefix = name_prefix or (
            table.removesuffix("-ledger") if table.endswith("-ledger") else None
        )

        def named(suffix: str) -> str | None:
            return f"{prefix}-{suffix}" if prefix else None

        def rule(key: str, suffix: str) -> str | None:
            arn = function(key, "rule_arn")
            return arn.rsplit("/", 1)[-1] if arn else named(suffix)

        return cls(
            table=table,
            name_prefix=prefix,
            task_events_function=function("task-events", "name") or named("task-events"),
            sweeper_function=function("sweeper", "name") or named("sweeper"),
            task_events_rule=rule("task-events", "task-state-change"),
            sweeper_rule=rule("sweeper", "sweeper"),
            queue=output("dead_letter_queue_url") or named("dlq"),
            alarm_topic=output("alarm_topic_arn"),
        )
