"""Create a scenario's resources in moto: VPC, cluster, task definitions, NLB, target groups,
services with their tags, and the ledger table from the Terraform HCL.

Services of other controllers are created as ECS has them: CODE_DEPLOY and EXTERNAL
services with task sets (moto's CreateTaskSet, UpdateServicePrimaryTaskSet, UpdateTaskSet,
DeleteTaskSet, mirrored from the model by :class:`MotoTaskSets`), ECS-native blue/green
services with ``loadBalancers[].advancedConfiguration.alternateTargetGroupArn`` (what moto
drops of them is added to its answers by :mod:`sim.aws.model_api`), Fargate Spot services
through the FARGATE_SPOT capacity provider, and services with no load balancer at all.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.aws.ecs.model import ContainerInstance, Deployment, Service, TargetGroup
from sim.scenarios import Scenario, ServiceSpec
from sim.terraform import ledger_table_request

__all__ = ["CLUSTER", "Clients", "MotoTaskSets", "provision"]

CLUSTER = "demo"
_AZS = ("a", "b", "c")


@dataclass(slots=True)
class Clients:
    """The boto3 clients of a run, all routed through the interceptor."""

    ecs: Any
    dynamodb: Any
    elbv2: Any
    ec2: Any
    lambda_: Any = None


def _deployment_id(rng: random.Random) -> str:
    return f"ecs-svc/{rng.randrange(10**18, 10**19)}"


def _task_definition(clients: Clients, spec: ServiceSpec, revision_image: str) -> str:
    fargate = spec.launch_type == "FARGATE"
    mapping: dict[str, Any] = {"containerPort": spec.container_port, "protocol": "tcp"}
    if not fargate:
        mapping["hostPort"] = 0  # dynamic host port in bridge mode
    definition: dict[str, Any] = {
        "family": spec.name,
        "networkMode": spec.network_mode,
        "containerDefinitions": [
            {
                "name": spec.name,
                "image": revision_image,
                "cpu": 256,
                "memory": 512,
                "portMappings": [mapping],
                "stopTimeout": spec.stop_timeout,
            }
        ],
    }
    if fargate:
        definition.update(requiresCompatibilities=["FARGATE"], cpu="256", memory="512")
    response = clients.ecs.register_task_definition(**definition)
    return str(response["taskDefinition"]["taskDefinitionArn"])


def _create_request(
    spec: ServiceSpec,
    groups: list[TargetGroup],
    listener: str,
    subnets: list[tuple[str, str]],
    group: str,
    cluster_arn: str,
    old_td: str,
) -> dict[str, Any]:
    """CreateService's request for ``spec``: its controller, strategy, capacity, groups."""
    cluster = {"clusterArn": cluster_arn}
    create: dict[str, Any] = {
        "cluster": CLUSTER,
        "serviceName": spec.name,
        "taskDefinition": old_td,
        "desiredCount": spec.desired_count,
        "launchType": spec.launch_type,
        "deploymentConfiguration": {
            "minimumHealthyPercent": spec.min_healthy_percent,
            "maximumPercent": spec.max_percent,
        },
        "loadBalancers": [
            {
                "targetGroupArn": g.arn,
                "containerName": spec.name,
                "containerPort": spec.container_port,
            }
            for g in groups
        ],
    }
    if spec.enable_execute_command:
        create["enableExecuteCommand"] = True
    if spec.spot:
        del create["launchType"]
        create["capacityProviderStrategy"] = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    if spec.task_sets:
        create["deploymentController"] = {"type": spec.controller}
        # The task sets carry the load balancers (CODE_DEPLOY also names the
        # production group on the service; EXTERNAL services name none).
        create["loadBalancers"] = create["loadBalancers"][:1]
        if spec.controller == "EXTERNAL":
            for key in ("taskDefinition", "launchType", "loadBalancers"):
                create.pop(key, None)
            create.pop("deploymentConfiguration")
    elif spec.blue_green:
        create["deploymentConfiguration"].update(
            strategy="BLUE_GREEN", bakeTimeInMinutes=spec.bake_seconds // 60
        )
        create["loadBalancers"] = [
            {
                **create["loadBalancers"][0],
                "advancedConfiguration": {
                    "alternateTargetGroupArn": groups[1].arn,
                    # An NLB's production "rule" is its listener (API reference).
                    "productionListenerRule": listener,
                    "roleArn": f"arn:aws:iam::{cluster['clusterArn'].split(':')[4]}:"
                    "role/ecsInfrastructureRoleForLoadBalancers",
                },
            }
        ]
    if not create.get("loadBalancers"):
        create.pop("loadBalancers", None)
    if spec.tags:
        create["tags"] = [{"key": k, "value": v} for k, v in spec.tags]
    if spec.network_mode == "awsvpc" and spec.controller != "EXTERNAL":
        create["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": [s for _, s in subnets],
                "securityGroups": [group],
            }
        }
    return create


