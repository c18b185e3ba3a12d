"""A small account on moto for the CLI: a cluster, services, a target group, the ledger.

moto has no ECS lifecycle, so task states are set explicitly (moto's state manager is
told not to advance them), and ledger records are written as the functions write them
(``to_item`` of a :class:`TaskRecord`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from serverless.adapters.dynamodb_ledger import to_item
from serverless.cli.app import main
from serverless.domain.model import Outcome, RecordStatus, TaskRecord
from sim.terraform import ledger_table_spec

ACCOUNT = "111122223333"
REGION = "us-east-1"
TABLE = "cli-test-ledger"
NOW = 1_795_860_000.0  # 2026-11-28T10:00:00Z
OPTED_IN = {"drain-terminator:enabled": "true", "drain-terminator:wait-seconds": "120"}
REASON = (
    "drain-terminator: load balancer target draining for 120s (deregistration delay not awaited)"
)


#: The services of the module's own resources that doctor and redrive read.
MODULE_SERVICES = ("lambda", "events", "sqs", "sns", "cloudwatch")


@functools.cache
def session() -> boto3.session.Session:
    """One boto3 session for every test: its loader keeps the parsed service models (moto
    intercepts the clients' calls whichever session made them)."""
    return boto3.session.Session(region_name=REGION)


class FixedClock:
    """serverless.domain.clock.Clock at a fixed epoch second; sleep moves it forward."""

    def __init__(self, now: float = NOW) -> None:
        self.value = now
        self.slept: list[float] = []

    def now(self) -> float:
        return self.value

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.value += max(0.0, seconds)


class TtyInput(io.StringIO):
    """A stdin that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Account:
    ecs: Any
    dynamodb: Any
    elbv2: Any
    cluster_arn: str
    vpc: str
    task_definition: str
    clock: FixedClock = field(default_factory=FixedClock)

    @property
    def clients(self) -> dict[str, Any]:
        # The module's other services too (doctor, redrive): one shared session's clients,
        # so each test does not load their service models again.
        others = {name: session().client(name) for name in MODULE_SERVICES}
        return {"ecs": self.ecs, "dynamodb": self.dynamodb, "elbv2": self.elbv2, **others}

    def cli(self, *argv: str, stdin: io.StringIO | None = None, **environ: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(
            list(argv),
            stdout=out,
            stderr=err,
            stdin=stdin or io.StringIO(),
            clock=self.clock,
            clients=self.clients,
            environ={"TABLE_NAME": TABLE, **environ},
        )
        return Result(code, out.getvalue(), err.getvalue())

    def target_group(self, name: str, delay: int = 300) -> str:
        arn: str = self.elbv2.create_target_group(
            Name=name, Protocol="TCP", Port=80, VpcId=self.vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.modify_target_group_attributes(
            TargetGroupArn=arn,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}],
        )
        return arn

    def service(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        target_groups: Sequence[str] = (),
        desired_count: int = 2,
        task_definition: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {}
        if tags:
            kwargs["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if target_groups:
            kwargs["loadBalancers"] = [
                {"targetGroupArn": tg, "containerName": "web", "containerPort": 80}
                for tg in target_groups
            ]
        arn: str = self.ecs.create_service(
            cluster=self.cluster_arn,
            serviceName=name,
            taskDefinition=task_definition or self.task_definition,
            desiredCount=desired_count,
            launchType="FARGATE",
            **kwargs,
        )["service"]["serviceArn"]
        return arn

    def task(self, service: str | None, last: str = "RUNNING", desired: str = "RUNNING") -> str:
        group = f"service:{service}" if service else "family:batch"
        arn: str = self.ecs.run_task(
            cluster=self.cluster_arn,
            taskDefinition=self.task_definition,
            # moto 5 cannot create the ENI of an awsvpc task; the CLI never looks at
            # networking, so the tasks run in bridge mode on "Fargate".
            launchType="FARGATE",
            group=group,
        )["tasks"][0]["taskArn"]
        task = ecs_backends[ACCOUNT][REGION].tasks["prod"][arn]
        task.status, task.desired_status = last, desired
        return arn

    def record(self, task_arn: str, service: str = "web", **fields: Any) -> TaskRecord:
        started = fields.pop("drain_started_at", NOW - 60)
        wait = fields.pop("wait_seconds", 120)
        values: dict[str, Any] = {
            "task_arn": task_arn,
            "cluster_arn": self.cluster_arn,
            "service_name": service,
            "status": RecordStatus.DRAINING,
            "version": 3,
            "drain_started_at": started,
            "wait_seconds": wait,
            "due_at": started + wait,
            "rev": 1,
        }
        values.update(fields)
        record = TaskRecord(**values)
        self.dynamodb.put_item(TableName=TABLE, Item=to_item(record))
        return record

    def stopped_record(self, task_arn: str, service: str = "web", **fields: Any) -> TaskRecord:
        """A record closed after our StopTask, 121 s after its drain began."""
        started = fields.pop("drain_started_at", NOW - 600)
        values: dict[str, Any] = {
            "status": RecordStatus.CLOSED,
            "outcome": Outcome.STOPPED_BY_TERMINATOR,
            "drain_started_at": started,
            "stop_requested_at": started + 121,
            "stop_reason": REASON,
            "stopping_at": started + 122,
            "confirmation_seconds": 1.0,
            "closed_at": started + 123,
            "due_at": started + 181,
        }
        values.update(fields)
        return self.record(task_arn, service, **values)


def _task_arn(cluster: str, suffix: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{suffix}"


@pytest.fixture
def account() -> Iterator[Account]:
    with mock_aws():
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )
        ecs, dynamodb = session().client("ecs"), session().client("dynamodb")
        elbv2, ec2 = session().client("elbv2"), session().client("ec2")
        dynamodb.create_table(**ledger_table_spec(TABLE))
        ecs.put_account_setting(name="serviceLongArnFormat", value="enabled")
        ecs.put_account_setting(name="taskLongArnFormat", value="enabled")
        cluster_arn = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
        vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
        task_definition = ecs.register_task_definition(
            family="web",
            networkMode="bridge",
            containerDefinitions=[
                {"name": "web", "image": "web:1", "essential": True, "memory": 512}
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        yield Account(ecs, dynamodb, elbv2, cluster_arn, vpc, task_definition)
