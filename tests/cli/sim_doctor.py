"""Run ``drain-terminator doctor`` on the demo's world, after its deployment, in the simulator.

The simulator (sim/) runs the demo's scenario: moto plus its ECS model, the real handlers
fed by the modelled EventBridge. It does not create the module's functions, rules, queue,
topic and alarms in moto (it models them), so a scenario action first creates them as
``terraform apply`` would (:func:`tests.cli.module_world.deploy_module`), then starts the
CLI's ``main`` as a loop process that waits until the scenario is over (deployment done,
settled) and runs ``doctor`` with the run's AWS clients and :class:`sim.loop.SimClock`.
This overrides ``Simulation._act`` as tests/cli/sim_verify.py does; nothing in sim/ changes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import boto3

from serverless.cli.app import main
from sim.aws.ecs.model import Service
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.engine.loop import SimClock
from sim.scenarios import Action, Scenario, scenario_named
from sim.simulation import Simulation
from tests.cli.module_world import deploy_module

__all__ = ["DoctorRun", "run_doctor"]

DOCTOR = "doctor"
#: The demo's default scenario (make demo).
DEMO_SCENARIO = "fargate"


@dataclass
class DoctorRun:
    """The CLI's exit status and output."""

    code: int | None = None
    out: str = ""
    err: str = ""


class _DoctorSimulation(Simulation):
    def __init__(
        self,
        scenario: Scenario,
        argv: Sequence[str],
        run: DoctorRun,
        *,
        broken: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scenario, counterfactual=False, terminator=not broken, **kwargs)
        self.argv = list(argv)
        self.run_result = run
        self.broken = broken

    def _act(self, action: Action, by_name: dict[str, Service], clients: Any,
             scheduler: ServiceScheduler, progress: Any) -> None:  # fmt: skip
        if action.kind != DOCTOR:
            super()._act(action, by_name, clients, scheduler, progress)
            return
        prefix = self.table_name.removesuffix("-ledger")
        deploy_module(prefix, region=self.region)
        if self.broken:
            # The task-state rule turned off: no event reaches the function (the simulated
            # run has none wired either).
            boto3.session.Session(region_name=self.region).client("events").disable_rule(
                Name=f"{prefix}-task-state-change"
            )
        progress.pending_actions -= 1
        loop = scheduler.loop
        run = self.run_result
        table = self.table_name
        clock = SimClock(loop)

        def cli() -> None:
            while not progress.finished():
                clock.sleep(10.0)
            out, err = io.StringIO(), io.StringIO()
            run.code = main(
                self.argv,
                stdout=out,
                stderr=err,
                stdin=io.StringIO(),
                clock=clock,
                clients={"ecs": clients.ecs, "dynamodb": clients.dynamodb, "elbv2": clients.elbv2},
                environ={"TABLE_NAME": table},
            )
            run.out, run.err = out.getvalue(), err.getvalue()

        loop.spawn("drain-terminator doctor", cli)


def run_doctor(argv: Sequence[str], *, break_task_events: bool = False, seed: int = 1) -> DoctorRun:
    """The demo's scenario with ``drain-terminator <argv>`` run once it is over.

    ``break_task_events``: the task-state-change rule is disabled (and no event is handled).
    """
    base = scenario_named(DEMO_SCENARIO)
    action = Action(at=1.0, service=base.services[0].name, kind=DOCTOR)
    scenario = replace(base, actions=(*base.actions, action))
    run = DoctorRun()
    _DoctorSimulation(scenario, argv, run, broken=break_task_events, seed=seed).run_once()
    return run
