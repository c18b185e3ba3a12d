"""What a stop action needs, checked against what can be read, said in one line.

``exec`` needs the service's ``enableExecuteCommand`` (tasks started after it was set),
a task role with the Session Manager channel permissions, a container to signal and a
shell with ``kill`` in its image; ``ssm-signal`` needs the EC2 launch type. The operator
commands gather the facts (:class:`ServiceFacts`); this module judges them without AWS
calls. What cannot be read (the image's programs; the task role when IAM's policy
simulator is not allowed) is named as unchecked, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

from serverless.domain.actions import SIGNAL_ACTIONS
from serverless.domain.model import StopAction

__all__ = [
    "EXEC_ROLE_ACTIONS",
    "Assessment",
    "ServiceFacts",
    "assess",
]

#: What the task role needs for ECS Exec (ECS developer guide, "ECS Exec").
EXEC_ROLE_ACTIONS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What the operator commands could read about a service, for its stop action.

    ``role_denied``: the task role's ECS Exec actions it does not allow (None: not read —
    no task role, or IAM's simulator not allowed; ``role_unread`` says why).
    """

    service: str
    enable_execute_command: bool
    #: ``launchType``, or the capacity providers of its strategy (e.g. ``FARGATE_SPOT``).
    launch_types: tuple[str, ...] = ()
    container: str | None = None  # the container the action would signal
    containers: tuple[str, ...] = ()  # the task definition's containers
    task_role_arn: str | None = None
    role_denied: tuple[str, ...] | None = None
    role_unread: str = ""

    @property
    def on_ec2(self) -> bool | None:
        """Whether the tasks run on EC2 or external instances (None: capacity providers of
        the user's, which may be either, or nothing said)."""
        if any(kind.startswith("FARGATE") for kind in self.launch_types):
            return False
        if self.launch_types and all(kind in {"EC2", "EXTERNAL"} for kind in self.launch_types):
            return True
        return None


@dataclass(frozen=True, slots=True)
class Assessment:
    """The verdict on one action's prerequisites: what is missing, what was not checked."""

    action: StopAction
    missing: tuple[str, ...]
    unchecked: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Nothing readable is missing."""
        return not self.missing

    def line(self) -> str:
        """One line for people."""
        if self.action not in SIGNAL_ACTIONS and self.action is not StopAction.STOP_TASK_THEN_EXEC:
            return f"{self.action}: needs nothing beyond the opt-in"
        head = (
            f"{self.action}: missing " + "; ".join(self.missing)
            if self.missing
            else f"{self.action}: every readable prerequisite is present"
        )
        if self.unchecked:
            head += " (not checked: " + "; ".join(self.unchecked) + ")"
        return head

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "action": str(self.action),
            "ok": self.ok,
            "missing": list(self.missing),
            "unchecked": list(self.unchecked),
            "line": self.line(),
        }


def _exec(facts: ServiceFacts, missing: list[str], unchecked: list[str]) -> None:
    if not facts.enable_execute_command:
        missing.append(
            f"enableExecuteCommand on service {facts.service} (aws ecs update-service "
            "--enable-execute-command --force-new-deployment)"
        )
    if facts.container is None:
        missing.append("a container to signal (no load balancer container; tag exec-container)")
    elif facts.containers and facts.container not in facts.containers:
        missing.append(
            f"container {facts.container!r} in the task definition "
            f"(it has {', '.join(facts.containers)})"
        )
    if facts.task_role_arn is None:
        missing.append("a task role (ECS Exec's agent needs the ssmmessages permissions)")
    elif facts.role_denied is None:
        unchecked.append(
            f"the task role's {', '.join(a.split(':')[1] for a in EXEC_ROLE_ACTIONS)}"
            + (f" ({facts.role_unread})" if facts.role_unread else "")
        )
    elif facts.role_denied:
        missing.append(f"{', '.join(facts.role_denied)} on task role {facts.task_role_arn}")
    unchecked.append("/bin/sh and kill in the image")


def _ssm(facts: ServiceFacts, missing: list[str], unchecked: list[str]) -> None:
    on_ec2 = facts.on_ec2
    if on_ec2 is False:
        missing.append(f"the EC2 launch type (service {facts.service} runs on Fargate)")
    elif on_ec2 is None:
        unchecked.append("whether the capacity providers run on EC2")
    unchecked.append(
        "the SSM agent on the container instances and their drain-terminator:cluster tag"
    )


def assess(action: StopAction, facts: ServiceFacts, *, ssm_fallback: bool = False) -> Assessment:
    """What ``action`` lacks for this service (``ssm_fallback``: the plan may end with
    ssm-signal, whose needs are then checked too, as unchecked when they are not met)."""
    missing: list[str] = []
    unchecked: list[str] = []
    if action in {StopAction.EXEC, StopAction.STOP_TASK_THEN_EXEC}:
        _exec(facts, missing, unchecked)
    if action is StopAction.SSM_SIGNAL:
        _ssm(facts, missing, unchecked)
    elif ssm_fallback and action is not StopAction.STOP_TASK:
        fallback_missing: list[str] = []
        _ssm(facts, fallback_missing, unchecked)
        unchecked.extend(f"ssm-fallback: {item}" for item in fallback_missing)
    return Assessment(action, tuple(missing), tuple(unchecked))
