"""The target groups that serve traffic now, per deployment controller and deployment stage."""

from __future__ import annotations

import pytest

from serverless.domain.model import ServiceInfo, TaskSetInfo
from serverless.domain.serving import DeploymentView, serving_of_service, serving_revisions

CLUSTER = "arn:aws:ecs:us-east-1:111122223333:cluster/prod"
BLUE = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/blue/0123456789abcdef"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/green/fedcba9876543210"
REV_1 = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/1"
REV_2 = "arn:aws:ecs:us-east-1:111122223333:service-revision/prod/web/2"


def test_given_rolling_service_when_asked_then_its_own_load_balancers_serve() -> None:
    info = ServiceInfo(CLUSTER, "web", desired_count=4, target_group_arns=(BLUE,))
    serving = serving_of_service(info, "ecs-svc/1")
    assert serving is not None
    assert (serving.target_group_arns, serving.desired_count) == ((BLUE,), 4)


def task_set_service(*sets: TaskSetInfo) -> ServiceInfo:
    return ServiceInfo(CLUSTER, "web", desired_count=4, controller="EXTERNAL", task_sets=sets)


def test_given_task_sets_with_a_primary_when_asked_then_the_primary_set_serves() -> None:
    # The EXTERNAL controlled scale-down: the old set drains while the new one serves.
    info = task_set_service(
        TaskSetInfo("ecs-svc/old", "ACTIVE", (BLUE,), 2),
        TaskSetInfo("ecs-svc/new", "PRIMARY", (GREEN,), 4),
    )
    serving = serving_of_service(info, "ecs-svc/old")
    assert serving is not None
    assert (serving.target_group_arns, serving.desired_count) == ((GREEN,), 4)
    assert "primary task set ecs-svc/new" in serving.source


def test_given_task_sets_without_primary_when_asked_then_the_tasks_own_set_serves() -> None:
    info = task_set_service(
        TaskSetInfo("ecs-svc/a", "ACTIVE", (BLUE,), 3),
        TaskSetInfo("ecs-svc/b", "ACTIVE", (GREEN,), 0),
    )
    serving = serving_of_service(info, "ecs-svc/a")
    assert serving is not None
    assert (serving.target_group_arns, serving.desired_count) == ((BLUE,), 3)
    # computedDesiredCount 0: the service's desired count is the reference.
    other = serving_of_service(info, "ecs-svc/b")
    assert other is not None
    assert other.desired_count == 4


def test_given_task_sets_and_unknown_task_set_when_asked_then_every_set_counts() -> None:
    info = task_set_service(
        TaskSetInfo("ecs-svc/a", "ACTIVE", (BLUE,)), TaskSetInfo("ecs-svc/b", "ACTIVE", (GREEN,))
    )
    serving = serving_of_service(info, None)
    assert serving is not None
    assert serving.target_group_arns == (BLUE, GREEN)


def blue_green() -> ServiceInfo:
    return ServiceInfo(
        CLUSTER,
        "web",
        desired_count=4,
        target_group_arns=(BLUE,),
        alternate_target_group_arns=(GREEN,),
        strategy="BLUE_GREEN",
        deployment_arn="arn:aws:ecs:us-east-1:111122223333:service-deployment/prod/web/d2",
        revision_arns=(REV_2,),
    )


def test_given_blue_green_service_when_asked_from_describe_services_then_deployment_needed() -> (
    None
):
    assert serving_of_service(blue_green(), "ecs-svc/1") is None


@pytest.mark.parametrize(
    ("status", "stage", "expected"),
    [
        pytest.param("IN_PROGRESS", "SCALE_UP", (REV_1,), id="before-shift"),
        pytest.param("IN_PROGRESS", "TEST_TRAFFIC_SHIFT", (REV_1,), id="test-traffic"),
        pytest.param("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", (REV_1, REV_2), id="split"),
        pytest.param("IN_PROGRESS", "BAKE_TIME", (REV_2,), id="bake"),
        pytest.param("IN_PROGRESS", "CLEAN_UP", (REV_2,), id="clean-up"),
        pytest.param("SUCCESSFUL", "CLEAN_UP", (REV_2,), id="successful"),
        pytest.param("ROLLBACK_SUCCESSFUL", "", (REV_1,), id="rolled-back"),
        pytest.param(
            "ROLLBACK_IN_PROGRESS", "RECONCILE_SERVICE", (REV_1, REV_2), id="rolling-back"
        ),
        pytest.param("STOPPED", "", (REV_1, REV_2), id="stopped"),
    ],
)
def test_given_blue_green_deployment_stage_when_asked_then_the_revisions_serving_now(
    status: str, stage: str, expected: tuple[str, ...]
) -> None:
    deployment = DeploymentView(status, stage, (REV_1,), REV_2)
    revisions, why = serving_revisions(blue_green(), deployment)
    assert revisions == expected
    assert why


def test_given_no_deployment_when_asked_then_the_current_revisions_serve() -> None:
    assert serving_revisions(blue_green(), None)[0] == (REV_2,)
