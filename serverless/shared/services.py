"""Service policies from tags: cached for recording drains, read fresh for stop decisions."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from serverless.domain.clock import Clock
from serverless.domain.errors import DrainTerminatorError
from serverless.domain.model import ServiceInfo, ServicePolicy, ServiceSnapshot
from serverless.domain.tags import parse_policy
from serverless.observability import logger
from serverless.ports import DESCRIBE_SERVICES_BATCH, EcsPort, LedgerPort
from serverless.settings import Settings

__all__ = ["LOOKUP_CLAIM_SECONDS", "LOOKUP_POLL_SECONDS", "ServiceDirectory"]

#: One function at a time describes a service for the shared copy: the others wait up to
#: this long for that copy (looking every LOOKUP_POLL_SECONDS), then describe it themselves.
LOOKUP_CLAIM_SECONDS = 5.0
LOOKUP_POLL_SECONDS = 0.1

_NOT_OPTED_IN = ServicePolicy(enabled=False, wait_seconds=0)


class ServiceDirectory:
    """Looks up services (DescribeServices with tags) and turns their tags into policies.

    One per warm container; the cache is shared by its invocations (and a run's workers).
    """

    def __init__(
        self,
        ecs: EcsPort,
        settings: Settings,
        clock: Clock,
        shared: LedgerPort | None = None,
        before_call: Callable[[str], None] | None = None,
    ) -> None:
        self._ecs = ecs
        self._settings = settings
        self._clock = clock
        #: The ledger's copy of each service, shared by every warm container (optional).
        self._shared = shared
        #: Runs before each DescribeServices of :meth:`policy`, with the cluster's ARN (e.g.
        #: to pace it to the cluster's account).
        self._before_call = before_call
        self._cache: dict[tuple[str, str], ServiceSnapshot] = {}

    def _view(
        self, cluster_arn: str, name: str, info: ServiceInfo | None, now: float
    ) -> ServiceSnapshot:
        if info is None:
            view = ServiceSnapshot(None, _NOT_OPTED_IN, now)
        else:
            result = parse_policy(
                info.tags,
                self._settings.tag_prefix,
                self._settings.default_wait_seconds,
                self._settings.default_stop_action,
            )
            before = self._cache.get((cluster_arn, name))
            if before is None or before.info is None or before.info.tags != info.tags:
                for warning in result.warnings:  # once per tag set, not on every refresh
                    logger.warning(warning, extra={"ecs_service": name, "cluster_arn": cluster_arn})
            view = ServiceSnapshot(info, result.policy, now)
        self._cache[(cluster_arn, name)] = view
        return view

    def _read(
        self,
        cluster_arn: str,
        names: Sequence[str],
        before_call: Callable[[str], None] | None,
    ) -> dict[str, ServiceSnapshot]:
        if before_call is not None:
            before_call(cluster_arn)
        found = self._ecs.describe_services(cluster_arn, names)
        now = self._clock.now()
        return {name: self._view(cluster_arn, name, found.get(name), now) for name in names}

    def policy(self, cluster_arn: str, service_name: str) -> ServicePolicy:
        """The service's policy (see :meth:`snapshot`)."""
        return self.snapshot(cluster_arn, service_name).policy

    def snapshot(self, cluster_arn: str, service_name: str) -> ServiceSnapshot:
        """The service and its policy, at most ``TAG_CACHE_SECONDS`` old; a missing service
        is not opted in. Raises a DrainTerminatorError when the lookup fails.

        Looks in this container's cache, then in the ledger's shared copy, and only then
        asks ECS (paced), storing the answer for the other containers: a burst of drains
        on many cold containers costs about one DescribeServices per service.
        """
        max_age = self._settings.tag_cache_seconds
        view = self._cache.get((cluster_arn, service_name))
        if view is not None and self._clock.now() - view.read_at < max_age:
            return view
        stored = self._stored(cluster_arn, service_name)
        if stored is not None and self._clock.now() - stored[1] < max_age:
            return self._view(cluster_arn, service_name, stored[0], stored[1])
        waited = self._wait_for_another_lookup(cluster_arn, service_name, max_age)
        if waited is not None:
            return waited
        view = self._read(cluster_arn, [service_name], self._before_call)[service_name]
        if self._shared is not None:
            try:
                self._shared.put_service(cluster_arn, service_name, view.info, view.read_at)
            except DrainTerminatorError as error:
                logger.warning("could not share the service's tags", extra={"error": str(error)})
        return view

    def _wait_for_another_lookup(
        self, cluster_arn: str, service_name: str, max_age: float
    ) -> ServiceSnapshot | None:
        """When another function has claimed the service's lookup, its policy from the copy
        that function stores; None: this function describes the service itself.

        Without this, a burst of drains on many cold containers made each of them describe
        the same services at once, and their paced calls pushed the account's shared
        DescribeServices bucket minutes into the future.
        """
        if self._shared is None:
            return None
        now = self._clock.now()
        try:
            if self._shared.claim_service_lookup(
                cluster_arn, service_name, now, now + LOOKUP_CLAIM_SECONDS
            ):
                return None
        except DrainTerminatorError as error:
            logger.warning("could not claim the service lookup", extra={"error": str(error)})
            return None
        give_up = now + LOOKUP_CLAIM_SECONDS
        while self._clock.now() < give_up:
            self._clock.sleep(LOOKUP_POLL_SECONDS)
            stored = self._stored(cluster_arn, service_name)
            if stored is not None and self._clock.now() - stored[1] < max_age:
                return self._view(cluster_arn, service_name, stored[0], stored[1])
        return None  # the other function did not store it in time: describe it here

    def _stored(
        self, cluster_arn: str, service_name: str
    ) -> tuple[ServiceInfo | None, float] | None:
        if self._shared is None:
            return None
        try:
            return self._shared.get_service(cluster_arn, service_name)
        except DrainTerminatorError as error:
            logger.warning("could not read the shared service tags", extra={"error": str(error)})
            return None

    def fresh(
        self,
        cluster_arn: str,
        service_names: Sequence[str],
        max_age: float,
        before_call: Callable[[str], None] | None = None,
    ) -> dict[str, ServiceSnapshot | DrainTerminatorError]:
        """Views of the services read at most ``max_age`` seconds ago, looking up the others
        in batches of ten (``before_call`` runs before each call with the cluster's ARN,
        e.g. to pace it).

        When a batch fails, its services are looked up one by one, so a failure maps only
        the service(s) it belongs to to the error; the others are unaffected.
        """
        now = self._clock.now()
        views: dict[str, ServiceSnapshot | DrainTerminatorError] = {}
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