def provision(
    clients: Clients,
    scenario: Scenario,
    *,
    region: str,
    table_name: str,
    rng: random.Random,
    specs: Sequence[ServiceSpec] | None = None,
    ledger: bool = True,
) -> list[Service]:
    """Create everything; returns the model's view of each service (no tasks yet).

    ``specs``: only these services (default: the scenario's), e.g. one account's, made
    with that account's ``clients``; ``ledger``: also the ledger table (the hub's).
    """
    if ledger:
        table = ledger_table_request(table_name)
        ttl_attribute = table.pop("_ttl_attribute", None)
        clients.dynamodb.create_table(**table)
        if ttl_attribute:
            clients.dynamodb.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )

    vpc = clients.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets: list[tuple[str, str]] = []
    for index, suffix in enumerate(_AZS):
        az = f"{region}{suffix}"
        subnet = clients.ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=az
        )["Subnet"]["SubnetId"]
        subnets.append((az, subnet))
    group = clients.ec2.create_security_group(
        GroupName="demo-tasks", Description="demo tasks", VpcId=vpc
    )["GroupId"]
    cluster = clients.ecs.create_cluster(clusterName=CLUSTER)["cluster"]
    balancer = clients.elbv2.create_load_balancer(
        Name="demo-nlb", Type="network", Scheme="internal", Subnets=[s for _, s in subnets]
    )["LoadBalancers"][0]["LoadBalancerArn"]

    services: list[Service] = []
    #: The cluster's container instances: the first EC2 service's draws (every EC2 service
    #: still draws its own, so that the seeded draws of later services stay as they were).
    shared: list[ContainerInstance] = []
    for spec in scenario.services if specs is None else specs:
        groups: list[TargetGroup] = []
        listener = ""
        for number, tg in enumerate(spec.target_groups):
            arn = clients.elbv2.create_target_group(
                Name=tg.name,
                Protocol="TCP",
                Port=tg.port,
                VpcId=vpc,
                TargetType="ip" if spec.network_mode == "awsvpc" else "instance",
                HealthCheckIntervalSeconds=tg.health_check_interval,
                HealthyThresholdCount=tg.healthy_threshold,
            )["TargetGroups"][0]["TargetGroupArn"]
            clients.elbv2.modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[
                    {
                        "Key": "deregistration_delay.timeout_seconds",
                        "Value": str(tg.deregistration_delay),
                    }
                ],
            )
            groups.append(TargetGroup(tg, arn))
            if number and (spec.task_sets or spec.blue_green):
                continue  # the alternate group gets traffic when the listener moves to it
            made = clients.elbv2.create_listener(
                LoadBalancerArn=balancer,
                Protocol="TCP",
                Port=tg.port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
            )
            listener = listener or made["Listeners"][0]["ListenerArn"]
        old_td = _task_definition(clients, spec, f"public.ecr.aws/demo/{spec.name}:v1")
        new_td = _task_definition(clients, spec, f"public.ecr.aws/demo/{spec.name}:v2")
        create = _create_request(
            spec, groups, listener, subnets, group, cluster["clusterArn"], old_td
        )
        service_arn = clients.ecs.create_service(**create)["service"]["serviceArn"]
        instances = [
            ContainerInstance(
                f"arn:aws:ecs:{region}:{cluster['clusterArn'].split(':')[4]}:container-instance/"
                f"{CLUSTER}/{rng.getrandbits(128):032x}",
                f"i-{rng.getrandbits(68):017x}",
                f"10.0.{i}.{rng.randint(10, 250)}",
            )
            for i in range(len(_AZS))
        ]
        if spec.launch_type == "EC2":
            shared = shared or instances
            instances = shared
        services.append(
            Service(
                spec=spec,
                arn=service_arn,
                cluster_arn=cluster["clusterArn"],
                cluster_name=CLUSTER,
                target_groups=groups,
                deployments=[Deployment(_deployment_id(rng), old_td, 0.0)],
                desired_count=spec.desired_count,
                subnets=subnets,
                instances=instances,
                next_task_definition_arn=new_td,
                listener_arn=listener,
                security_group=group,
            )
        )
    return services


