"""Composition root: wires settings, clock, adapters and use cases for the handlers.

Handlers call :func:`current`. Production builds the :class:`App` from the environment
on first use; the simulator and the tests :func:`install` one built with their own
clients and clock. Both paths run the same code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from serverless.adapters import (
    DynamoLedger,
    EcsAdapter,
    LambdaSweepTrigger,
    TargetHealthAdapter,
)
from serverless.clock import Clock, SystemClock
from serverless.errors import InvalidEventError
from serverless.events import event_id_of, parse_task_event
from serverless.observability import Metric, count, log_keys, logger
from serverless.services import ServiceDirectory
from serverless.settings import Settings, load_settings
from serverless.sweeper import Sweeper
from serverless.tracker import DrainTracker

__all__ = ["App", "current", "install", "reset"]


class App:
    """Everything one warm container needs, built once."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        ecs_client: Any | None = None,
        dynamodb_client: Any | None = None,
        elbv2_client: Any | None = None,
        lambda_client: Any | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.ledger = DynamoLedger(settings.table_name, dynamodb_client)
        self.ecs = EcsAdapter(ecs_client)
        self.health = TargetHealthAdapter(elbv2_client)
        # Warm-container cache of service tags, shared by every invocation of this App.
        self.services = ServiceDirectory(self.ecs, settings, self.clock)
        self.trigger = (
            LambdaSweepTrigger(settings.sweeper_function_name, lambda_client)
            if settings.sweeper_function_name and settings.kick_below_seconds > 0
            else None
        )
        self.tracker = DrainTracker(self.ledger, self.services, settings, self.clock, self.trigger)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> App:
        """Build from environment variables; raises ConfigError when one is missing."""
        return cls(load_settings(environ))

    def handle_task_event(self, event: object) -> dict[str, str]:
        """Apply one EventBridge event; a malformed one is logged, counted and dropped."""
        try:
            parsed = parse_task_event(event)
        except InvalidEventError as error:
            count(Metric.EVENTS_REJECTED)
            logger.error(
                "event rejected", extra={"event_id": event_id_of(event), "reason": str(error)}
            )
            return {"action": "rejected", "reason": str(error)}
        with log_keys(
            task_arn=parsed.task_arn, ecs_service=parsed.service_name, event_id=parsed.event_id
        ):
            result = self.tracker.handle(parsed)
            logger.debug("event handled", extra={"action": str(result.action)})
        return {"action": str(result.action), "reason": result.reason, "task_arn": result.task_arn}

    def sweep(
        self, remaining_ms: Callable[[], int], run_id: str | None = None
    ) -> dict[str, object]:
        """One sweeper run, bounded by ``remaining_ms`` (the invocation's remaining time)."""
        sweeper = Sweeper(
            self.ledger,
            self.ecs,
            self.health,
            self.services,
            self.settings,
            self.clock,
            run_id or uuid.uuid4().hex,
        )
        return sweeper.run(remaining_ms).as_dict()


_installed: App | None = None


def install(app: App) -> None:
    """Make ``app`` the one the handlers use (the simulator and tests inject theirs)."""
    global _installed  # noqa: PLW0603 - the process-wide composition root
    _installed = app


def reset() -> None:
    """Forget the installed App; the next :func:`current` builds one from the environment."""
    global _installed  # noqa: PLW0603
    _installed = None


def current() -> App:
    """The installed App, built from the environment on first use."""
    global _installed  # noqa: PLW0603
    if _installed is None:
        _installed = App.from_environment()
    return _installed
