"""Stop-action prerequisites: judged from what could be read, said in one line."""

from __future__ import annotations

import dataclasses

import pytest

from serverless.cli.prerequisites import EXEC_ROLE_ACTIONS, ServiceFacts, assess
from serverless.domain.model import StopAction

ROLE = "arn:aws:iam::111122223333:role/web-task"
READY = ServiceFacts(
    service="web",
    enable_execute_command=True,
    launch_types=("FARGATE",),
    container="web",
    containers=("web", "log-router"),
    task_role_arn=ROLE,
    role_denied=(),
)


def test_given_everything_readable_present_when_exec_assessed_then_ok_and_image_unchecked() -> None:
    assessment = assess(StopAction.EXEC, READY)

    assert assessment.ok
    assert assessment.line() == (
        "exec: every readable prerequisite is present (not checked: /bin/sh and kill in the image)"
    )


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"enable_execute_command": False}, "enableExecuteCommand on service web"),
        ({"task_role_arn": None}, "a task role"),
        (
            {"role_denied": ("ssmmessages:OpenDataChannel",)},
            f"ssmmessages:OpenDataChannel on task role {ROLE}",
        ),
        ({"container": None}, "a container to signal"),
        ({"container": "app"}, "container 'app' in the task definition (it has web, log-router)"),
    ],
)
def test_given_a_missing_prerequisite_when_exec_assessed_then_the_line_names_it(
    changes: dict[str, object], says: str
) -> None:
    assessment = assess(StopAction.STOP_TASK_THEN_EXEC, dataclasses.replace(READY, **changes))

    assert not assessment.ok
    assert assessment.line().startswith("stop-task-then-exec: missing ")
    assert says in assessment.line()
    assert "\n" not in assessment.line()


def test_given_role_not_readable_when_assessed_then_unchecked_with_the_reason() -> None:
    facts = dataclasses.replace(READY, role_denied=None, role_unread="IAM simulator: denied")

    assessment = assess(StopAction.EXEC, facts)

    assert assessment.ok
    assert "not checked: the task role's CreateControlChannel" in assessment.line()
    assert "(IAM simulator: denied)" in assessment.line()
    assert len(EXEC_ROLE_ACTIONS) == 4


@pytest.mark.parametrize(
    ("launch_types", "ok", "says"),
    [
        (("EC2",), True, "every readable prerequisite is present"),
        (("FARGATE",), False, "the EC2 launch type"),
        (("FARGATE_SPOT", "FARGATE"), False, "the EC2 launch type"),
        (("my-asg-provider",), True, "whether the capacity providers run on EC2"),
    ],
)
def test_given_launch_type_when_ssm_signal_assessed_then_ec2_required(
    launch_types: tuple[str, ...], ok: bool, says: str
) -> None:
    facts = dataclasses.replace(READY, launch_types=launch_types)

    assessment = assess(StopAction.SSM_SIGNAL, facts)

    assert assessment.ok is ok
    assert says in assessment.line()


def test_given_stop_task_when_assessed_then_nothing_needed() -> None:
    facts = dataclasses.replace(READY, enable_execute_command=False, task_role_arn=None)

    assert assess(StopAction.STOP_TASK, facts).line() == (
        "stop-task: needs nothing beyond the opt-in"
    )


def test_given_ssm_fallback_on_fargate_when_assessed_then_noted_not_missing() -> None:
    assessment = assess(StopAction.STOP_TASK_THEN_EXEC, READY, ssm_fallback=True)

    assert assessment.ok
    assert "ssm-fallback: the EC2 launch type" in assessment.line()
