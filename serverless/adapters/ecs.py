"""ECS through botocore: service descriptions with tags, task states, StopTask."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors
from serverless.errors import NotFoundError
from serverless.model import ServiceInfo, TaskState

__all__ = ["DESCRIBE_TASKS_BATCH", "EcsAdapter"]

#: DescribeTasks accepts at most 100 tasks per call.
DESCRIBE_TASKS_BATCH = 100


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def _task_state(task: dict[str, Any]) -> TaskState:
    return TaskState(
        task_arn=task["taskArn"],
        last_status=task.get("lastStatus", ""),
        desired_status=task.get("desiredStatus", ""),
        stopped_reason=task.get("stoppedReason"),
        stop_code=task.get("stopCode"),
        stopping_at=_epoch(task.get("stoppingAt")),
        stopped_at=_epoch(task.get("stoppedAt")),
    )


class EcsAdapter:
    """:class:`serverless.ports.EcsPort` on botocore's ECS client."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = LazyClient("ecs", client)

    def describe_service(self, cluster_arn: str, service_name: str) -> ServiceInfo | None:
        """DescribeServices with include=TAGS; None for a missing or inactive service."""
        try:
            with aws_errors("DescribeServices"):
                response = self._client.get().describe_services(
                    cluster=cluster_arn, services=[service_name], include=["TAGS"]
                )
        except NotFoundError:
            return None
        services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
        if not services:
            return None
        service = services[0]
        tags = {t["key"]: t.get("value", "") for t in service.get("tags", []) if "key" in t}
        target_groups = tuple(
            dict.fromkeys(
                lb["targetGroupArn"]
                for lb in service.get("loadBalancers", [])
                if lb.get("targetGroupArn")
            )
        )
        return ServiceInfo(
            cluster_arn=cluster_arn,
            service_name=service_name,
            tags=tags,
            desired_count=int(service.get("desiredCount", 0)),
            target_group_arns=target_groups,
        )

    def describe_tasks(self, cluster_arn: str, task_arns: Sequence[str]) -> dict[str, TaskState]:
        """Live states of ``task_arns``, in batches of 100; missing tasks are left out."""
        states: dict[str, TaskState] = {}
        unique = list(dict.fromkeys(task_arns))
        for start in range(0, len(unique), DESCRIBE_TASKS_BATCH):
            batch = unique[start : start + DESCRIBE_TASKS_BATCH]
            try:
                with aws_errors("DescribeTasks"):
                    response = self._client.get().describe_tasks(cluster=cluster_arn, tasks=batch)
            except NotFoundError:  # the cluster itself is gone
                continue
            for task in response.get("tasks", []):
                state = _task_state(task)
                states[state.task_arn] = state
        return states

    def stop_task(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        """StopTask with ``reason``."""
        with aws_errors("StopTask"):
            self._client.get().stop_task(cluster=cluster_arn, task=task_arn, reason=reason)
