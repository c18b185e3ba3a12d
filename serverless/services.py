"""Service policies from tags: cached for recording drains, read fresh for stop decisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from serverless.clock import Clock
from serverless.errors import DrainTerminatorError
from serverless.model import ServiceInfo, ServicePolicy
from serverless.observability import logger
from serverless.policy import parse_policy
from serverless.ports import EcsPort
from serverless.settings import Settings

__all__ = ["DESCRIBE_SERVICES_BATCH", "ServiceDirectory", "ServiceView"]

#: DescribeServices describes at most this many services per call.
DESCRIBE_SERVICES_BATCH = 10

_NOT_OPTED_IN = ServicePolicy(enabled=False, wait_seconds=0)


@dataclass(frozen=True, slots=True)
class ServiceView:
    """A service as DescribeServices showed it at ``read_at`` (None: it does not exist)."""

    info: ServiceInfo | None
    policy: ServicePolicy
    read_at: float


class ServiceDirectory:
    """Looks up services (DescribeServices with tags) and turns their tags into policies.

    One per warm container; the cache is shared by its invocations (and a run's workers).
    """

    def __init__(self, ecs: EcsPort, settings: Settings, clock: Clock) -> None:
        self._ecs = ecs
        self._settings = settings
        self._clock = clock
        self._cache: dict[tuple[str, str], ServiceView] = {}

    def _view(
        self, cluster_arn: str, name: str, info: ServiceInfo | None, now: float
    ) -> ServiceView:
        if info is None:
            view = ServiceView(None, _NOT_OPTED_IN, now)
        else:
            result = parse_policy(
                info.tags, self._settings.tag_prefix, self._settings.default_wait_seconds
            )
            before = self._cache.get((cluster_arn, name))
            if before is None or before.info is None or before.info.tags != info.tags:
                for warning in result.warnings:  # once per tag set, not on every refresh
                    logger.warning(warning, extra={"ecs_service": name, "cluster_arn": cluster_arn})
            view = ServiceView(info, result.policy, now)
        self._cache[(cluster_arn, name)] = view
        return view

    def _read(
        self,
        cluster_arn: str,
        names: Sequence[str],
        before_call: Callable[[], None] | None,
    ) -> dict[str, ServiceView]:
        if before_call is not None:
            before_call()
        found = self._ecs.describe_services(cluster_arn, names)
        now = self._clock.now()
        return {name: self._view(cluster_arn, name, found.get(name), now) for name in names}

    def policy(self, cluster_arn: str, service_name: str) -> ServicePolicy:
        """The service's policy, reused for ``TAG_CACHE_SECONDS``; a missing service is not
        opted in. Raises a DrainTerminatorError when the lookup fails.
        """
        view = self._cache.get((cluster_arn, service_name))
        if view is None or view.read_at + self._settings.tag_cache_seconds <= self._clock.now():
            view = self._read(cluster_arn, [service_name], None)[service_name]
        return view.policy

    def fresh(
        self,
        cluster_arn: str,
        service_names: Sequence[str],
        max_age: float,
        before_call: Callable[[], None] | None = None,
    ) -> dict[str, ServiceView | DrainTerminatorError]:
        """Views of the services read at most ``max_age`` seconds ago, looking up the others
        in batches of ten (``before_call`` runs before each call, e.g. to pace it).

        When a batch fails, its services are looked up one by one, so a failure maps only
        the service(s) it belongs to to the error; the others are unaffected.
        """
        now = self._clock.now()
        views: dict[str, ServiceView | DrainTerminatorError] = {}
        stale: list[str] = []
        for name in dict.fromkeys(service_names):
            view = self._cache.get((cluster_arn, name))
            if view is not None and now - view.read_at <= max_age:
                views[name] = view
            else:
                stale.append(name)
        for start in range(0, len(stale), DESCRIBE_SERVICES_BATCH):
            batch = stale[start : start + DESCRIBE_SERVICES_BATCH]
            try:
                views.update(self._read(cluster_arn, batch, before_call))
            except DrainTerminatorError as error:
                if len(batch) == 1:
                    views[batch[0]] = error
                    continue
                # Find the service(s) the failure belongs to: one call each.
                for name in batch:
                    try:
                        views.update(self._read(cluster_arn, [name], before_call))
                    except DrainTerminatorError as own:
                        views[name] = own
                del error
        return views
