"""Composition root: :func:`bootstrap` wires settings, clock and ports into an :class:`App`.

Production calls ``bootstrap()`` (settings from the environment, the system clock, botocore
adapters). Tests and the simulator pass their own settings, clock and :class:`Ports`
through the same door. Handler modules use :func:`current`, which bootstraps on first use;
:func:`install` replaces the App they use (the simulator installs one per container).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

from serverless.backstop.plan import is_backstop_event
from serverless.backstop.run import Backstop
from serverless.domain.clock import Clock, SystemClock
from serverless.domain.early_start import EARLY_START_SOURCE
from serverless.domain.errors import InvalidEventError
from serverless.domain.events import event_id_of, parse_task_event
from serverless.observability import Metric, account_of, count, log_keys, logger
from serverless.ports import Ports
from serverless.settings import Settings, load_settings
from serverless.shared.pacing import DESCRIBE_SERVICES_SINGLY, Pacer
from serverless.shared.services import ServiceDirectory
from serverless.sweep.run import Sweeper
from serverless.track.tracker import DrainTracker

__all__ = ["App", "bootstrap", "current", "install", "reset"]


class App:
    """Everything one warm container needs, built once by :func:`bootstrap`."""

    def __init__(self, settings: Settings, clock: Clock, ports: Ports) -> None:
        self.settings = settings
        self.clock = clock
        self.ports = ports
        # Paces this container's DescribeServices to each account's bucket (task-events).
        self.pacer = Pacer(ports.ledger, clock)
        # Warm-container cache of service tags, shared by every invocation of this App,
        # backed by the ledger's copy shared by all containers.
        self.services = ServiceDirectory(
            ports.ecs,
            settings,
            clock,
            shared=ports.ledger,
            before_call=lambda cluster: self.pacer.acquire(DESCRIBE_SERVICES_SINGLY, arn=cluster),
        )
        self.tracker = DrainTracker(ports.ledger, self.services, settings, clock, ports.trigger)

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
        refusal = self._refusal(parsed.task_arn, parsed.cluster_arn)
        if refusal is not None:
            count(Metric.EVENTS_REJECTED)
            logger.error(
                "event rejected",
                extra={
                    "event_id": parsed.event_id,
                    "task_arn": parsed.task_arn,
                    "account": account_of(parsed.task_arn),
                    "reason": refusal,
                },
            )
            return {"action": "rejected", "reason": refusal, "task_arn": parsed.task_arn}
        with log_keys(
            task_arn=parsed.task_arn,
            ecs_service=parsed.service_name,
            event_id=parsed.event_id,
            account=account_of(parsed.task_arn),
        ):
            result = self.tracker.handle(parsed)
            logger.debug("event handled", extra={"action": str(result.action)})
        return {"action": str(result.action), "reason": result.reason, "task_arn": result.task_arn}

    def _refusal(self, task_arn: str, cluster_arn: str) -> str | None:
        """Why a hub does not act on this task (an account it does not list, another
        region); None: it does (and always in a single-account deployment)."""
        if self.ports.tenancy is None:
            return None
        tenancy = self.ports.tenancy.tenancy()
        return tenancy.refusal(task_arn) or tenancy.refusal(cluster_arn)

    def sweep(
        self,
        remaining_ms: Callable[[], int],
        run_id: str | None = None,
        event: object = None,
    ) -> dict[str, object]:
        """One sweeper run, bounded by ``remaining_ms`` (the invocation's remaining time).

        ``event`` is what started it: the schedule's, or an early start from task-events.
        """
        if is_backstop_event(event):
            return self.backstop(remaining_ms)
        early = isinstance(event, Mapping) and event.get("source") == EARLY_START_SOURCE
        sweeper = Sweeper(
            self.ports,
            self.services,
            self.settings,
            self.clock,
            run_id or uuid.uuid4().hex,
            early=early,
        )
        return sweeper.run(remaining_ms).as_dict()

    def backstop(self, remaining_ms: Callable[[], int]) -> dict[str, object]:
        """One backstop run (the schedule's backstop event started the sweeper function):
        record this minute's slice of drains no event reported."""
        lister = self.ports.service_list
        if lister is None:
            logger.warning("backstop event, but this deployment has no service lister")
            return {"backstop": False}
        backstop = Backstop(self.ports, lister, self.services, self.settings, self.clock)
        return backstop.run(remaining_ms).as_dict()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    ports: Ports | None = None,
) -> App:
    """Build the :class:`App`: settings from the environment (read once), the system clock
    and the production adapters unless given. Raises ConfigError for a bad environment.
    """
    settings = settings if settings is not None else load_settings()
    if ports is None:
        from serverless.adapters import production_ports  # the only import of botocore

        ports = production_ports(settings)
    return App(settings, clock or SystemClock(), ports)


_installed: App | None = None


def install(app: App) -> None:
    """Make ``app`` the one the handlers use (the simulator and tests install theirs)."""
    global _installed  # noqa: PLW0603 - the process-wide composition root
    _installed = app


def reset() -> None:
    """Forget the installed App; the next :func:`current` bootstraps a production one."""
    global _installed  # noqa: PLW0603
    _installed = None


def current() -> App:
    """The installed App, bootstrapped from the environment on first use."""
    global _installed  # noqa: PLW0603
    if _installed is None:
        _installed = bootstrap()
    return _installed
