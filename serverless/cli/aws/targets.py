"""The calls of ``drain TASK``: where a task is reachable, and its load balancer targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from serverless.cli.aws.session import AwsAccess
from serverless.cli.model import TargetView, TaskAddresses
from serverless.domain.errors import NotFoundError

__all__ = ["TargetAdmin", "task_addresses"]


def _addresses(task: Mapping[str, Any], instance_id: str | None) -> TaskAddresses:
    ips: list[str] = []
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                ips.append(str(detail["value"]))
    ports: list[int] = []
    for container in task.get("containers", []):
        for interface in container.get("networkInterfaces", []):
            if interface.get("privateIpv4Address"):
                ips.append(str(interface["privateIpv4Address"]))
        for binding in container.get("networkBindings", []):
            port = binding.get("hostPort") or binding.get("containerPort")
            if isinstance(port, int):
                ports.append(port)
    return TaskAddresses(
        task_arn=str(task["taskArn"]),
        cluster_arn=str(task.get("clusterArn", "")),
        ips=tuple(dict.fromkeys(ips)),
        instance_id=instance_id,
        host_ports=tuple(dict.fromkeys(ports)),
    )


def task_addresses(access: AwsAccess, cluster: str, task_ref: str) -> TaskAddresses | None:
    """The task's IPs and (on EC2) instance and host ports; None when ECS does not know it.

    DescribeTasks, then DescribeContainerInstances for a task on a container instance.
    """
    ecs = access.client("ecs")
    try:
        response = access.call(
            "DescribeTasks", lambda: ecs.describe_tasks(cluster=cluster, tasks=[task_ref])
        )
    except NotFoundError as error:
        raise NotFoundError(f"cluster {cluster!r} not found ({error})") from error
    tasks = response.get("tasks", [])
    if not tasks:
        return None
    task = tasks[0]
    instance_id = None
    container_instance = task.get("containerInstanceArn")
    if container_instance:
        found = access.call(
            "DescribeContainerInstances",
            lambda: ecs.describe_container_instances(
                cluster=cluster, containerInstances=[container_instance]
            ),
        )
        instances = found.get("containerInstances", [])
        instance_id = instances[0].get("ec2InstanceId") if instances else None
    return _addresses(task, instance_id)


class TargetAdmin:
    """Targets of Elastic Load Balancing v2 target groups: read, deregister, register."""

    def __init__(self, access: AwsAccess) -> None:
        self._access = access

    def _elbv2(self) -> Any:
        return self._access.client("elbv2")

    def targets(self, target_group_arn: str) -> list[TargetView]:
        """The group's registered targets with their state (DescribeTargetHealth)."""
        try:
            response = self._access.call(
                "DescribeTargetHealth",
                lambda: self._elbv2().describe_target_health(TargetGroupArn=target_group_arn),
            )
        except NotFoundError as error:
            raise NotFoundError(f"target group {target_group_arn} not found ({error})") from error
        views = []
        for description in response.get("TargetHealthDescriptions", []):
            target = description.get("Target", {})
            port = target.get("Port")
            views.append(
                TargetView(
                    id=str(target.get("Id", "")),
                    port=port if isinstance(port, int) else None,
                    state=str(description.get("TargetHealth", {}).get("State", "")),
                    availability_zone=target.get("AvailabilityZone"),
                )
            )
        return views

    @staticmethod
    def _wire(targets: Sequence[TargetView]) -> list[dict[str, Any]]:
        wired = []
        for target in targets:
            item: dict[str, Any] = {"Id": target.id}
            if target.port is not None:
                item["Port"] = target.port
            if target.availability_zone:
                item["AvailabilityZone"] = target.availability_zone
            wired.append(item)
        return wired

    def deregister(self, target_group_arn: str, targets: Sequence[TargetView]) -> None:
        """DeregisterTargets: the targets start draining (the group's deregistration delay)."""
        wired = self._wire(targets)
        self._access.call(
            "DeregisterTargets",
            lambda: self._elbv2().deregister_targets(
                TargetGroupArn=target_group_arn, Targets=wired
            ),
        )

    def register(self, target_group_arn: str, targets: Sequence[TargetView]) -> None:
        """RegisterTargets: undo :meth:`deregister` (a drain that could not be recorded)."""
        wired = self._wire(targets)
        self._access.call(
            "RegisterTargets",
            lambda: self._elbv2().register_targets(TargetGroupArn=target_group_arn, Targets=wired),
        )
