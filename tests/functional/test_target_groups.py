"""The min-healthy guard on moto counts the target groups that serve traffic now.

Task sets (EXTERNAL and CODE_DEPLOY controllers) are moto's own (CreateTaskSet,
UpdateServicePrimaryTaskSet). moto 5 does not implement ECS-native blue/green: it drops
``deploymentConfiguration.strategy`` and ``currentServiceDeployment`` from DescribeServices
and has no DescribeServiceDeployments or DescribeServiceRevisions, so those answers are
added to the moto client here in the documented response shapes (the adapter's requests
are checked against botocore's model in tests/unit/adapters).
"""

from __future__ import annotations

import collections
import json
from typing import Any

from botocore.awsrequest import AWSResponse

from handlers import sweeper, task_events
from tests.support.clock import FakeContext, ManualClock
from tests.support.world import World

SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
GUARDED = {
    "drain-terminator:enabled": "true",
    "drain-terminator:wait-seconds": "120",
    "drain-terminator:min-healthy-percent": "100",
}
SCALING = "Scaling activity initiated by (deployment {})"


def health_reads(world: World) -> collections.Counter[str]:
    """DescribeTargetHealth calls from now on, by target group name."""
    reads: collections.Counter[str] = collections.Counter()

    def count(params: dict[str, Any], **_: Any) -> None:
        reads[params["TargetGroupArn"].split("/")[-2]] += 1

    service = world.elbv2.meta.service_model.service_id.hyphenize()
    world.elbv2.meta.events.register(f"provide-client-params.{service}.DescribeTargetHealth", count)
    return reads


def drain_and_sweep(world: World, clock: ManualClock, task: str, service: str, by: str) -> Any:
    world.set_task(task, "DEACTIVATING", "STOPPED", SCALING.format(by), "ServiceSchedulerInitiated")
    event = world.event(
        task,
        "DEACTIVATING",
        "STOPPED",
        4,
        clock.now(),
        service=service,
        startedBy=by,
        stoppedReason=SCALING.format(by),
    )
    assert task_events.handler(event, FakeContext(clock))["action"] == "tracked"  # type: ignore[arg-type]
    clock.advance(121)
    return sweeper.handler(SCHEDULED, FakeContext(clock))  # type: ignore[arg-type]


def external_service(world: World, old_healthy: int, new_healthy: int) -> tuple[str, str]:
    """The aws-samples controlled scale-down: the new task set is primary, the old drains."""
    world.add_service(
        "ext",
        GUARDED,
        desired_count=2,
        load_balanced=False,
        deploymentController={"type": "EXTERNAL"},
    )
    old_group = world.target_group("old", old_healthy)
    new_group = world.target_group("new", new_healthy)
    task_sets = [
        world.ecs.create_task_set(
            cluster=world.cluster_arn,
            service="ext",
            taskDefinition=world.task_definition,
            loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 80}],
        )["taskSet"]
        for group in (old_group, new_group)
    ]
    world.ecs.update_service_primary_task_set(
        cluster=world.cluster_arn, service="ext", primaryTaskSet=task_sets[1]["taskSetArn"]
    )
    return task_sets[0]["id"], task_sets[1]["id"]


def test_given_external_controller_scaling_the_old_task_set_down_when_due_then_primary_counts(
    world: World, clock: ManualClock
) -> None:
    old_set, _ = external_service(world, old_healthy=0, new_healthy=2)
    task = world.start_task("ext", started_by=old_set)
    reads = health_reads(world)

    report = drain_and_sweep(world, clock, task, "ext", old_set)

    # The old set's group empties as it is scaled down: only the primary set's is read.
    assert report["stopped"] == [task]
    assert reads == {"new": 1}
    record = world.record(task)
    assert record is not None
    assert (record["cause"], record["started_by"]) == ("deployment", old_set)


