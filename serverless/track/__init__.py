"""The task-events function's use case: keep the ledger in step with ECS task events."""

from __future__ import annotations

__all__ = []
