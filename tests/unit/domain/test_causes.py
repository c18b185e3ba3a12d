"""Stop causes: each documented or publicly recorded stopCode/stoppedReason, and the policy."""

from __future__ import annotations

import pytest

from serverless.domain.causes import classify, leave_reason, refine
from serverless.domain.model import (
    ServiceInfo,
    ServicePolicy,
    StopCause,
    TaskSetInfo,
    UnhealthyAction,
)

CLUSTER = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
TG = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/web/0123456789abcdef"
SCALING = "Scaling activity initiated by (deployment ecs-svc/4790528617301924468)"
POLICY = ServicePolicy(enabled=True, wait_seconds=120)


@pytest.mark.parametrize(
    ("stop_code", "reason", "cause"),
    [
        pytest.param(
            "ServiceSchedulerInitiated", SCALING, StopCause.SERVICE_SCHEDULER, id="scaling"
        ),
        pytest.param(
            "SpotInterruption",
            "Your Spot Task was interrupted.",
            StopCause.SPOT_INTERRUPTION,
            id="spot",
        ),
        pytest.param(
            "TerminationNotice",
            "Your Spot Task was interrupted.",
            StopCause.SPOT_INTERRUPTION,
            id="termination-notice",
        ),
        pytest.param(
            None,
            "Your Spot Task was interrupted.",
            StopCause.SPOT_INTERRUPTION,
            id="spot-text-only",
        ),
        pytest.param(
            "TerminationNotice", None, StopCause.SPOT_INTERRUPTION, id="termination-code-only"
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            f"Task failed ELB health checks in (target-group {TG})",
            StopCause.HEALTH_CHECK,
            id="elb-health",
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            "Task failed ELB health checks in (elb web-classic)",
            StopCause.HEALTH_CHECK,
            id="classic-elb-health",
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            "Task failed container health checks",
            StopCause.HEALTH_CHECK,
            id="container-health",
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            "Service web: container instance is in DRAINING state",
            StopCause.INSTANCE_DRAINING,
            id="instance-draining",
        ),
        pytest.param(
            "ServiceSchedulerInitiated",
            "ECS is performing maintenance on the underlying infrastructure hosting the task",
            StopCause.MAINTENANCE,
            id="maintenance",
        ),
        pytest.param("UserInitiated", "Task stopped by user", StopCause.USER_INITIATED, id="user"),
        pytest.param(
            "ServiceSchedulerInitiated", None, StopCause.SERVICE_SCHEDULER, id="scheduler"
        ),
        pytest.param(
            "EssentialContainerExited",
            "Essential container in task exited",
            StopCause.OTHER,
            id="exited",
        ),
        pytest.param(None, None, StopCause.OTHER, id="nothing"),
    ],
)
def test_given_documented_stop_code_and_reason_when_classified_then_cause_is_named(
    stop_code: str | None, reason: str | None, cause: StopCause
) -> None:
    assert classify(stop_code, reason) is cause


def info(**changes: object) -> ServiceInfo:
    base: dict[str, object] = {
        "cluster_arn": CLUSTER,
        "service_name": "web",
        "target_group_arns": (TG,),
        "primary_deployment_id": "ecs-svc/2",
    }
    base.update(changes)
    return ServiceInfo(**base)  # type: ignore[arg-type]


def test_given_task_of_the_primary_deployment_when_refined_then_scale_in() -> None:
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/2", info()) is StopCause.SCALE_IN


def test_given_task_of_an_older_deployment_when_refined_then_deployment() -> None:
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/1", info()) is StopCause.DEPLOYMENT


def test_given_task_set_service_when_refined_then_the_primary_task_set_decides() -> None:
    sets = (
        TaskSetInfo("ecs-svc/blue", "ACTIVE", (TG,)),
        TaskSetInfo("ecs-svc/green", "PRIMARY", (TG,)),
    )
    service = info(task_sets=sets, primary_deployment_id=None, controller="EXTERNAL")
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/blue", service) is StopCause.DEPLOYMENT
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/green", service) is StopCause.SCALE_IN


def test_given_unknown_primary_or_started_by_when_refined_then_cause_unchanged() -> None:
    assert refine(StopCause.SERVICE_SCHEDULER, None, info()) is StopCause.SERVICE_SCHEDULER
    no_primary = info(primary_deployment_id=None)
    assert (
        refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/1", no_primary) is StopCause.SERVICE_SCHEDULER
    )
    assert refine(StopCause.HEALTH_CHECK, "ecs-svc/1", info()) is StopCause.HEALTH_CHECK
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/1", None) is StopCause.SERVICE_SCHEDULER


def test_given_service_without_load_balancer_when_refined_then_no_target_group() -> None:
    bare = info(target_group_arns=(), load_balanced=False)
    assert refine(StopCause.SERVICE_SCHEDULER, "ecs-svc/2", bare) is StopCause.NO_TARGET_GROUP
    assert refine(StopCause.INSTANCE_DRAINING, None, bare) is StopCause.NO_TARGET_GROUP
    # An interruption stays one: it is left to ECS either way, and counted as what it is.
    assert refine(StopCause.SPOT_INTERRUPTION, None, bare) is StopCause.SPOT_INTERRUPTION


@pytest.mark.parametrize(
    "cause",
    [
        StopCause.DEPLOYMENT,
        StopCause.SCALE_IN,
        StopCause.SERVICE_SCHEDULER,
        StopCause.INSTANCE_DRAINING,
        StopCause.MAINTENANCE,
        StopCause.USER_INITIATED,
        StopCause.OTHER,
        StopCause.HEALTH_CHECK,
    ],
)
def test_given_a_drain_that_can_be_shortened_when_policy_asked_then_no_reason_to_leave_it(
    cause: StopCause,
) -> None:
    assert leave_reason(cause, POLICY) is None


@pytest.mark.parametrize("cause", [StopCause.SPOT_INTERRUPTION, StopCause.NO_TARGET_GROUP])
def test_given_a_cause_with_nothing_to_shorten_when_policy_asked_then_left_to_ecs_whatever_the_tags(
    cause: StopCause,
) -> None:
    for unhealthy in UnhealthyAction:
        policy = ServicePolicy(enabled=True, wait_seconds=0, unhealthy=unhealthy)
        assert leave_reason(cause, policy)


def test_given_unhealthy_tag_leave_when_policy_asked_then_health_check_drains_are_left() -> None:
    policy = ServicePolicy(enabled=True, wait_seconds=120, unhealthy=UnhealthyAction.LEAVE)
    assert leave_reason(StopCause.HEALTH_CHECK, policy)
    assert leave_reason(StopCause.DEPLOYMENT, policy) is None
