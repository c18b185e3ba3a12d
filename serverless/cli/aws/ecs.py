"""ECS and ELB calls of the operator CLI: describe, list, force a deployment, tag."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from serverless.adapters.ecs import DESCRIBE_TASKS_BATCH
from serverless.cli.aws.session import AwsAccess
from serverless.cli.model import DeploymentView, ServiceView, TaskView
from serverless.domain.errors import NotFoundError

__all__ = ["DEREGISTRATION_DELAY", "ServiceAdmin", "TargetGroupReader"]

DEREGISTRATION_DELAY = "deregistration_delay.timeout_seconds"
#: DescribeServices takes at most 10 services per call.
DESCRIBE_SERVICES_BATCH = 10


def _epoch(value: object) -> float | None:
    # botocore parses ECS timestamps into aware datetimes.
    return value.timestamp() if isinstance(value, datetime) else None


def _task_view(task: Mapping[str, Any]) -> TaskView:
    return TaskView(
        task_arn=str(task["taskArn"]),
        cluster_arn=str(task.get("clusterArn", "")),
        group=str(task.get("group", "")),
        last_status=str(task.get("lastStatus", "")),
        desired_status=str(task.get("desiredStatus", "")),
        started_at=_epoch(task.get("startedAt")),
        stopping_at=_epoch(task.get("stoppingAt")),
        stopped_at=_epoch(task.get("stoppedAt")),
        stopped_reason=task.get("stoppedReason"),
        stop_code=task.get("stopCode"),
    )


def _service_view(service: Mapping[str, Any], cluster: str) -> ServiceView:
    tags = {t["key"]: t.get("value", "") for t in service.get("tags", []) if "key" in t}
    groups = tuple(
        dict.fromkeys(
            lb["targetGroupArn"]
            for lb in service.get("loadBalancers", [])
            if lb.get("targetGroupArn")
        )
    )
    deployments = tuple(
        DeploymentView(
            id=str(d.get("id", "")),
            status=str(d.get("status", "")),
            rollout_state=d.get("rolloutState"),
            created_at=_epoch(d.get("createdAt")),
        )
        for d in service.get("deployments", [])
    )
    return ServiceView(
        arn=str(service.get("serviceArn", "")),
        name=str(service.get("serviceName", "")),
        cluster_arn=str(service.get("clusterArn", cluster)),
        status=str(service.get("status", "")),
        tags=tags,
        desired_count=int(service.get("desiredCount", 0)),
        running_count=int(service.get("runningCount", 0)),
        target_group_arns=groups,
        task_definition=str(service.get("taskDefinition", "")),
        deployments=deployments,
        load_balanced_containers=tuple(
            dict.fromkeys(
                str(lb["containerName"])
                for lb in service.get("loadBalancers", [])
                if lb.get("containerName")
            )
        ),
        enable_execute_command=bool(service.get("enableExecuteCommand", False)),
        launch_types=tuple(
            [str(service["launchType"])]
            if service.get("launchType")
            else [
                str(item["capacityProvider"])
                for item in service.get("capacityProviderStrategy", [])
                if item.get("capacityProvider")
            ]
        ),
    )


class ServiceAdmin:
    """The ECS calls of the operator commands."""

    def __init__(self, access: AwsAccess) -> None:
        self._access = access

    def _ecs(self) -> Any:
        return self._access.client("ecs")

    def _cluster_call(self, action: str, cluster: str, request: Any) -> Any:
        try:
            return self._access.call(action, request)
        except NotFoundError as error:
            raise NotFoundError(f"cluster {cluster!r} not found ({error})") from error

    def describe_service(self, cluster: str, service: str) -> ServiceView:
        """The service with its tags; NotFoundError when it does not exist (or is inactive)."""
        response = self._cluster_call(
            "DescribeServices",
            cluster,
            lambda: self._ecs().describe_services(
                cluster=cluster, services=[service], include=["TAGS"]
            ),
        )
        found = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
        if not found:
            raise NotFoundError(f"service {service!r} not found in cluster {cluster!r}")
        return _service_view(found[0], cluster)

    def list_clusters(self) -> list[str]:
        """ARNs of every cluster in the region (ListClusters)."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            response = self._access.call(
                "ListClusters", lambda: self._ecs().list_clusters(**kwargs)
            )
            arns.extend(response.get("clusterArns", []))
            token = response.get("nextToken")
            if not token:
                return arns
            kwargs["nextToken"] = token

    def find_service(self, service: str, cluster: str | None = None) -> list[ServiceView]:
        """The service of that name in ``cluster``, or in any cluster of the region."""
        found = []
        for arn in [cluster] if cluster else self.list_clusters():
            try:
                found.append(self.describe_service(arn, service))
            except NotFoundError:
                continue
        return found

    def services(self, cluster: str) -> list[ServiceView]:
        """Every active service of the cluster, with its tags (ListServices, DescribeServices)."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {"cluster": cluster}
        while True:
            response = self._cluster_call(
                "ListServices", cluster, lambda: self._ecs().list_services(**kwargs)
            )
            arns.extend(response.get("serviceArns", []))
            token = response.get("nextToken")
            if not token:
                break
            kwargs["nextToken"] = token
        views: list[ServiceView] = []
        for start in range(0, len(arns), DESCRIBE_SERVICES_BATCH):
            batch = arns[start : start + DESCRIBE_SERVICES_BATCH]
            response = self._cluster_call(
                "DescribeServices",
                cluster,
                lambda batch=batch: self._ecs().describe_services(
                    cluster=cluster, services=batch, include=["TAGS"]
                ),
            )
            views.extend(
                _service_view(s, cluster)
                for s in response.get("services", [])
                if s.get("status") != "INACTIVE"
            )
        return views

    def list_tasks(self, cluster: str, service: str, desired_status: str = "RUNNING") -> list[str]:
        """ARNs of the service's tasks with ``desired_status``."""
        arns: list[str] = []
        kwargs: dict[str, Any] = {
            "cluster": cluster,
            "serviceName": service,
            "desiredStatus": desired_status,
        }
        while True:
            response = self._cluster_call(
                "ListTasks", cluster, lambda: self._ecs().list_tasks(**kwargs)
            )
            arns.extend(response.get("taskArns", []))
            token = response.get("nextToken")
            if not token:
                return arns
            kwargs["nextToken"] = token

    def describe_tasks(self, cluster: str, task_arns: Sequence[str]) -> dict[str, TaskView]:
        """Tasks that still exist (ECS keeps stopped ones about an hour), by ARN."""
        views: dict[str, TaskView] = {}
        unique = list(dict.fromkeys(task_arns))
        for start in range(0, len(unique), DESCRIBE_TASKS_BATCH):
            batch = unique[start : start + DESCRIBE_TASKS_BATCH]
            response = self._cluster_call(
                "DescribeTasks",
                cluster,
                lambda batch=batch: self._ecs().describe_tasks(cluster=cluster, tasks=batch),
            )
            for task in response.get("tasks", []):
                view = _task_view(task)
                views[view.task_arn] = view
        return views

    def task_definition(self, task_definition: str) -> dict[str, Any]:
        """A task definition (DescribeTaskDefinition)."""
        response = self._access.call(
            "DescribeTaskDefinition",
            lambda: self._ecs().describe_task_definition(taskDefinition=task_definition),
        )
        found: dict[str, Any] = response.get("taskDefinition", {})
        return found

    def container_definitions(self, task_definition: str) -> list[dict[str, Any]]:
        """The container definitions of a task definition (DescribeTaskDefinition)."""
        containers = self.task_definition(task_definition).get("containerDefinitions", [])
        return [c for c in containers if isinstance(c, dict)]

    def force_new_deployment(self, cluster: str, service: str) -> str:
        """UpdateService(forceNewDeployment); returns the new primary deployment's id."""
        response = self._cluster_call(
            "UpdateService",
            cluster,
            lambda: self._ecs().update_service(
                cluster=cluster, service=service, forceNewDeployment=True
            ),
        )
        deployments = response.get("service", {}).get("deployments", [])
        primary = [d for d in deployments if d.get("status") == "PRIMARY"]
        return str(primary[0].get("id", "")) if primary else ""

    def tag(self, resource_arn: str, tags: Mapping[str, str]) -> None:
        """TagResource (adds or overwrites)."""
        self._access.call(
            "TagResource",
            lambda: self._ecs().tag_resource(
                resourceArn=resource_arn, tags=[{"key": k, "value": v} for k, v in tags.items()]
            ),
        )

    def untag(self, resource_arn: str, keys: Sequence[str]) -> None:
        """UntagResource."""
        self._access.call(
            "UntagResource",
            lambda: self._ecs().untag_resource(resourceArn=resource_arn, tagKeys=list(keys)),
        )


