"""ecs-drain-terminator: stop draining ECS service tasks early, with no sidecar.

One folder per role: :mod:`serverless.domain` (pure values and rules, standard library
only); the use cases :mod:`serverless.track` (task-events) and :mod:`serverless.sweep`
(the sweeper, whose per-record decision is the pure :func:`serverless.sweep.decide.decide`);
:mod:`serverless.shared` (what both use cases share); :mod:`serverless.ports` (what they
need of AWS) and :mod:`serverless.adapters` (the only modules that talk to AWS);
:mod:`serverless.app` wires them. :mod:`serverless.cli` is the operator CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
