"""AWS operations the model answers instead of moto (see :mod:`sim.aws.embedded`).

ECS ``DescribeTasks``, ``StopTask`` and ``ListTasks`` need task lifecycles (moto's tasks
jump to STOPPED, or advance one state per DescribeTasks); ELB ``DescribeTargetHealth``
needs the ``initial``/``draining`` states (moto's targets are healthy or gone).

moto 5 has no ECS-native blue/green: it drops ``deploymentConfiguration`` (strategy,
percentages) and ``currentServiceDeployment``/``currentServiceRevisions`` from
DescribeServices and does not implement DescribeServiceDeployments or
DescribeServiceRevisions; its task sets lack ``computedDesiredCount``, ``runningCount``
and ``pendingCount``, and its service ``deployments`` are not the ones that started the
tasks. The model serves those two operations and completes moto's DescribeServices and
DescribeTaskSets answers, in the API reference's shapes.
"""

from __future__ import annotations

import functools
import math
from typing import Any
from xml.sax.saxutils import escape

from sim.aws.ecs.events import task_object
from sim.aws.ecs.model import Deployment, EcsModel, Service, Task, TaskNotFound
from sim.aws.embedded import AwsCall, AwsInterceptor, Reply

__all__ = ["DESCRIBE_TASKS_LIMIT", "LIST_TASKS_LIMIT", "serve_model"]

DESCRIBE_TASKS_LIMIT = 100
LIST_TASKS_LIMIT = 100
_ELB = "elastic-load-balancing-v2"


def _counts(service: Service, deployment: Deployment) -> dict[str, int]:
    mine = [t for t in service.tasks if t.deployment is deployment and t.live]
    running = sum(1 for t in mine if t.last_status == "RUNNING")
    return {"runningCount": running, "pendingCount": len(mine) - running}


def _revision_summary(service: Service, revision_arn: str) -> dict[str, Any]:
    deployments = [d for d in service.deployments if d.revision_arn == revision_arn]
    mine = [t for t in service.tasks if t.deployment in deployments and t.live]
    running = sum(1 for t in mine if t.last_status == "RUNNING")
    wanted = sum(1 for t in mine if t.desired_status == "RUNNING")
    return {
        "arn": revision_arn,
        "requestedTaskCount": wanted,
        "runningTaskCount": running,
        "pendingTaskCount": len(mine) - running,
    }


