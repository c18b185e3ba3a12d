"""ECS task and cluster ARNs, in both task ARN formats and every partition.

A task keeps the ARN it was started with. Tasks started before the account's
``taskLongArnFormat`` setting was enabled have the old format, which names no cluster
(``arn:<partition>:ecs:<region>:<account>:task/<id>``); those started after it have the
long one (``task/<cluster>/<id>``). Migrating a service to long ARNs leaves "existing
tasks" running (ECS developer guide, "Migrate an Amazon ECS short service ARN to a long
ARN"), so the first deployment after a migrated service is opted in drains exactly such
tasks. The cluster of an old-format task comes from the event's or the record's
``clusterArn``. Partitions: ``aws``, ``aws-cn``, ``aws-us-gov`` (and the isolated ones,
which share the ``aws-`` prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ClusterArn",
    "TaskArn",
    "cluster_name_of",
    "parse_cluster_arn",
    "parse_task_arn",
]

# ASCII only and matched whole: a trailing newline or non-ASCII digits are not an ARN.
_PREFIX = r"arn:(?P<partition>aws(?:-[a-z]+)*):ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12})"
_TASK = re.compile(_PREFIX + r":task/(?:(?P<cluster>[\w.-]+)/)?(?P<id>[\w-]+)", re.ASCII)
_CLUSTER = re.compile(_PREFIX + r":cluster/(?P<name>[\w.-]+)", re.ASCII)


@dataclass(frozen=True, slots=True)
class TaskArn:
    """The parts of a task ARN; ``cluster`` is None for the old format."""

    partition: str
    region: str
    account: str
    cluster: str | None
    task_id: str

    @property
    def old_format(self) -> bool:
        """The ARN names no cluster (started before long ARNs were enabled)."""
        return self.cluster is None


@dataclass(frozen=True, slots=True)
class ClusterArn:
    """The parts of a cluster ARN."""

    partition: str
    region: str
    account: str
    name: str


def parse_task_arn(text: str) -> TaskArn | None:
    """The parts of a task ARN in either format, or None when ``text`` is not one."""
    match = _TASK.fullmatch(text)
    if match is None:
        return None
    return TaskArn(
        match["partition"], match["region"], match["account"], match["cluster"], match["id"]
    )


def parse_cluster_arn(text: str) -> ClusterArn | None:
    """The parts of a cluster ARN, or None when ``text`` is not one."""
    match = _CLUSTER.fullmatch(text)
    if match is None:
        return None
    return ClusterArn(match["partition"], match["region"], match["account"], match["name"])


def cluster_name_of(task_arn: str, cluster_arn: str | None = None) -> str | None:
    """The cluster a task runs in: from a long task ARN itself, else from ``cluster_arn``
    (a cluster ARN or name); None when neither tells."""
    task = parse_task_arn(task_arn)
    if task is not None and task.cluster is not None:
        return task.cluster
    if not cluster_arn:
        return None
    cluster = parse_cluster_arn(cluster_arn)
    if cluster is not None:
        return cluster.name
    return None if ":" in cluster_arn else cluster_arn
