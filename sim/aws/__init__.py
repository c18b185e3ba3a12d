"""The embedded AWS: moto behind one interceptor (hooks, costs, the model serving what moto
lacks), Lambda and EventBridge as the functions see them, and the resources a run creates.

Imports the engine, the scenarios and the Terraform reader; ECS and ELB lifecycles live in
:mod:`sim.aws.ecs`."""

from __future__ import annotations

__all__: list[str] = []
