"""AWS operations the model answers instead of moto (see :mod:`sim.aws.embedded`).

ECS ``DescribeTasks``, ``StopTask`` and ``ListTasks`` need task lifecycles (moto's tasks
jump to STOPPED, or advance one state per DescribeTasks); ELB ``DescribeTargetHealth``
needs the ``initial``/``draining`` states (moto's targets are healthy or gone).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from sim.aws.ecs.events import task_object
from sim.aws.ecs.model import EcsModel, Task, TaskNotFound
from sim.aws.embedded import AwsCall, AwsInterceptor, Reply

__all__ = ["DESCRIBE_TASKS_LIMIT", "serve_model"]

DESCRIBE_TASKS_LIMIT = 100
_ELB = "elastic-load-balancing-v2"


def _in_cluster(task: Task, cluster: str, account: str | None = None) -> bool:
    """Whether ``task`` is in ``cluster`` as seen by a caller of ``account`` (None: the
    harness, which sees every account): a caller sees its own account's tasks only."""
    if account is not None and task.service.cluster_arn.split(":")[4] != account:
        return False
    return cluster in {task.service.cluster_arn, task.service.cluster_name}


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
            if _in_cluster(t, cluster)
            and (service is None or service in {t.service.name, t.service.arn})
            and t.desired_status == desired
            and (started_by is None or t.deployment.id == started_by)
        ]
        return Reply.json({"taskArns": arns})

    def describe_target_health(call: AwsCall) -> Reply:
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

    interceptor.serve("ecs", "DescribeTasks", describe_tasks)
    interceptor.serve("ecs", "StopTask", stop_task)
    interceptor.serve("ecs", "ListTasks", list_tasks)
    interceptor.serve(_ELB, "DescribeTargetHealth", describe_target_health)
