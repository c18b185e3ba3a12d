"""Run ``drain-terminator verify`` inside the simulator, as a process on its virtual clock.

The simulator (sim/) runs the real handlers against moto plus its ECS model. Here a
scenario action of kind ``"verify"`` starts the CLI's ``main`` as a loop process with the
run's own AWS clients and :class:`sim.engine.loop.SimClock`, so its polls and sleeps interleave
with ECS, EventBridge and the functions exactly as a person's terminal would with AWS.

The model has no UpdateService: a hook turns ``UpdateService(forceNewDeployment=true)``
into the scheduler's new deployment with the same task definition (what ECS does), and
lets moto record the call too. This overrides ``Simulation._act`` (see the note on the
coordination board); nothing in sim/ is changed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from serverless.cli.app import main
from sim.aws.ecs.model import Service
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.aws.embedded import AwsCall, AwsHook, Reply
from sim.engine.loop import Process, SimClock
from sim.judge.report import RunRecord
from sim.scenarios import Action, Scenario, scenario_named
from sim.simulation import Simulation

__all__ = ["VerifyRun", "run_verify", "verify_scenario"]

VERIFY = "verify"


@dataclass
class VerifyRun:
    """The CLI's exit status and output, and the simulator's record of the run."""

    code: int | None = None
    out: str = ""
    err: str = ""
    record: RunRecord | None = None
    update_service_calls: list[dict[str, Any]] = field(default_factory=list)
    process: Process | None = None


class _ForceDeployment:
    """ECS's side of UpdateService(forceNewDeployment): a new deployment, same revision."""

    def __init__(self, run: VerifyRun) -> None:
        self.run = run
        self.scheduler: ServiceScheduler | None = None
        self.services: dict[str, Service] = {}

    def __call__(self, call: AwsCall) -> Reply | None:
        if call.service != "ecs" or call.operation != "UpdateService" or call.attempt != 1:
            return None
        self.run.update_service_calls.append(dict(call.params))
        if call.params.get("forceNewDeployment") and self.scheduler is not None:
            ref = str(call.params.get("service", ""))
            service = self.services.get(ref.rsplit("/", 1)[-1])
            if service is not None:
                number = len(service.deployments)
                self.scheduler.deploy(
                    service, f"ecs-svc/{number:019d}", service.primary.task_definition_arn
                )
        return None  # moto records the update as well


class _VerifySimulation(Simulation):
    def __init__(
        self,
        scenario: Scenario,
        argv: Sequence[str],
        run: VerifyRun,
        hooks: Sequence[AwsHook],
        **kwargs: Any,
    ) -> None:
        self.force = _ForceDeployment(run)
        super().__init__(scenario, aws_hooks=[self.force, *hooks], counterfactual=False, **kwargs)
        self.argv = list(argv)
        self.run_result = run

    def _act(self, action: Action, by_name: dict[str, Service], clients: Any,
             scheduler: ServiceScheduler, progress: Any) -> None:  # fmt: skip
        if action.kind != VERIFY:
            super()._act(action, by_name, clients, scheduler, progress)
            return
        self.force.scheduler = scheduler
        self.force.services = by_name
        progress.pending_actions -= 1
        loop = scheduler.loop
        run = self.run_result
        table = self.table_name

        def cli() -> None:
            out, err = io.StringIO(), io.StringIO()
            run.code = main(
                self.argv,
                stdout=out,
                stderr=err,
                stdin=io.StringIO(),
                clock=SimClock(loop),
                clients={"ecs": clients.ecs, "dynamodb": clients.dynamodb, "elbv2": clients.elbv2},
                environ={"TABLE_NAME": table},
            )
            run.out, run.err = out.getvalue(), err.getvalue()

        run.process = loop.spawn("drain-terminator verify", cli)


def verify_scenario(
    base: str = "fargate", *, natural_deploy_at: float | None = None, **changes: Any
) -> Scenario:
    """``base`` with the CLI started at T+5 s; its own deployment only if asked (natural)."""
    scenario = scenario_named(base)
    actions: list[Action] = [Action(at=5.0, service=scenario.services[0].name, kind=VERIFY)]
    if natural_deploy_at is not None:
        actions.append(Action(at=natural_deploy_at, service=scenario.services[0].name))
    return replace(scenario, actions=tuple(actions), **changes)


def run_verify(
    argv: Sequence[str],
    scenario: Scenario | None = None,
    *,
    hooks: Sequence[AwsHook] = (),
    seed: int = 1,
) -> VerifyRun:
    """Simulate ``scenario`` with ``drain-terminator <argv>`` running inside it."""
    run = VerifyRun()
    simulation = _VerifySimulation(scenario or verify_scenario(), argv, run, hooks, seed=seed)
    run.record = simulation.run_once()
    return run