class TargetGroupReader:
    """Target group attributes (Elastic Load Balancing v2)."""

    def __init__(self, access: AwsAccess) -> None:
        self._access = access

    def deregistration_delay(self, target_group_arn: str) -> int:
        """The group's deregistration delay in seconds (ELB's default 300 when not listed)."""
        try:
            response = self._access.call(
                "DescribeTargetGroupAttributes",
                lambda: self._access.client("elbv2").describe_target_group_attributes(
                    TargetGroupArn=target_group_arn
                ),
            )
        except NotFoundError as error:
            raise NotFoundError(f"target group {target_group_arn} not found ({error})") from error
        for attribute in response.get("Attributes", []):
            if attribute.get("Key") == DEREGISTRATION_DELAY:
                return int(attribute.get("Value", 300))
        return 300

    def protocols(self, target_group_arns: Sequence[str]) -> dict[str, str]:
        """Each existing group's protocol (TCP, TLS, UDP, TCP_UDP: a Network Load Balancer)."""
        found: dict[str, str] = {}
        elbv2 = self._access.client

        def describe(arn: str) -> Any:
            return elbv2("elbv2").describe_target_groups(TargetGroupArns=[arn])

        for arn in target_group_arns:
            try:
                response = self._access.call(
                    "DescribeTargetGroups", functools.partial(describe, arn)
                )
            except NotFoundError:
                continue
            for group in response.get("TargetGroups", []):
                found[str(group["TargetGroupArn"])] = str(group.get("Protocol", ""))
        return found
