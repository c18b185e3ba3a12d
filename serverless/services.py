"""Service policies from tags, cached briefly per warm container."""

from __future__ import annotations

from dataclasses import dataclass

from serverless.clock import Clock
from serverless.model import ServiceInfo, ServicePolicy
from serverless.observability import logger
from serverless.policy import parse_policy
from serverless.ports import EcsPort
from serverless.settings import Settings

__all__ = ["ServiceDirectory"]

_NOT_OPTED_IN = ServicePolicy(enabled=False, wait_seconds=0)


@dataclass(slots=True)
class _Entry:
    info: ServiceInfo | None
    policy: ServicePolicy
    expires: float


class ServiceDirectory:
    """Looks up services (DescribeServices with tags) and turns their tags into policies."""

    def __init__(self, ecs: EcsPort, settings: Settings, clock: Clock) -> None:
        self._ecs = ecs
        self._settings = settings
        self._clock = clock
        self._cache: dict[tuple[str, str], _Entry] = {}

    def _entry(self, cluster_arn: str, service_name: str) -> _Entry:
        now = self._clock.now()
        key = (cluster_arn, service_name)
        entry = self._cache.get(key)
        if entry is not None and entry.expires > now:
            return entry
        info = self._ecs.describe_service(cluster_arn, service_name)
        if info is None:
            policy = _NOT_OPTED_IN
        else:
            result = parse_policy(
                info.tags, self._settings.tag_prefix, self._settings.default_wait_seconds
            )
            for warning in result.warnings:
                logger.warning(
                    warning, extra={"ecs_service": service_name, "cluster_arn": cluster_arn}
                )
            policy = result.policy
        entry = _Entry(info, policy, now + self._settings.tag_cache_seconds)
        self._cache[key] = entry
        return entry

    def policy(self, cluster_arn: str, service_name: str) -> ServicePolicy:
        """The service's policy; a missing service is not opted in."""
        return self._entry(cluster_arn, service_name).policy

    def info(self, cluster_arn: str, service_name: str) -> ServiceInfo | None:
        """The service as last described (cached), or None when it does not exist."""
        return self._entry(cluster_arn, service_name).info
