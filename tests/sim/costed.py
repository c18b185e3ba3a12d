"""A costed ECS world for the simulator's own tests: calls charge latency and rate limits."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from sim.aws.costs import CostModel, Costs
from sim.aws.embedded import AwsCall, AwsInterceptor, Reply, virtual_retry_sleep
from sim.aws.lambda_runtime import Invocation
from sim.engine.loop import EventLoop
from sim.engine.observe import ObservationLog
from tests.sim.conftest import START

__all__ = ["ecs_world", "run_as_lambda"]


def ecs_world(costs: Costs, *, attempts: int = 10) -> tuple[EventLoop, Any, AwsInterceptor]:
    """A loop, an ECS client whose calls cost ``costs`` (StopTask answered by a stub), and
    its interceptor; ``attempts``: botocore's standard-mode attempts."""
    loop = EventLoop(START)
    interceptor = AwsInterceptor(
        loop, ObservationLog(), CostModel(costs, lambda: loop.now, _no_item)
    )
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ecs", config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))
    interceptor.attach(client)

    def stop(call: AwsCall) -> Reply:
        return Reply.json({"task": {"taskArn": str(call.params["task"])}})

    interceptor.serve("ecs", "StopTask", stop)
    return loop, client, interceptor


def _no_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    return None


def run_as_lambda(loop: EventLoop, body: Any) -> Invocation:
    """Run ``body`` as a Lambda invocation's process (its calls are charged), to the end."""
    invocation = Invocation("fn", "req", 0, loop.now)
    process = loop.spawn("fn", body)
    process.tag, invocation.process = invocation, process
    with virtual_retry_sleep(loop):
        loop.run()
    if process.error is not None:
        raise process.error
    return invocation
