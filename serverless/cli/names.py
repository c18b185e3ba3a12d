"""The module's resources, as ``terraform output`` names them or the module's naming implies.

With ``--from-terraform`` the outputs name them; with ``--table`` the module's locals do:
``<name_prefix>-task-events``, ``-sweeper``, ``-task-state-change``, ``-dlq``, where the
name prefix is the table's name without ``-ledger`` (``--name-prefix`` overrides it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
        cls, table: str, name_prefix: str | None, outputs: Mapping[str, str] | None = None
    ) -> ResourceNames:
        """From Terraform outputs where given, else the module's naming from the prefix."""
        outputs = outputs or {}
        prefix = name_prefix or (
            table.removesuffix("-ledger") if table.endswith("-ledger") else None
        )

        def named(suffix: str) -> str | None:
            return f"{prefix}-{suffix}" if prefix else None

        def rule(output: str, suffix: str) -> str | None:
            arn = outputs.get(output)
            return arn.rsplit("/", 1)[-1] if arn else named(suffix)

        return cls(
            table=table,
            name_prefix=prefix,
            task_events_function=outputs.get("task_events_function_name") or named("task-events"),
            sweeper_function=outputs.get("sweeper_function_name") or named("sweeper"),
            task_events_rule=rule("task_state_change_rule_arn", "task-state-change"),
            sweeper_rule=rule("sweeper_schedule_rule_arn", "sweeper"),
            queue=outputs.get("dead_letter_queue_url") or named("dlq"),
            alarm_topic=outputs.get("alarm_topic_arn"),
        )
