"""ECS and ELB as moto does not model them: task lifecycles, draining, the service scheduler,
and task objects and events in the documented format."""

from __future__ import annotations

__all__: list[str] = []
