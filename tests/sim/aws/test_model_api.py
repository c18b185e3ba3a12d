"""The model behind boto3: StopTask, DescribeTasks, DescribeTargetHealth, fault hooks."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from sim.aws.ecs.model import EcsModel, Service
from sim.aws.ecs.scheduler import ServiceScheduler
from sim.aws.embedded import AwsCall, AwsInterceptor, Reply
from sim.aws.infra import Clients, MotoTaskSets, provision
from sim.aws.model_api import serve_model
from sim.engine.loop import EventLoop
from sim.engine.observe import ObservationLog
from sim.scenarios import Scenario, ServiceSpec, scenario_named
from tests.sim.conftest import REGION, START, ModelWorld


@pytest.fixture
def clients(world: ModelWorld) -> Iterator[tuple[AwsInterceptor, Any, Any]]:
    with mock_aws():
        interceptor = AwsInterceptor(world.loop, world.log)
        serve_model(interceptor, world.model)
        config = Config(retries={"mode": "standard", "max_attempts": 2})
        ecs = interceptor.attach(boto3.client("ecs", region_name=REGION, config=config))
        elbv2 = interceptor.attach(boto3.client("elbv2", region_name=REGION, config=config))
        yield interceptor, ecs, elbv2


def test_given_a_draining_task_when_stop_task_is_called_then_it_stops_gracefully(
    world: ModelWorld, clients: tuple[AwsInterceptor, Any, Any]
) -> None:
    _, ecs, elbv2 = clients
    service = world.add(ServiceSpec("web", desired_count=2))
    world.deploy(service)
    world.loop.run(stop=lambda: any(t.draining for t in service.tasks))
    task = next(t for t in service.tasks if t.draining)
    group = service.target_groups[0]

    health = elbv2.describe_target_health(TargetGroupArn=group.arn)
    states = {
        d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health["TargetHealthDescriptions"]
    }
    assert states[task.network["privateIPv4Address"]] == "draining"

    reply = ecs.stop_task(
        cluster=service.cluster_arn,
        task=task.arn,
        reason="drain-terminator: test",
    )

    assert reply["task"]["lastStatus"] == "STOPPING"
    assert reply["task"]["stopCode"] == "UserInitiated"
    assert task.stopped_by == "terminator"
    world.loop.run_until(world.loop.now + 30)
    described = ecs.describe_tasks(cluster="demo", tasks=[task.arn])
    assert described["tasks"][0]["lastStatus"] == "STOPPED"
    assert described["tasks"][0]["stoppedReason"] == "drain-terminator: test"


def test_given_unknown_or_too_many_tasks_when_described_then_ecs_errors_are_returned(
    world: ModelWorld, clients: tuple[AwsInterceptor, Any, Any]
) -> None:
    _, ecs, _ = clients
    world.add(ServiceSpec("web", desired_count=1))

    missing = ecs.describe_tasks(cluster="demo", tasks=["arn:aws:ecs:x:1:task/demo/nope"])
    assert missing["failures"] == [{"arn": "arn:aws:ecs:x:1:task/demo/nope", "reason": "MISSING"}]
    with pytest.raises(ClientError) as error:
        ecs.describe_tasks(cluster="demo", tasks=[f"t{i}" for i in range(101)])
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"


def test_given_a_throttling_hook_when_a_call_is_made_then_botocore_retries_on_the_virtual_clock(
    world: ModelWorld, clients: tuple[AwsInterceptor, Any, Any]
) -> None:
    interceptor, ecs, _ = clients
    world.add(ServiceSpec("web", desired_count=1))
    task = next(iter(world.model.tasks.values()))
    attempts: list[int] = []

    def throttle_once(call: AwsCall) -> Reply | None:
        if call.operation != "DescribeTasks":
            return None
        attempts.append(call.attempt)
        if len(attempts) == 1:
            return Reply.error(call.service, "ThrottlingException", "Rate exceeded")
        return None

    interceptor.add_hook(throttle_once)
    reply = ecs.describe_tasks(cluster="demo", tasks=[task.arn])

    assert len(attempts) == 2
    assert reply["tasks"][0]["taskArn"] == task.arn
    assert reply["ResponseMetadata"]["RetryAttempts"] == 1


# -- what moto lacks: blue/green, task-set counts (moto's own answers completed) ---------


@dataclass
class MotoWorld:
    """A scenario provisioned in moto, with the model and scheduler serving it."""

    loop: EventLoop
    ecs: Any
    services: dict[str, Service]
    scheduler: ServiceScheduler


@contextlib.contextmanager
def moto_world(scenario: Scenario) -> Iterator[MotoWorld]:
    with mock_aws():
        loop, log = EventLoop(START), ObservationLog()
        interceptor = AwsInterceptor(loop, log)
        clients = Clients(
            **{
                name: interceptor.attach(boto3.client(service, region_name=REGION))
                for name, service in (
                    ("ecs", "ecs"),
                    ("dynamodb", "dynamodb"),
                    ("elbv2", "elbv2"),
                    ("ec2", "ec2"),
                )
            }
        )
        services = provision(
            clients, scenario, region=REGION, table_name="ledger", rng=random.Random(1)
        )
        account = services[0].cluster_arn.split(":")[4]
        model = EcsModel(loop, log, seed=1, account=account, region=REGION, publish=lambda _: None)
        serve_model(interceptor, model)
        scheduler = ServiceScheduler(loop, log, model, MotoTaskSets(clients))
        for service in services:
            model.add_service(service)
            scheduler.start(service)
        yield MotoWorld(loop, clients.ecs, {s.name: s for s in services}, scheduler)


def _deploy(world: MotoWorld, name: str) -> Service:
    service = world.services[name]
    world.scheduler.deploy(service, "ecs-svc/2222222222222222222", service.next_task_definition_arn)
    return service


def test_given_a_blue_green_deployment_when_described_then_ecs_native_fields_answer_per_stage() -> (
    None
):
    with moto_world(scenario_named("blue-green")) as world:
        service = _deploy(world, "shop")
        blue, green = (g.arn for g in service.target_groups)
        stages = []

        def look() -> None:
            body = world.ecs.describe_services(cluster="demo", services=["shop"])["services"][0]
            assert body["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
            deployment = world.ecs.describe_service_deployments(
                serviceDeploymentArns=[body["currentServiceDeployment"]]
            )["serviceDeployments"][0]
            stages.append(deployment["lifecycleStage"])
            revisions = world.ecs.describe_service_revisions(
                serviceRevisionArns=[deployment["targetServiceRevision"]["arn"]]
                + [r["arn"] for r in deployment["sourceServiceRevisions"]]
            )["serviceRevisions"]
            groups = [r["loadBalancers"][0]["targetGroupArn"] for r in revisions]
            assert groups == [green, blue]  # target revision in green, source in blue
            assert revisions[0]["loadBalancers"][0]["advancedConfiguration"] == {
                "alternateTargetGroupArn": blue
            }

        for at in (10, 300, 1000):
            world.loop.call_at(START + at, look)
        world.loop.run()

        assert stages == ["SCALE_UP", "PRODUCTION_TRAFFIC_SHIFT", "CLEAN_UP"]
        body = world.ecs.describe_services(cluster="demo", services=["shop"])["services"][0]
        assert body["loadBalancers"][0]["targetGroupArn"] == green
        assert body["loadBalancers"][0]["advancedConfiguration"]["alternateTargetGroupArn"] == blue
        final = world.ecs.describe_service_deployments(
            serviceDeploymentArns=[body["currentServiceDeployment"]]
        )["serviceDeployments"][0]
        assert final["status"] == "SUCCESSFUL"


def test_given_a_codedeploy_service_when_described_then_each_task_set_has_its_own_group() -> None:
    with moto_world(scenario_named("codedeploy")) as world:
        service = _deploy(world, "checkout")
        blue, green = (g.arn for g in service.target_groups)
        seen: list[list[tuple[str, str, int, int]]] = []

        def look() -> None:
            sets = world.ecs.describe_task_sets(cluster="demo", service="checkout")["taskSets"]
            seen.append(
                [
                    (
                        s["status"],
                        s["loadBalancers"][0]["targetGroupArn"],
                        s["computedDesiredCount"],
                        s["runningCount"],
                    )
                    for s in sets
                ]
            )
            described = world.ecs.describe_services(cluster="demo", services=["checkout"])
            assert len(described["services"][0]["taskSets"]) == len(sets)

        for at in (5, 200):
            world.loop.call_at(START + at, look)
        world.loop.run()

        assert seen[0] == [("PRIMARY", blue, 4, 4), ("ACTIVE", green, 4, 0)]
        assert seen[1] == [("ACTIVE", blue, 4, 4), ("PRIMARY", green, 4, 4)]
        sets = world.ecs.describe_task_sets(cluster="demo", service="checkout")["taskSets"]
        assert [(s["status"], s["startedBy"]) for s in sets] == [("PRIMARY", "CODE_DEPLOY")]


def test_given_many_stopping_tasks_when_listed_then_pages_of_at_most_100(
    world: ModelWorld, clients: tuple[AwsInterceptor, Any, Any]
) -> None:
    _, ecs, _ = clients
    service = world.add(ServiceSpec("web", desired_count=150, target_groups=()))
    world.loop.call_at(
        START + 1, lambda: world.scheduler.scale(service, 0, "ecs-svc/3333333333333333333")
    )
    world.loop.run()

    first = ecs.list_tasks(cluster="demo", serviceName="web", desiredStatus="STOPPED")
    second = ecs.list_tasks(
        cluster="demo", serviceName="web", desiredStatus="STOPPED", nextToken=first["nextToken"]
    )

    assert len(first["taskArns"]) == 100
    assert len(second["taskArns"]) == 50
    assert "nextToken" not in second