def _amend_service(service: Service, body: dict[str, Any]) -> None:
    """What ECS shows of ``service`` and moto does not."""
    spec = service.spec
    if spec.controller != "EXTERNAL":
        configuration: dict[str, Any] = {
            "minimumHealthyPercent": spec.min_healthy_percent,
            "maximumPercent": spec.max_percent,
        }
        if spec.blue_green:
            configuration.update(strategy="BLUE_GREEN", bakeTimeInMinutes=spec.bake_seconds // 60)
        elif not spec.task_sets:
            configuration["strategy"] = "ROLLING"
        body["deploymentConfiguration"] = configuration
    if spec.task_sets:
        by_id = {d.id: d for d in service.deployments}
        for task_set in body.get("taskSets", []):
            deployment = by_id.get(task_set.get("id", ""))
            if deployment is None:
                continue
            task_set["computedDesiredCount"] = (
                0
                if deployment.task_set_status == "DRAINING"
                else math.ceil(service.desired_count * deployment.scale_percent / 100)
            )
            task_set["scale"] = {"value": deployment.scale_percent, "unit": "PERCENT"}
            if spec.controller == "CODE_DEPLOY":
                # "If a CodeDeploy deployment created the task set, the startedBy
                # parameter is CODE_DEPLOY" (API reference, TaskSet).
                task_set["startedBy"] = "CODE_DEPLOY"
            task_set.update(_counts(service, deployment))
        return
    primary = service.primary
    shown = [primary] + [
        d
        for d in service.deployments[:-1]
        if any(t.deployment is d and t.live for t in service.tasks)
    ]
    body["deployments"] = [
        {
            "id": d.id,
            "status": "PRIMARY" if d is primary else "ACTIVE",
            "taskDefinition": d.task_definition_arn,
            "desiredCount": service.desired_count if d is primary else 0,
            **_counts(service, d),
        }
        for d in shown
    ]
    if spec.blue_green and service.service_deployments:
        record = service.service_deployments[-1]
        body["currentServiceDeployment"] = record.arn
        revisions = [record.target_revision_arn]
        if record.status == "IN_PROGRESS":
            revisions = record.source_revision_arns + revisions
        body["currentServiceRevisions"] = [_revision_summary(service, r) for r in revisions]
    if spec.blue_green and service.target_groups:
        current = service.revisions.get(primary.revision_arn or "", service.target_groups[:1])
        serving = current[0] if current else service.target_groups[0]
        alternate = next((g for g in service.target_groups if g is not serving), serving)
        for balancer in body.get("loadBalancers", []):
            balancer["targetGroupArn"] = serving.arn
            balancer.setdefault("advancedConfiguration", {})["alternateTargetGroupArn"] = (
                alternate.arn
            )


def _in_cluster(task: Task, cluster: str, account: str | None = None) -> bool:
    """Whether ``task`` is in ``cluster`` as seen by a caller of ``account`` (None: the
    harness, which sees every account): a caller sees its own account's tasks only."""
    if account is not None and task.service.cluster_arn.split(":")[4] != account:
        return False
    return cluster in {task.service.cluster_arn, task.service.cluster_name}


def _amend_services(model: EcsModel, call: AwsCall, payload: dict[str, Any]) -> None:
    """DescribeServices: what ECS shows and moto drops."""
    known = {s.arn: s for s in model.services.values()}
    for body in payload.get("services", []):
        service = known.get(str(body.get("serviceArn")))
        if service is not None:
            _amend_service(service, body)


def _amend_task_sets(model: EcsModel, call: AwsCall, payload: dict[str, Any]) -> None:
    """DescribeTaskSets: the sets' counts and scale from the model."""
    wanted = str(call.params.get("service"))
    service = next(
        (
            s
            for s in model.services.values()
            if wanted in {s.name, s.arn}
            and (call.account is None or s.cluster_arn.split(":")[4] == call.account)
        ),
        None,
    )
    if service is not None:
        _amend_service(service, {"taskSets": payload.get("taskSets", [])})


def _describe_service_deployments(model: EcsModel, call: AwsCall) -> Reply:
    """DescribeServiceDeployments of the model's blue/green deployments."""
    wanted = [str(a) for a in call.params.get("serviceDeploymentArns", [])]
    found, failures = [], []
    records = {r.arn: (s, r) for s in model.services.values() for r in s.service_deployments}
    for arn in wanted:
        if arn not in records:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        service, record = records[arn]
        body: dict[str, Any] = {
            "serviceDeploymentArn": record.arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": record.created_at,
            "startedAt": record.created_at,
            "updatedAt": model.loop.now,
            "sourceServiceRevisions": [
                _revision_summary(service, r) for r in record.source_revision_arns if r
            ],
            "targetServiceRevision": _revision_summary(service, record.target_revision_arn),
            "status": record.status,
            "lifecycleStage": record.stage if record.stage != "SCALE_UP_DONE" else "SCALE_UP",
            "deploymentConfiguration": {
                "strategy": "BLUE_GREEN",
                "bakeTimeInMinutes": service.spec.bake_seconds // 60,
                "minimumHealthyPercent": service.spec.min_healthy_percent,
                "maximumPercent": service.spec.max_percent,
            },
        }
        if record.finished_at is not None:
            body["finishedAt"] = record.finished_at
        found.append(body)
    return Reply.json({"serviceDeployments": found, "failures": failures})


def _describe_service_revisions(model: EcsModel, call: AwsCall) -> Reply:
    """DescribeServiceRevisions: each revision's load balancers (its own target group)."""
    wanted = [str(a) for a in call.params.get("serviceRevisionArns", [])]
    if len(wanted) > 20:
        return Reply.error(
            "ecs", "InvalidParameterException", "At most 20 service revisions per call."
        )
    found, failures = [], []
    for arn in wanted:
        service = next((s for s in model.services.values() if arn in s.revisions), None)
        if service is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        deployment = next(d for d in service.deployments if d.revision_arn == arn)
        groups = service.revisions[arn]
        others = [g for g in service.target_groups if all(g is not h for h in groups)]
        found.append(
            {
                "serviceRevisionArn": arn,
                "serviceArn": service.arn,
                "clusterArn": service.cluster_arn,
                "taskDefinition": deployment.task_definition_arn,
                "launchType": service.spec.launch_type,
                "loadBalancers": [
                    {
                        "targetGroupArn": group.arn,
                        "containerName": service.name,
                        "containerPort": service.spec.container_port,
                        "advancedConfiguration": {
                            "alternateTargetGroupArn": (others or [group])[0].arn
                        },
                    }
                    for group in groups
                ],
                "createdAt": deployment.started_at,
            }
        )
    return Reply.json({"serviceRevisions": found, "failures": failures})


def _describe_target_health(model: EcsModel, call: AwsCall) -> Reply:
    """DescribeTargetHealth with the model's target states."""
    group_arn = str(call.params.get("TargetGroupArn", ""))
    try:
        targets = model.target_health(group_arn)
    except TaskNotFound:
        return Reply.error(
            _ELB, "TargetGroupNotFound", f"Target groups '{group_arn}' not found", 400
        )
    wanted = {
        str(value)
        for key, value in call.params.items()
        if key.startswith("Targets.member.") and key.endswith(".Id")
    }
    members = []
    for target in targets:
        if wanted and target.target_id not in wanted:
            continue
        reason = f"<Reason>{escape(target.reason)}</Reason>" if target.reason else ""
        members.append(
            "<member>"
            f"<Target><Id>{escape(target.target_id)}</Id><Port>{target.port}</Port></Target>"
            f"<HealthCheckPort>{target.port}</HealthCheckPort>"
            f"<TargetHealth><State>{target.state}</State>{reason}</TargetHealth>"
            "</member>"
        )
    body = (
        '<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/'
        'doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions>'
        + "".join(members)
        + "</TargetHealthDescriptions></DescribeTargetHealthResult>"
        "<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId>"
        "</ResponseMetadata></DescribeTargetHealthResponse>"
    )
    return Reply.xml(body)


def serve_model(interceptor: AwsInterceptor, model: EcsModel) -> None:
    """Register the model's operations on ``interceptor``."""

    def describe_tasks(call: AwsCall) -> Reply:
        refs = list(call.params.get("tasks", []))
        cluster = str(call.params.get("cluster", "default"))
        if not refs:
            return Reply.error("ecs", "InvalidParameterException", "Tasks cannot be empty.")
        if len(refs) > DESCRIBE_TASKS_LIMIT:
            return Reply.error(
                "ecs",
                "InvalidParameterException",
                f"Too many tasks were provided ({len(refs)}). Maximum is 100.",
            )
        tasks, failures = [], []
        for ref in refs:
            try:
                task = model.find(ref)
            except TaskNotFound:
                failures.append({"arn": ref, "reason": "MISSING"})
                continue
            if not _in_cluster(task, cluster, call.account):
                failures.append({"arn": ref, "reason": "MISSING"})
                continue
            tasks.append(task_object(task))
        return Reply.json({"tasks": tasks, "failures": failures})

    def stop_task(call: AwsCall) -> Reply:
        ref = str(call.params.get("task", ""))
        cluster = str(call.params.get("cluster", "default"))
        try:
            task = model.find(ref)
        except TaskNotFound:
            task = None
        if task is None or not _in_cluster(task, cluster, call.account):
            return Reply.error(
                "ecs", "InvalidParameterException", "The referenced task was not found."
            )
        reason = str(call.params.get("reason", "Task stopped by user"))
        return Reply.json(
            {"task": task_object(model.stop_task(task.arn, reason, attempt=call.attempt))}
        )

    def list_tasks(call: AwsCall) -> Reply:
        cluster = str(call.params.get("cluster", "default"))
        service = call.params.get("serviceName")
        desired = call.params.get("desiredStatus", "RUNNING")
        started_by = call.params.get("startedBy")
        arns = [
            t.arn
            for t in model.tasks.values()
            if _in_cluster(t, cluster, call.account)
            and (service is None or service in {t.service.name, t.service.arn})
            and t.desired_status == desired
            and (started_by is None or t.deployment.id == started_by)
        ]
        size = min(int(call.params.get("maxResults") or LIST_TASKS_LIMIT), LIST_TASKS_LIMIT)
        start = int(call.params.get("nextToken") or 0)
        body: dict[str, Any] = {"taskArns": arns[start : start + size]}
        if start + size < len(arns):
            body["nextToken"] = str(start + size)
        return Reply.json(body)

    interceptor.serve("ecs", "DescribeTasks", describe_tasks)
    interceptor.serve("ecs", "StopTask", stop_task)
    interceptor.serve("ecs", "ListTasks", list_tasks)
    interceptor.serve(
        "ecs", "DescribeServiceDeployments", functools.partial(_describe_service_deployments, model)
    )
    interceptor.serve(
        "ecs", "DescribeServiceRevisions", functools.partial(_describe_service_revisions, model)
    )
    interceptor.amend("ecs", "DescribeServices", functools.partial(_amend_services, model))
    interceptor.amend("ecs", "DescribeTaskSets", functools.partial(_amend_task_sets, model))
    interceptor.serve(
        _ELB, "DescribeTargetHealth", functools.partial(_describe_target_health, model)
    )
