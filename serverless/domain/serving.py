"""Which target groups serve a service's traffic now: the ones the min-healthy guard counts.

Where the target groups live depends on the service's deployment controller:

- **ECS, rolling** (``deploymentConfiguration.strategy`` ROLLING or none): the service's
  own ``loadBalancers``; every task is in every group, so each group must hold the
  required number of healthy targets.
- **CODE_DEPLOY and EXTERNAL** (task sets; the EXTERNAL controlled scale-down of the
  aws-samples "Deployments on ECS over NLB and Fargate with controlled scaledown"):
  each task set has its own ``loadBalancers`` (DescribeServices lists the sets with
  them, as DescribeTaskSets does). The PRIMARY set serves production traffic, so its
  groups are counted against its ``computedDesiredCount``; without a PRIMARY set, the
  set the draining task belongs to (the task's ``startedBy`` is its set's id); without
  either, every set's groups (counting more groups only defers more: never unsafe).
- **ECS-native blue/green, linear, canary** (``strategy`` BLUE_GREEN, LINEAR, CANARY):
  traffic moves between two target groups (``loadBalancers[].targetGroupArn`` and its
  ``advancedConfiguration.alternateTargetGroupArn``) as the deployment's lifecycle goes
  on. The service's ``currentServiceDeployment`` (DescribeServiceDeployments) tells the
  stage; the revisions it moves from and to (DescribeServiceRevisions) tell each one's
  ``loadBalancers``. :func:`serving_revisions` picks the revisions whose groups serve
  now. Assumption, stated: a revision's ``loadBalancers[].targetGroupArn`` is the group
  its tasks are registered in (the API reference: "the load balancers that are used by
  the service revision"); wherever the stage does not settle it, both revisions count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from serverless.domain.model import ServiceInfo

__all__ = [
    "SHIFTED_STAGES",
    "DeploymentView",
    "Serving",
    "required_healthy",
    "serving_of_service",
    "serving_revisions",
]

#: Lifecycle stages from which production traffic is on the target revision (during
#: PRODUCTION_TRAFFIC_SHIFT of a linear or canary deployment it is split: both count).
SHIFTED_STAGES = frozenset({"POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"})
_SPLIT_STAGE = "PRODUCTION_TRAFFIC_SHIFT"
_RUNNING_STATUSES = frozenset({"PENDING", "IN_PROGRESS"})


@dataclass(frozen=True, slots=True)
class Serving:
    """Target groups that serve traffic now, the healthy targets each must hold a
    percentage of (``desired_count``), and where they were read (for logs)."""

    target_group_arns: tuple[str, ...]
    desired_count: int
    source: str


@dataclass(frozen=True, slots=True)
class DeploymentView:
    """What DescribeServiceDeployments tells about an ECS-native deployment."""

    status: str
    lifecycle_stage: str
    source_revision_arns: tuple[str, ...]
    target_revision_arn: str | None


def required_healthy(min_healthy_percent: int, desired_count: int) -> int:
    """Healthy targets each serving group must keep under the min-healthy guard: the
    percent of the desired count, rounded up."""
    return math.ceil(min_healthy_percent * desired_count / 100)


def serving_of_service(info: ServiceInfo, started_by: str | None) -> Serving | None:
    """The serving groups of a rolling or task-set service, read from DescribeServices
    alone; None for a revision-based service (its deployment must be read first)."""
    if info.revision_based:
        return None
    if not info.task_sets:
        return Serving(info.target_group_arns, info.desired_count, "service")
    primary = next((s for s in info.task_sets if s.status == "PRIMARY"), None)
    own = next((s for s in info.task_sets if s.task_set_id == started_by), None)
    chosen = primary or own
    if chosen is not None:
        kind = "primary task set" if chosen is primary else "the task's task set"
        desired = chosen.desired_count or info.desired_count
        return Serving(chosen.target_group_arns, desired, f"{kind} {chosen.task_set_id}")
    groups = tuple(dict.fromkeys(arn for s in info.task_sets for arn in s.target_group_arns))
    return Serving(groups, info.desired_count, "every task set")


def serving_revisions(
    info: ServiceInfo, deployment: DeploymentView | None
) -> tuple[tuple[str, ...], str]:
    """The revisions whose target groups serve now, and why (for logs).

    No deployment known: the service's current revisions. A deployment still before its
    production traffic shift, or rolled back: its source revisions. Past the shift, or
    SUCCESSFUL: its target revision. During the shift (split traffic) and in any other
    status (STOPPED, a rollback under way or failed, unknown): both.
    """
    if deployment is None or deployment.target_revision_arn is None:
        return info.revision_arns, "current revisions"
    source, target = deployment.source_revision_arns, (deployment.target_revision_arn,)
    status, stage = deployment.status, deployment.lifecycle_stage
    if status == "SUCCESSFUL":
        return target, "target revision (deployment successful)"
    if status == "ROLLBACK_SUCCESSFUL":
        return source, "source revisions (rolled back)"
    if status in _RUNNING_STATUSES:
        if stage in SHIFTED_STAGES:
            return target, f"target revision ({stage})"
        if stage != _SPLIT_STAGE:
            return source, f"source revisions ({stage or 'before the traffic shift'})"
    return source + target, f"source and target revisions ({status} {stage})".strip()
