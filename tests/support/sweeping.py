"""A sweeper over in-memory fakes and a manual clock, for the unit tests of a run."""

from __future__ import annotations

from typing import Any

from serverless.domain.model import RecordStatus, StopAction, TaskRecord
from serverless.domain.signals import SignalPort
from serverless.settings import Settings
from serverless.shared.services import ServiceDirectory
from serverless.sweep.report import SweepReport
from serverless.sweep.run import Sweeper
from tests.support.clock import FakeContext, ManualClock
from tests.support.fakes import (
    CLUSTER_ARN,
    FakeEcs,
    FakeLedger,
    FakeTargetHealth,
    FakeTrigger,
    fake_ports,
    task_arn,
)

OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
TG = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef"
#: A Lambda timeout that leaves a run 16 s in which it may still start work
#: (10 s reserve, 45 s for a claim and an ECS call at their longest).
SHORT_TIMEOUT = 71.0


class Harness:
    """A sweeper over fakes; ``run`` is one invocation with a Lambda-like time budget."""

    def __init__(self, clock: ManualClock, **overrides: Any) -> None:
        self.clock = clock
        self.settings = Settings(table_name="t", **overrides)
        self.ledger = FakeLedger()
        self.ledger.max_due_calls = 5_000
        self.ecs = FakeEcs(clock)
        self.health = FakeTargetHealth()
        #: Set to let runs start the next run (the hand-over), as a deployed sweeper can.
        self.trigger: FakeTrigger | None = None
        #: The signal ports of the runs (exec, ssm-signal): none unless a test adds one.
        self.signals: dict[StopAction, SignalPort] = {}
        # One warm container: the service cache outlives a run, as in Lambda.
        self.services = ServiceDirectory(self.ecs, self.settings, clock)
        self.ecs.add_service("web", OPTED_IN)

    @property
    def now(self) -> float:
        return self.clock.now()

    def drain(
        self,
        suffix: int,
        started_at: float,
        wait: int = 120,
        service: str = "web",
        cluster_arn: str = CLUSTER_ARN,
        last: str = "DEACTIVATING",
    ) -> str:
        """A tracked drain (as the task-events function writes it) of a draining task (in
        the cluster's account)."""
        cluster = cluster_arn.rsplit("/", 1)[-1]
        arn = task_arn(suffix, cluster, account=cluster_arn.split(":")[4])
        self.ledger.put(
            TaskRecord(
                task_arn=arn,
                cluster_arn=cluster_arn,
                service_name=service,
                status=RecordStatus.DRAINING,
                version=4,
                drain_started_at=started_at,
                wait_seconds=wait,
                due_at=started_at + wait,
                observed_status=last,
            ),
            expected_rev=None,
        )
        self.ecs.set_task(arn, last, "STOPPED")
        return arn

    def run(
        self, timeout: float = 180.0, run_id: str = "run-1", *, early: bool = False
    ) -> SweepReport:
        context = FakeContext(self.clock, timeout, run_id)
        ports = fake_ports(self.ecs, self.ledger, self.health, self.trigger, self.signals)
        sweeper = Sweeper(ports, self.services, self.settings, self.clock, run_id, early=early)
        return sweeper.run(context.get_remaining_time_in_millis)

    def record(self, arn: str) -> TaskRecord:
        stored = self.ledger.get(arn)
        assert stored is not None
        return stored

    def stop_times(self, arn: str) -> list[float]:
        return [s.at for s in self.ecs.stops if s.task_arn == arn]
