"""Offline simulation of ECS deployments on moto, driving the real Lambda handlers.

``Simulation(scenario_named("fargate"), seed=1).run()`` returns a :class:`Report`; see
``docs/demo.md`` and ``python -m sim.demo --help``.
"""

from __future__ import annotations

from sim.judge.report import Report
from sim.scenarios import (
    SCENARIOS,
    Action,
    Delivery,
    Scenario,
    ServiceSpec,
    TargetGroupSpec,
    scenario_named,
)
from sim.simulation import Simulation

__all__ = [
    "SCENARIOS",
    "Action",
    "Delivery",
    "Report",
    "Scenario",
    "ServiceSpec",
    "Simulation",
    "TargetGroupSpec",
    "scenario_named",
]
