"""Task objects as ECS shows them: DescribeTasks' Task and the "ECS Task State Change" event.

Field names and formats follow the ECS developer guide ("Amazon ECS task state change
events") and public samples: the event ``detail`` is the Task object with ISO-8601
timestamps (millisecond precision, ``Z``); the envelope's ``time`` has second precision.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sim.aws.ecs.model import Task

__all__ = ["TIMESTAMP_FIELDS", "iso_ms", "iso_s", "task_event", "task_object"]

TIMESTAMP_FIELDS = (
    "createdAt",
    "connectivityAt",
    "pullStartedAt",
    "pullStoppedAt",
    "startedAt",
    "stoppingAt",
    "executionStoppedAt",
    "stoppedAt",
    "updatedAt",
)

_CONTAINER_STATUS = {
    "PROVISIONING": "PENDING",
    "PENDING": "PENDING",
    "ACTIVATING": "PENDING",
    "RUNNING": "RUNNING",
    "DEACTIVATING": "RUNNING",
    "STOPPING": "RUNNING",
    "DEPROVISIONING": "STOPPED",
    "STOPPED": "STOPPED",
}


def iso_ms(epoch: float) -> str:
    """``2026-11-22T03:58:10.123Z``."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_s(epoch: float) -> str:
    """``2026-11-22T03:58:10Z``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(task: Task) -> dict[str, Any]:
    service = task.service
    prefix = f"arn:aws:ecs:{task.arn.split(':')[3]}:{task.arn.split(':')[4]}:container/"
    if task.arn.count("/") == 1:
        # An old-format task (task/<id>) has an old-format container ARN: container/<uuid>.
        raw = task.id
        path = f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"
    else:
        path = f"{service.cluster_name}/{task.id}/{task.id[:8]}-{service.name}"
    container: dict[str, Any] = {
        "containerArn": prefix + path,
        "lastStatus": _CONTAINER_STATUS[task.last_status],
        "name": service.name,
        "image": f"public.ecr.aws/demo/{service.name}:v"
        + task.deployment.task_definition_arn.rsplit(":", 1)[-1],
        "taskArn": task.arn,
        "cpu": "256",
        "memory": "512",
    }
    if "startedAt" in task.times:
        # The container's id in its runtime (Docker): what ``docker kill`` names.
        container["runtimeId"] = f"{task.id}{task.id}"
    if "executionStoppedAt" in task.times:
        container["exitCode"] = 0
    if service.spec.network_mode == "awsvpc":
        container["networkInterfaces"] = [
            {
                "attachmentId": task.network["attachmentId"],
                "privateIpv4Address": task.network["privateIPv4Address"],
            }
        ]
    else:
        container["networkBindings"] = [
            {
                "bindIP": "0.0.0.0",
                "containerPort": service.spec.container_port,
                "hostPort": int(task.network["hostPort"]),
                "protocol": "tcp",
            }
        ]
    return container


def task_object(task: Task) -> dict[str, Any]:
    """DescribeTasks' Task, timestamps as epoch seconds (as botocore's JSON protocol sends)."""
    service = task.service
    fargate = service.spec.launch_type == "FARGATE"
    body: dict[str, Any] = {
        "attachments": [],
        "attributes": [{"name": "ecs.cpu-architecture", "value": "x86_64"}],
        "availabilityZone": task.network["availabilityZone"],
        "clusterArn": service.cluster_arn,
        "connectivity": "CONNECTED",
        "containers": [_container(task)],
        "cpu": "256",
        "memory": "512",
        "desiredStatus": task.desired_status,
        "enableExecuteCommand": service.spec.enable_execute_command,
        "group": f"service:{service.name}",
        "launchType": service.spec.launch_type,
        "lastStatus": task.last_status,
        "overrides": {
            "containerOverrides": [{"name": service.name}],
            "inferenceAcceleratorOverrides": [],
        },
        "startedBy": task.deployment.id,
        "taskArn": task.arn,
        "taskDefinitionArn": task.deployment.task_definition_arn,
        "version": task.version,
        "tags": [],
    }
    if fargate:
        body["platformVersion"] = "1.4.0"
        body["platformFamily"] = "Linux"
        body["ephemeralStorage"] = {"sizeInGiB": 20}
        if service.spec.spot:
            # Fargate Spot tasks run through the FARGATE_SPOT capacity provider.
            body["capacityProviderName"] = "FARGATE_SPOT"
    else:
        body["containerInstanceArn"] = task.network["containerInstanceArn"]
    if service.spec.network_mode == "awsvpc":
        status = "DELETED" if task.last_status == "STOPPED" else "ATTACHED"
        if task.last_status == "PROVISIONING":
            status = "PRECREATED"
        body["attachments"] = [
            {
                "id": task.network["attachmentId"],
                "type": "ElasticNetworkInterface",
                "status": status,
                "details": [
                    {"name": "subnetId", "value": task.network["subnetId"]},
                    {"name": "networkInterfaceId", "value": task.network["networkInterfaceId"]},
                    {"name": "macAddress", "value": task.network["macAddress"]},
                    {"name": "privateIPv4Address", "value": task.network["privateIPv4Address"]},
                ],
            }
        ]
    for name in TIMESTAMP_FIELDS:
        if name in task.times:
            body[name] = round(task.times[name], 3)
    if task.stop_code is not None and task.desired_status == "STOPPED":
        body["stopCode"] = task.stop_code
    if task.stopped_reason is not None and task.desired_status == "STOPPED":
        body["stoppedReason"] = task.stopped_reason
    return body


def task_event(task: Task, *, event_id: uuid.UUID, at: float) -> dict[str, Any]:
    """The EventBridge "ECS Task State Change" event for the task's current state."""
    detail = task_object(task)
    detail.pop("tags", None)  # events carry no tags
    for name in TIMESTAMP_FIELDS:
        if name in detail:
            detail[name] = iso_ms(detail[name])
    service = task.service
    return {
        "version": "0",
        "id": str(event_id),
        "detail-type": "ECS Task State Change",
        "source": "aws.ecs",
        "account": service.cluster_arn.split(":")[4],
        "time": iso_s(at),
        "region": service.cluster_arn.split(":")[3],
        "resources": [task.arn],
        "detail": detail,
    }