class MotoTaskSets:
    """:class:`sim.aws.ecs.scheduler.TaskSetControl` on moto: the task sets and listener
    changes the model makes, made in moto too, so DescribeServices and DescribeTaskSets
    answer with them (ids and ARNs are moto's). ``accounts``: the harness's clients by
    member account (a member's service is changed in its own account)."""

    def __init__(self, clients: Clients, accounts: Mapping[str, Clients] | None = None) -> None:
        self.clients = clients
        self.accounts = dict(accounts or {})

    def _clients(self, service: Service) -> Clients:
        return self.accounts.get(service.spec.account, self.clients)

    def create_task_set(
        self, service: Service, task_definition_arn: str, group: TargetGroup | None
    ) -> tuple[str, str]:
        """CreateTaskSet with the set's own load balancer (no scale: the model runs it)."""
        spec = service.spec
        request: dict[str, Any] = {
            "cluster": CLUSTER,
            "service": service.name,
            "taskDefinition": task_definition_arn,
            "launchType": spec.launch_type,
        }
        if group is not None:
            request["loadBalancers"] = [
                {
                    "targetGroupArn": group.arn,
                    "containerName": spec.name,
                    "containerPort": spec.container_port,
                }
            ]
        if spec.network_mode == "awsvpc":
            request["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": [subnet for _, subnet in service.subnets],
                    "securityGroups": [service.security_group],
                }
            }
        made = self._clients(service).ecs.create_task_set(**request)["taskSet"]
        return str(made["id"]), str(made["taskSetArn"])

    def set_primary(self, service: Service, deployment: Deployment) -> None:
        """UpdateServicePrimaryTaskSet."""
        self._clients(service).ecs.update_service_primary_task_set(
            cluster=CLUSTER, service=service.name, primaryTaskSet=deployment.task_set_arn
        )

    def scale(self, service: Service, deployment: Deployment) -> None:
        """UpdateTaskSet scale."""
        self._clients(service).ecs.update_task_set(
            cluster=CLUSTER,
            service=service.name,
            taskSet=deployment.task_set_arn,
            scale={"value": deployment.scale_percent, "unit": "PERCENT"},
        )

    def delete(self, service: Service, deployment: Deployment) -> None:
        """DeleteTaskSet."""
        self._clients(service).ecs.delete_task_set(
            cluster=CLUSTER, service=service.name, taskSet=deployment.task_set_arn, force=True
        )

    def forward(self, service: Service, groups: list[TargetGroup]) -> None:
        """ModifyListener: the production listener forwards to ``groups[0]``."""
        if service.listener_arn and groups:
            self._clients(service).elbv2.modify_listener(
                ListenerArn=service.listener_arn,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": groups[0].arn}],
            )
