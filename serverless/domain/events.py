"""Parse EventBridge "ECS Task State Change" events into :class:`TaskEvent`.

Everything the event must provide is checked here, once; a malformed event raises
:class:`InvalidEventError` with a reason a human can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from serverless.domain.arns import parse_cluster_arn, parse_task_arn
from serverless.domain.errors import InvalidEventError
from serverless.domain.model import TaskEvent

__all__ = [
    "DETAIL_TYPE",
    "EARLIEST_PLAUSIBLE",
    "LATEST_PLAUSIBLE",
    "MAX_VERSION",
    "SOURCE",
    "event_id_of",
    "parse_task_event",
    "parse_timestamp",
]

SOURCE = "aws.ecs"
DETAIL_TYPE = "ECS Task State Change"
#: Timestamps outside [ECS's launch year, 2100) are not state changes of a real task.
EARLIEST_PLAUSIBLE = datetime(2014, 1, 1, tzinfo=UTC).timestamp()
LATEST_PLAUSIBLE = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
#: detail.version is a 64-bit counter in ECS; anything larger is malformed.
MAX_VERSION = 2**63 - 1

_STATUSES = frozenset(
    {
        "PROVISIONING",
        "PENDING",
        "ACTIVATING",
        "RUNNING",
        "DEACTIVATING",
        "STOPPING",
        "DEPROVISIONING",
        "STOPPED",
        "DELETED",
    }
)


def event_id_of(event: object) -> str:
    """The event's id for logging, or ``"<none>"`` when it has none."""
    if isinstance(event, Mapping):
        value = event.get("id")
        if isinstance(value, str) and value:
            return value
    return "<none>"


def parse_timestamp(value: object, what: str) -> float:
    """Epoch seconds of an ISO-8601 timestamp such as ``2026-11-22T10:00:00.123Z``.

    A time before 2014 or from 2100 on is rejected as implausible.
    """
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"{what} must be an ISO-8601 timestamp string, got {value!r}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEventError(f"{what} is not an ISO-8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if not EARLIEST_PLAUSIBLE <= seconds < LATEST_PLAUSIBLE:
        raise InvalidEventError(f"{what} is not a plausible time (2014-2099): {value!r}")
    return seconds


def _str(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"detail.{key} must be a non-empty string, got {value!r}")
    return value


def _optional_time(detail: Mapping[str, Any], key: str) -> float | None:
    value = detail.get(key)
    if value is None:
        return None
    return parse_timestamp(value, f"detail.{key}")


def _optional_str(detail: Mapping[str, Any], key: str) -> str | None:
    value = detail.get(key)
    return value if isinstance(value, str) and value else None


def parse_task_event(event: object) -> TaskEvent:
    """Validate an EventBridge event and return the :class:`TaskEvent` it carries."""
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"event must be a JSON object, got {type(event).__name__}")
    if event.get("source") != SOURCE:
        raise InvalidEventError(f"source must be {SOURCE!r}, got {event.get('source')!r}")
    if event.get("detail-type") != DETAIL_TYPE:
        raise InvalidEventError(
            f"detail-type must be {DETAIL_TYPE!r}, got {event.get('detail-type')!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise InvalidEventError("detail must be a JSON object")

    task_arn = _str(detail, "taskArn")
    task = parse_task_arn(task_arn)
    if task is None:
        raise InvalidEventError(f"detail.taskArn is not a task ARN: {task_arn!r}")
    cluster_arn = _str(detail, "clusterArn")
    cluster = parse_cluster_arn(cluster_arn)
    if cluster is None:
        raise InvalidEventError(f"detail.clusterArn is not a cluster ARN: {cluster_arn!r}")
    # An old-format task ARN names no cluster: clusterArn is its cluster. Either way the
    # two must agree on partition, region and account (and a long ARN on the cluster).
    if (task.partition, task.region, task.account) != (
        cluster.partition,
        cluster.region,
        cluster.account,
    ) or (task.cluster is not None and task.cluster != cluster.name):
        raise InvalidEventError("detail.taskArn does not belong to detail.clusterArn")

    last_status = _str(detail, "lastStatus")
    desired_status = _str(detail, "desiredStatus")
    for key, status in (("lastStatus", last_status), ("desiredStatus", desired_status)):
        if status not in _STATUSES:
            raise InvalidEventError(f"detail.{key} is not a task status: {status!r}")

    version = detail.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
        raise InvalidEventError(
            f"detail.version must be a whole number from 0 to 2**63-1, got {version!r}"
        )

    group = detail.get("group", "")
    if not isinstance(group, str):
        raise InvalidEventError(f"detail.group must be a string, got {group!r}")

    # The state change's own time: detail.updatedAt (millisecond precision) when present,
    # else the envelope's time. Never the time the Lambda happened to run.
    if detail.get("updatedAt") is not None:
        moment = parse_timestamp(detail["updatedAt"], "detail.updatedAt")
    else:
        moment = parse_timestamp(event.get("time"), "time")

    return TaskEvent(
        event_id=event_id_of(event),
        time=moment,
        task_arn=task_arn,
        cluster_arn=cluster_arn,
        group=group,
        last_status=last_status,
        desired_status=desired_status,
        version=version,
        stopped_reason=_optional_str(detail, "stoppedReason"),
        started_by=_optional_str(detail, "startedBy"),
        stop_code=_optional_str(detail, "stopCode"),
        stopping_at=_optional_time(detail, "stoppingAt"),
        stopped_at=_optional_time(detail, "stoppedAt"),
    )