def test_given_primary_task_set_short_of_healthy_targets_when_due_then_stop_deferred(
    world: World, clock: ManualClock
) -> None:
    old_set, new_set = external_service(world, old_healthy=2, new_healthy=1)
    task = world.start_task("ext", started_by=old_set)

    report = drain_and_sweep(world, clock, task, "ext", old_set)

    assert report["stopped"] == []
    assert set(report["deferred"]) == {task}
    record = world.record(task)
    assert record is not None
    assert f"primary task set {new_set}" in record["defer_reason"]


DEPLOYMENT = "arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/bg/d2"
REV_BLUE = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/bg/1"
REV_GREEN = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/bg/2"


def blue_green_service(world: World, status: str, stage: str) -> tuple[str, str]:
    blue = world.target_group("blue", 0)
    green = world.target_group("green", 2)
    world.add_service(
        "bg",
        GUARDED,
        desired_count=2,
        load_balanced=False,
        loadBalancers=[
            {
                "targetGroupArn": blue,
                "containerName": "web",
                "containerPort": 80,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": green,
                    "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:"
                    "111122223333:listener-rule/net/web/1/2/3",
                    "roleArn": "arn:aws:iam::111122223333:role/ecs-blue-green",
                },
            }
        ],
    )

    def with_strategy(parsed: dict[str, Any], **_: Any) -> None:
        for service in parsed.get("services", []):
            if service.get("serviceName") == "bg":
                service["deploymentConfiguration"] = {"strategy": "BLUE_GREEN"}
                service["currentServiceDeployment"] = DEPLOYMENT
                service["currentServiceRevisions"] = [{"arn": REV_GREEN}]

    def deployments(params: dict[str, Any], **_: Any) -> Any:
        assert json.loads(params["body"])["serviceDeploymentArns"] == [DEPLOYMENT]
        body = {
            "serviceDeployments": [
                {
                    "serviceDeploymentArn": DEPLOYMENT,
                    "status": status,
                    "lifecycleStage": stage,
                    "sourceServiceRevisions": [{"arn": REV_BLUE}],
                    "targetServiceRevision": {"arn": REV_GREEN},
                }
            ],
            "failures": [],
        }
        return AWSResponse("https://ecs.test", 200, {}, None), body

    def revisions(params: dict[str, Any], **_: Any) -> Any:
        groups = {REV_BLUE: blue, REV_GREEN: green}
        body = {
            "serviceRevisions": [
                {"serviceRevisionArn": arn, "loadBalancers": [{"targetGroupArn": groups[arn]}]}
                for arn in json.loads(params["body"])["serviceRevisionArns"]
            ],
            "failures": [],
        }
        return AWSResponse("https://ecs.test", 200, {}, None), body

    events = world.ecs.meta.events
    events.register("after-call.ecs.DescribeServices", with_strategy)
    events.register_first("before-call.ecs.DescribeServiceDeployments", deployments)
    events.register_first("before-call.ecs.DescribeServiceRevisions", revisions)
    return blue, green


def test_given_blue_green_cleaning_up_the_blue_revision_when_due_then_green_group_counts(
    world: World, clock: ManualClock
) -> None:
    blue_green_service(world, "IN_PROGRESS", "CLEAN_UP")
    task = world.start_task("bg", started_by="ecs-svc/1")
    reads = health_reads(world)

    report = drain_and_sweep(world, clock, task, "bg", "ecs-svc/1")

    # Blue (the service's targetGroupArn) has no healthy target left: counting it would
    # hold every stop of the clean-up; the green revision serves the traffic now.
    assert report["stopped"] == [task]
    assert reads == {"green": 1}


def test_given_blue_green_rolling_back_when_due_then_both_groups_count_and_stop_deferred(
    world: World, clock: ManualClock
) -> None:
    blue_green_service(world, "ROLLBACK_IN_PROGRESS", "RECONCILE_SERVICE")
    task = world.start_task("bg", started_by="ecs-svc/2")

    report = drain_and_sweep(world, clock, task, "bg", "ecs-svc/2")

    assert report["stopped"] == []
    assert set(report["deferred"]) == {task}
