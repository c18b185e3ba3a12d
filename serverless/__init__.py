"""ecs-drain-terminator: stop draining ECS service tasks early, with no sidecar.

The domain core (model, events, policy, tracker, sweeper, guards) decides; the adapters
in :mod:`serverless.adapters` are the only modules that talk to AWS.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
