"""ECS through botocore: service descriptions with tags, task states, StopTask."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from serverless.adapters.clients import LazyClient
from serverless.adapters.errors import aws_errors
from serverless.domain.errors import NotFoundError
from serverless.domain.model import ServiceInfo, TaskSetInfo, TaskState
from serverless.domain.serving import DeploymentView
from serverless.ports import DESCRIBE_SERVICES_BATCH

__all__ = ["DESCRIBE_REVISIONS_BATCH", "DESCRIBE_TASKS_BATCH", "LIST_TASKS_PAGE", "EcsAdapter"]

#: DescribeTasks accepts at most 100 tasks per call (DescribeServices: the port's
#: DESCRIBE_SERVICES_BATCH services).
DESCRIBE_TASKS_BATCH = 100
#: DescribeServiceRevisions accepts at most 20 revision ARNs per call.
DESCRIBE_REVISIONS_BATCH = 20
#: ListTasks returns at most 100 task ARNs per page.
LIST_TASKS_PAGE = 100


def _epoch(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    return None


def _task_state(task: dict[str, Any]) -> TaskState:
    version = task.get("version")
    return TaskState(
        task_arn=task["taskArn"],
        last_status=task.get("lastStatus", ""),
        desired_status=task.get("desiredStatus", ""),
        stopped_reason=task.get("stoppedReason"),
        stop_code=task.get("stopCode"),
        stopping_at=_epoch(task.get("stoppingAt")),
        stopped_at=_epoch(task.get("stoppedAt")),
        started_by=task.get("startedBy") or None,
        group=task.get("group") or "",
        version=version if isinstance(version, int) and not isinstance(version, bool) else 0,
        container_instance_arn=task.get("containerInstanceArn") or None,
    )


def _target_groups(load_balancers: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(lb["targetGroupArn"] for lb in load_balancers if lb.get("targetGroupArn"))
    )


def _alternates(load_balancers: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            arn
            for lb in load_balancers
            if (arn := (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn"))
        )
    )


def _task_set(task_set: dict[str, Any]) -> TaskSetInfo:
    return TaskSetInfo(
        task_set_id=task_set.get("id", ""),
        status=task_set.get("status", ""),
        target_group_arns=_target_groups(task_set.get("loadBalancers", [])),
        desired_count=int(task_set.get("computedDesiredCount", 0)),
    )


def _service_info(cluster_arn: str, service: dict[str, Any]) -> ServiceInfo:
    tags = {t["key"]: t.get("value", "") for t in service.get("tags", []) if "key" in t}
    load_balancers: list[dict[str, Any]] = service.get("loadBalancers", [])
    task_sets = tuple(_task_set(ts) for ts in service.get("taskSets", []) if ts.get("id"))
    # Any load balancer counts (a Classic one has a name and no target group): a service
    # with none has no deregistration delay to shorten.
    load_balanced = any(
        lb.get("targetGroupArn") or lb.get("loadBalancerName") for lb in load_balancers
    ) or any(
        lb.get("targetGroupArn") or lb.get("loadBalancerName")
        for ts in service.get("taskSets", [])
        for lb in ts.get("loadBalancers", [])
    )
    primary = next(
        (d.get("id") for d in service.get("deployments", []) if d.get("status") == "PRIMARY"),
        None,
    )
    # The exec and ssm-signal actions signal the container of the (first) load balancer.
    container = next(
        (str(lb["containerName"]) for lb in load_balancers if lb.get("containerName")), None
    )
    return ServiceInfo(
        cluster_arn=cluster_arn,
        service_name=service["serviceName"],
        tags=tags,
        desired_count=int(service.get("desiredCount", 0)),
        target_group_arns=_target_groups(load_balancers),
        lb_container_name=container,
        load_balanced=bool(load_balanced),
        controller=(service.get("deploymentController") or {}).get("type") or "ECS",
        strategy=(service.get("deploymentConfiguration") or {}).get("strategy") or "ROLLING",
        alternate_target_group_arns=_alternates(load_balancers),
        task_sets=task_sets,
        primary_deployment_id=primary or None,
        deployment_arn=service.get("currentServiceDeployment") or None,
        revision_arns=tuple(
            r["arn"] for r in service.get("currentServiceRevisions", []) if r.get("arn")
        ),
    )


class EcsAdapter:
    """:class:`serverless.ports.EcsPort` on botocore's ECS client.

    ``route``: the client of the cluster an ARN names (its account's and region's, see
    :class:`serverless.adapters.accounts.AccountClients`); without it every call goes to
    ``client`` (made on first use when not given).
    """

    def __init__(
        self, client: Any | None = None, route: Callable[[str], Any] | None = None
    ) -> None:
        lazy = LazyClient("ecs", client)
        self._client: Callable[[str], Any] = route or (lambda _arn: lazy.get())

    def describe_services(
        self, cluster_arn: str, service_names: Sequence[str]
    ) -> dict[str, ServiceInfo]:
        """DescribeServices with include=TAGS for up to 10 services; missing or inactive
        services are left out (so is everything when the cluster itself is gone).
        """
        names = list(dict.fromkeys(service_names))
        if not names:
            return {}
        if len(names) > DESCRIBE_SERVICES_BATCH:
            raise ValueError(f"at most {DESCRIBE_SERVICES_BATCH} services per call")
        try:
            with aws_errors("DescribeServices"):
                response = self._client(cluster_arn).describe_services(
                    cluster=cluster_arn, services=names, include=["TAGS"]
                )
        except NotFoundError:
            return {}
        found: dict[str, ServiceInfo] = {}
        for service in response.get("services", []):
            name = service.get("serviceName")
            if service.get("status") == "INACTIVE" or name not in names:
                continue
            found[name] = _service_info(cluster_arn, service)
        return found

    def describe_tasks(self, cluster_arn: str, task_arns: Sequence[str]) -> dict[str, TaskState]:
        """Live states of ``task_arns``, in batches of 100; missing tasks are left out."""
        states: dict[str, TaskState] = {}
        unique = list(dict.fromkeys(task_arns))
        for start in range(0, len(unique), DESCRIBE_TASKS_BATCH):
            batch = unique[start : start + DESCRIBE_TASKS_BATCH]
            try:
                with aws_errors("DescribeTasks"):
                    response = self._client(cluster_arn).describe_tasks(
                        cluster=cluster_arn, tasks=batch
                    )
            except NotFoundError:  # the cluster itself is gone
                continue
            for task in response.get("tasks", []):
                state = _task_state(task)
                states[state.task_arn] = state
        return states

    def stop_task(self, cluster_arn: str, task_arn: str, reason: str) -> None:
        """StopTask with ``reason``."""
        with aws_errors("StopTask"):
            self._client(cluster_arn).stop_task(cluster=cluster_arn, task=task_arn, reason=reason)

    def describe_service_deployment(self, deployment_arn: str) -> DeploymentView | None:
        """DescribeServiceDeployments of one deployment (ECS-native blue/green, linear,
        canary): its status, lifecycle stage, source and target revisions."""
        with aws_errors("DescribeServiceDeployments"):
            response = self._client(deployment_arn).describe_service_deployments(
                serviceDeploymentArns=[deployment_arn]
            )
        for deployment in response.get("serviceDeployments", []):
            if deployment.get("serviceDeploymentArn") not in (None, deployment_arn):
                continue
            return DeploymentView(
                status=deployment.get("status", ""),
                lifecycle_stage=deployment.get("lifecycleStage", ""),
                source_revision_arns=tuple(
                    r["arn"] for r in deployment.get("sourceServiceRevisions", []) if r.get("arn")
                ),
                target_revision_arn=(deployment.get("targetServiceRevision") or {}).get("arn"),
            )
        return None

    def describe_service_revisions(
        self, revision_arns: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        """DescribeServiceRevisions in batches of 20: each revision's target groups."""
        found: dict[str, tuple[str, ...]] = {}
        unique = list(dict.fromkeys(revision_arns))
        for start in range(0, len(unique), DESCRIBE_REVISIONS_BATCH):
            batch = unique[start : start + DESCRIBE_REVISIONS_BATCH]
            with aws_errors("DescribeServiceRevisions"):
                response = self._client(batch[0]).describe_service_revisions(
                    serviceRevisionArns=batch
                )
            for revision in response.get("serviceRevisions", []):
                arn = revision.get("serviceRevisionArn")
                if arn:
                    found[arn] = _target_groups(revision.get("loadBalancers", []))
        return found

    def list_stopping_tasks(
        self, cluster_arn: str, service_name: str, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        """One page (up to 100) of ListTasks(serviceName, desiredStatus=STOPPED), and the
        token of the next page (None: last page)."""
        kwargs: dict[str, Any] = {
            "cluster": cluster_arn,
            "serviceName": service_name,
            "desiredStatus": "STOPPED",
            "maxResults": LIST_TASKS_PAGE,
        }
        if next_token:
            kwargs["nextToken"] = next_token
        with aws_errors("ListTasks"):
            response = self._client(cluster_arn).list_tasks(**kwargs)
        return list(response.get("taskArns", [])), response.get("nextToken") or None
