"""Create a scenario's resources in moto: VPC, cluster, task definitions, NLB, target groups,
services with their tags, and the ledger table from the Terraform HCL.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sim.aws.ecs.model import Deployment, Service, TargetGroup
from sim.scenarios import Scenario, ServiceSpec
from sim.terraform import ledger_table_request

__all__ = ["CLUSTER", "Clients", "provision"]

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
    for spec in scenario.services if specs is None else specs:
        groups: list[TargetGroup] = []
        for tg in spec.target_groups:
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
            clients.elbv2.create_listener(
                LoadBalancerArn=balancer,
                Protocol="TCP",
                Port=tg.port,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
            )
            groups.append(TargetGroup(tg, arn))
        old_td = _task_definition(clients, spec, f"public.ecr.aws/demo/{spec.name}:v1")
        new_td = _task_definition(clients, spec, f"public.ecr.aws/demo/{spec.name}:v2")
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
        if spec.tags:
            create["tags"] = [{"key": k, "value": v} for k, v in spec.tags]
        if spec.network_mode == "awsvpc":
            create["networkConfiguration"] = {
                "awsvpcConfiguration": {
                    "subnets": [s for _, s in subnets],
                    "securityGroups": [group],
                }
            }
        service_arn = clients.ecs.create_service(**create)["service"]["serviceArn"]
        instances = [
            (
                f"arn:aws:ecs:{region}:{cluster['clusterArn'].split(':')[4]}:container-instance/"
                f"{CLUSTER}/{rng.getrandbits(128):032x}",
                f"i-{rng.getrandbits(68):017x}",
                f"10.0.{i}.{rng.randint(10, 250)}",
            )
            for i in range(len(_AZS))
        ]
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
            )
        )
    return services
