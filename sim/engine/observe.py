"""The observation log: every ECS transition, event delivery, invocation and AWS call.

Reports, tests, the chaos verdict and the benchmarks read the run from here, never from
the handlers' own logs, so what the terminator did is judged by an independent witness.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Kind", "Observation", "ObservationLog"]


class Kind:
    """Observation kinds (plain strings, so the JSON output stays readable)."""

    ECS_TRANSITION = "ecs.transition"
    ECS_DRAIN = "ecs.drain"
    ECS_STOP_TASK = "ecs.stop_task"
    #: A StopTask on a draining task that changed only its reason (the ``ignored`` world).
    ECS_STOP_IGNORED = "ecs.stop_ignored"
    #: An ExecuteCommand (``exec``) or SendCommand (``ssm-signal``) that reached the model.
    SIGNAL_REQUEST = "signal.request"
    #: A stop signal reached a task's container (its effect: the app begins shutting down).
    CONTAINER_SIGNAL = "container.signal"
    #: A Session Manager session (ECS Exec) opened or closed.
    SESSION = "ssm.session"
    ECS_TASK_LAUNCHED = "ecs.task_launched"
    DEPLOYMENT_STARTED = "deployment.started"
    DEPLOYMENT_COMPLETED = "deployment.completed"
    TARGET_STATE = "elb.target_state"
    EVENT_EMITTED = "event.emitted"
    EVENT_FILTERED = "event.filtered"
    EVENT_DELIVERED = "event.delivered"
    LAMBDA_START = "lambda.start"
    LAMBDA_END = "lambda.end"
    LAMBDA_THROTTLED = "lambda.throttled"
    LAMBDA_DROPPED = "lambda.dropped"
    AWS_CALL = "aws.call"
    OPERATOR = "operator.action"
    #: A container instance set to DRAINING.
    INSTANCE_DRAINING = "ecs.instance_draining"
    #: The target groups a service's listener forwards to changed (blue/green, task sets).
    SERVING = "elb.serving"
    #: A matched event dropped: every event of that task's drain is lost.
    EVENT_LOST = "event.lost"
    #: A task set or blue/green lifecycle step (created, primary, scaled, deleted, stage).
    DEPLOYMENT_STEP = "deployment.step"


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing that happened at virtual time ``at``."""

    at: float
    kind: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {"at": self.at, "kind": self.kind, "subject": self.subject, **self.data}


class ObservationLog:
    """Append-only, in order of occurrence."""

    def __init__(self) -> None:
        self._records: list[Observation] = []

    def record(self, at: float, kind: str, subject: str, **data: Any) -> Observation:
        """Append one observation."""
        observation = Observation(at, kind, subject, dict(data))
        self._records.append(observation)
        return observation

    def __iter__(self) -> Iterator[Observation]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def of_kind(self, *kinds: str) -> list[Observation]:
        """Observations of the given kinds, in order."""
        wanted = set(kinds)
        return [r for r in self._records if r.kind in wanted]
