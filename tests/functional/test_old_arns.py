"""Old-format task ARNs (task/<id>) in the aws, aws-cn and aws-us-gov partitions, on moto.

Tasks started before an account enabled ``taskLongArnFormat`` keep ``task/<id>``; the
cluster comes from the event's ``clusterArn``. Each partition gets its own small moto
world (the shared one lives in us-east-1): the drain event is recorded under the old ARN
and the sweeper stops the task with it once the wait is over.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from serverless import app as app_module
from serverless.adapters import ports_from_clients
from serverless.app import App, bootstrap
from serverless.settings import Settings
from sim.terraform import ledger_table_spec
from tests.support.clock import FakeContext, ManualClock
from tests.support.world import ACCOUNT, iso, load_event

TABLE = "old-arns-ledger"
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


class PartitionWorld:
    """A cluster, an opted-in service and one old-format task in ``region``."""

    def __init__(self, region: str, clock: ManualClock) -> None:
        session = boto3.session.Session(region_name=region)
        self.region = region
        self.clock = clock
        self.ecs = session.client("ecs")
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(**ledger_table_spec(TABLE))
        self.dynamodb = dynamodb
        self.ecs.put_account_setting(name="taskLongArnFormat", value="disabled")
        self.cluster_arn = self.ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
        definition = self.ecs.register_task_definition(
            family="web",
            networkMode="bridge",
            cpu="512",
            memory="1024",
            containerDefinitions=[{"name": "web", "image": "web:1", "memory": 1024}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(
            cluster=self.cluster_arn,
            serviceName="web",
            taskDefinition=definition,
            desiredCount=0,
            loadBalancers=[
                {"loadBalancerName": "web-clb", "containerName": "web", "containerPort": 80}
            ],
            tags=[{"key": "drain-terminator:enabled", "value": "true"}],
        )
        self.task_arn: str = self.ecs.run_task(
            cluster=self.cluster_arn,
            taskDefinition=definition,
            launchType="FARGATE",
            group="service:web",
            startedBy="ecs-svc/4790528617301924468",
        )["tasks"][0]["taskArn"]
        self.stops: list[str] = []
        self.ecs.meta.events.register(
            "provide-client-params.ecs.StopTask",
            lambda params, **_: self.stops.append(params["task"]),
        )
        settings = Settings(table_name=TABLE)
        ports = ports_from_clients(settings, dynamodb=dynamodb, ecs=self.ecs, elbv2=None)
        self.app: App = bootstrap(settings, clock=clock, ports=ports)

    def drain(self) -> dict[str, Any]:
        task = ecs_backends[ACCOUNT][self.region].tasks["prod"][self.task_arn]
        task.status, task.desired_status = "DEACTIVATING", "STOPPED"
        event = copy.deepcopy(load_event("fargate-drain-deactivating.json"))
        event.update(region=self.region, time=iso(self.clock.now())[:19] + "Z")
        event["resources"] = [self.task_arn]
        event["detail"].update(
            taskArn=self.task_arn, clusterArn=self.cluster_arn, updatedAt=iso(self.clock.now())
        )
        return event

    def record(self) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": self.task_arn}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else {k: next(iter(v.values())) for k, v in item.items()}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )
        yield
        app_module.reset()


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_given_old_format_task_arn_in_a_partition_when_drained_then_recorded_and_stopped(
    aws: None, clock: ManualClock, region: str, partition: str
) -> None:
    world = PartitionWorld(region, clock)
    assert world.task_arn.startswith(f"arn:{partition}:ecs:{region}:")
    assert world.task_arn.split(":task/", 1)[1].count("/") == 0  # no cluster in it

    result = world.app.handle_task_event(world.drain())

    assert result["action"] == "tracked"
    record = world.record()
    assert record is not None
    assert record["cluster_arn"] == world.cluster_arn
    clock.advance(121)
    report = world.app.sweep(FakeContext(clock).get_remaining_time_in_millis, "run", SCHEDULED)
    assert report["stopped"] == [world.task_arn]
    assert world.stops == [world.task_arn]
