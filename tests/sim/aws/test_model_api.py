"""The model behind boto3: StopTask, DescribeTasks, DescribeTargetHealth, fault hooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from sim.aws.embedded import AwsCall, AwsInterceptor, Reply
from sim.aws.model_api import serve_model
from sim.scenarios import ServiceSpec
from tests.sim.conftest import REGION, ModelWorld


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
