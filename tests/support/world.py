"""A small ECS world on moto for functional tests.

moto has no ECS lifecycle: tasks do not drain and StopTask jumps straight to STOPPED.
Tests therefore set task states explicitly (:meth:`World.set_task`), with moto's state
manager told not to advance task states by itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from serverless.adapters import ports_from_clients
from serverless.app import App, bootstrap, install
from serverless.domain.model import StopAction
from serverless.domain.signals import SignalPort
from serverless.settings import Settings
from sim.terraform import ledger_table_spec
from tests.support.clock import ManualClock

EVENTS = Path(__file__).resolve().parent.parent / "events"
ACCOUNT = "111122223333"
REGION = "us-east-1"
TABLE = "drain-terminator-test-ledger"


def load_event(name: str) -> dict[str, Any]:
    """A fixture event from tests/events/."""
    return json.loads((EVENTS / name).read_text())


def iso(epoch: float) -> str:
    """ECS's timestamp format (milliseconds, Z)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class StopCall:
    task_arn: str
    at: float
    reason: str


@dataclass
class World:
    clock: ManualClock
    ecs: Any
    dynamodb: Any
    elbv2: Any
    cluster_arn: str
    subnet: str
    stops: list[StopCall] = field(default_factory=list)
    task_definition: str = ""
    security_group: str = ""
    stop_takes_effect: bool = True
    vpc: str = ""

    # -- services and tasks --------------------------------------------------------------
    def add_service(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        desired_count: int = 0,
        target_groups: tuple[str, ...] = (),
        load_balanced: bool = True,
        **extra: Any,
    ) -> None:
        """A Fargate service; without ``target_groups`` it sits behind a Classic Load
        Balancer (a drain to shorten, no target health to read) unless ``load_balanced`` is
        False (Service Connect only, or none: nothing to shorten)."""
        kwargs: dict[str, Any] = dict(extra)
        if tags:
            kwargs["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if target_groups:
            kwargs["loadBalancers"] = [
                {"targetGroupArn": tg, "containerName": "web", "containerPort": 80}
                for tg in target_groups
            ]
        elif load_balanced:
            kwargs["loadBalancers"] = [
                {"loadBalancerName": f"{name}-clb", "containerName": "web", "containerPort": 80}
            ]
        self.ecs.create_service(
            cluster=self.cluster_arn,
            serviceName=name,
            taskDefinition=self.task_definition,
            desiredCount=desired_count,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": [self.subnet],
                    "securityGroups": [self.security_group],
                }
            },
            **kwargs,
        )

    def service_arn(self, name: str) -> str:
        arn: str = self.ecs.describe_services(cluster=self.cluster_arn, services=[name])[
            "services"
        ][0]["serviceArn"]
        return arn

    def tag_service(self, name: str, tags: dict[str, str]) -> None:
        """An operator changes the service's tags (adds or overwrites them)."""
        self.ecs.tag_resource(
            resourceArn=self.service_arn(name),
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        )

    def untag_service(self, name: str, *keys: str) -> None:
        """An operator removes tags from the service."""
        self.ecs.untag_resource(resourceArn=self.service_arn(name), tagKeys=list(keys))

    def fail(
        self,
        client: Any,
        operation: str,
        code: str,
        when: Any = None,
        status: int = 400,
    ) -> Any:
        """Make ``operation`` of ``client`` answer with the AWS error ``code`` (for the calls
        whose serialized request ``when`` accepts); returns the hook, for ``unregister``."""

        def answer(params: dict[str, Any], **_: Any) -> Any:
            if when is not None and not when(params):
                return None
            body = {"Error": {"Code": code, "Message": f"injected {code}"}}
            return AWSResponse("https://aws.test", status, {}, None), body

        event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        client.meta.events.register_first(event, answer)
        return event, answer

    def start_task(self, service: str | None, started_by: str | None = None) -> str:
        """A RUNNING task of ``service`` (None: a standalone task), started by
        ``started_by`` (a deployment's or task set's id; a fixed deployment by default)."""
        group = f"service:{service}" if service else "family:batch-job"
        response = self.ecs.run_task(
            cluster=self.cluster_arn,
            taskDefinition=self.task_definition,
            launchType="FARGATE",
            group=group,
            startedBy=started_by or ("ecs-svc/4790528617301924468" if service else "manual"),
        )
        arn: str = response["tasks"][0]["taskArn"]
        self.set_task(arn, "RUNNING", "RUNNING")
        return arn

    def _task(self, task_arn: str) -> Any:
        tasks = ecs_backends[ACCOUNT][REGION].tasks["prod"]
        return tasks[task_arn]

    def set_task(
        self,
        task_arn: str,
        last: str,
        desired: str,
        stopped_reason: str | None = None,
        stop_code: str | None = None,
    ) -> None:
        task = self._task(task_arn)
        task.status = last
        task.desired_status = desired
        if stopped_reason is not None:
            task.stopped_reason = stopped_reason
        if stop_code is not None:
            task.stop_code = stop_code

    def task_status(self, task_arn: str) -> tuple[str, str]:
        task = self._task(task_arn)
        return task.status, task.desired_status

    def target_group(self, name: str, healthy: int) -> str:
        """An NLB target group with ``healthy`` registered targets (moto reports them healthy)."""
        arn: str = self.elbv2.create_target_group(
            Name=name, Protocol="TCP", Port=80, VpcId=self.vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        self.set_healthy(arn, healthy)
        return arn

    def set_healthy(self, target_group: str, healthy: int) -> None:
        current = self.elbv2.describe_target_health(TargetGroupArn=target_group)
        targets = [d["Target"] for d in current["TargetHealthDescriptions"]]
        if targets:
            self.elbv2.deregister_targets(TargetGroupArn=target_group, Targets=targets)
        if healthy:
            self.elbv2.register_targets(
                TargetGroupArn=target_group,
                Targets=[{"Id": f"10.20.1.{10 + i}", "Port": 80} for i in range(healthy)],
            )

    # -- events -------------------------------------------------------------------------
    def event(
        self,
        task_arn: str,
        last: str,
        desired: str,
        version: int,
        at: float,
        fixture: str = "fargate-drain-deactivating.json",
        service: str | None = "web",
        **detail: Any,
    ) -> dict[str, Any]:
        event = copy.deepcopy(load_event(fixture))
        event["id"] = f"evt-{task_arn.rsplit('/', 1)[-1][:8]}-{version}-{last}"
        event["time"] = iso(at)[:19] + "Z"
        event["resources"] = [task_arn]
        d = event["detail"]
        d.update(
            taskArn=task_arn,
            clusterArn=self.cluster_arn,
            lastStatus=last,
            desiredStatus=desired,
            version=version,
            updatedAt=iso(at),
            group=f"service:{service}" if service else "family:batch-job",
        )
        for container in d.get("containers", []):
            container["taskArn"] = task_arn
        d.update(detail)
        return event

    # -- the application ---------------------------------------------------------------
    def settings(self, **overrides: Any) -> Settings:
        return Settings(table_name=TABLE, **overrides)

    def tagging(self) -> Any:
        """A Resource Groups Tagging API client whose GetResources answers from moto's ECS
        services (moto's tagging backend knows no ECS resources): one page per call."""
        client = _SESSION.client("resourcegroupstaggingapi")

        def answer(params: dict[str, Any], **_: Any) -> Any:
            request = json.loads(params["body"])  # the serialized request (JSON protocol)
            assert request["ResourceTypeFilters"] == ["ecs:service"]
            (wanted,) = [f["Key"] for f in request["TagFilters"]]
            arns = self.ecs.list_services(cluster=self.cluster_arn)["serviceArns"]
            found = []
            for start in range(0, len(arns), 10):
                services = self.ecs.describe_services(
                    cluster=self.cluster_arn, services=arns[start : start + 10], include=["TAGS"]
                )["services"]
                for service in services:
                    tags = [
                        {"Key": t["key"], "Value": t.get("value", "")}
                        for t in service.get("tags", [])
                    ]
                    if any(t["Key"] == wanted for t in tags):
                        found.append({"ResourceARN": service["serviceArn"], "Tags": tags})
            return AWSResponse("https://tagging.test", 200, {}, None), {
                "ResourceTagMappingList": found
            }

        event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.GetResources"
        client.meta.events.register_first(event, answer)
        return client

    def install_app(
        self,
        lambda_client: Any | None = None,
        tagging: Any | None = None,
        signals: Mapping[StopAction, SignalPort] | None = None,
        **overrides: Any,
    ) -> App:
        """Bootstrap the App on this world's moto clients and install it for the handlers
        (``signals``: the exec / ssm-signal ports, none by default)."""
        settings = self.settings(**overrides)
        ports = ports_from_clients(
            settings,
            dynamodb=self.dynamodb,
            ecs=self.ecs,
            elbv2=self.elbv2,
            lambda_=lambda_client,
            tagging=tagging,
            signals=signals,
        )
        app = bootstrap(settings, clock=self.clock, ports=ports)
        install(app)
        return app

    def record(self, task_arn: str) -> dict[str, Any] | None:
        item = self.dynamodb.get_item(
            TableName=TABLE, Key={"pk": {"S": task_arn}}, ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        return {k: next(iter(v.values())) for k, v in item.items()}

    def item_keys(self) -> set[str]:
        """The ``pk`` of every item in the ledger."""
        items = self.dynamodb.scan(TableName=TABLE, ProjectionExpression="pk")["Items"]
        return {item["pk"]["S"] for item in items}

    def item_count(self) -> int:
        return int(self.dynamodb.scan(TableName=TABLE, Select="COUNT")["Count"])


# One session for the whole test run: it caches the parsed service models, which makes
# creating clients for each test cheap.
_SESSION = boto3.session.Session(region_name=REGION)


def build_world(clock: ManualClock) -> World:
    """Create the table (from the Terraform HCL), a cluster, a VPC and hooks. Needs mock_aws."""
    state_manager.set_transition(
        model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
    )
    session = _SESSION
    ecs = session.client("ecs")
    dynamodb = session.client("dynamodb")
    elbv2 = session.client("elbv2")
    ec2 = session.client("ec2")
    spec = ledger_table_spec(TABLE)
    dynamodb.create_table(**spec)
    ecs.put_account_setting(name="taskLongArnFormat", value="enabled")
    cluster_arn = ecs.create_cluster(clusterName="prod")["cluster"]["clusterArn"]
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    security_group = ec2.create_security_group(GroupName="web", Description="web tasks", VpcId=vpc)[
        "GroupId"
    ]
    task_definition = ecs.register_task_definition(
        family="web",
        # moto 5 crashes creating the ENI of an awsvpc task, and the ledger never looks at
        # networking, so the test world runs its Fargate tasks in bridge mode.
        networkMode="bridge",
        cpu="512",
        memory="1024",
        containerDefinitions=[
            {"name": "web", "image": "web:1", "essential": True, "memory": 1024, "cpu": 512}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    world = World(
        clock,
        ecs,
        dynamodb,
        elbv2,
        cluster_arn,
        subnet,
        task_definition=task_definition,
        security_group=security_group,
        vpc=vpc,
    )

    def on_stop(params: dict[str, Any], **_: Any) -> None:
        world.stops.append(StopCall(params["task"], clock.now(), params.get("reason", "")))

    def without_effect(params: dict[str, Any], **_: Any) -> Any:
        # Models the case nobody has verified publicly: StopTask accepted, task keeps draining;
        # only its stop reason changes (as the simulator's ignored world has it).
        if world.stop_takes_effect:
            return None
        task_arn, reason = world.stops[-1].task_arn, world.stops[-1].reason
        world.set_task(task_arn, *world.task_status(task_arn), stopped_reason=reason)
        return AWSResponse("https://ecs.test", 200, {}, None), {"task": {"taskArn": task_arn}}

    ecs.meta.events.register("provide-client-params.ecs.StopTask", on_stop)
    ecs.meta.events.register("before-call.ecs.StopTask", without_effect)
    return world
