"""``tags``: the opt-in tags of a service, checked with the terminator's own rules.

The values go through :func:`serverless.domain.tags.parse_policy` — the function the
task-events and sweeper functions apply — so a tag set that would be read differently
(an invalid wait falling back to the default, a guard turned off) is refused here.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from serverless.domain.errors import DrainTerminatorError
from serverless.domain.tags import (
    TAG_DRY_RUN,
    TAG_ENABLED,
    TAG_MAX_STOPS_PER_MINUTE,
    TAG_MIN_HEALTHY_PERCENT,
    TAG_WAIT_SECONDS,
    parse_policy,
)

__all__ = ["InvalidTagsError", "TagSet", "build_tags", "service_arn"]


def service_arn(cluster_arn: str, service_name: str) -> str:
    """Long-format service ARN (``...:service/<cluster>/<name>``) from a cluster ARN."""
    head, _, cluster = cluster_arn.partition(":cluster/")
    return f"{head}:service/{cluster}/{service_name}"


class InvalidTagsError(DrainTerminatorError):
    """A tag value the terminator would not read as given."""


@dataclass(frozen=True, slots=True)
class TagSet:
    """The complete set of prefixed tags a service should carry."""

    prefix: str
    tags: dict[str, str]

    def aws_cli(self, service_arn: str) -> str:
        """The equivalent ``aws ecs tag-resource`` command."""
        pairs = " ".join(
            shlex.quote(f"key={key},value={value}") for key, value in self.tags.items()
        )
        return f"aws ecs tag-resource --resource-arn {shlex.quote(service_arn)} --tags {pairs}"

    def terraform(self) -> str:
        """The tags as a Terraform map (for ``aws_ecs_service.tags``)."""
        width = max(len(json.dumps(key)) for key in self.tags)
        body = "\n".join(
            f"  {json.dumps(key).ljust(width)} = {json.dumps(value)}"
            for key, value in self.tags.items()
        )
        return "tags = {\n" + body + "\n}"

    def stale(self, current: Mapping[str, str]) -> list[str]:
        """Keys under the prefix that ``current`` carries and this set does not."""
        return sorted(k for k in current if k.startswith(self.prefix) and k not in self.tags)


def build_tags(
    prefix: str,
    default_wait: int,
    *,
    wait: str | None = None,
    min_healthy_percent: str | None = None,
    max_stops_per_minute: str | None = None,
    dry_run: bool = False,
) -> TagSet:
    """The tag set for the given options; InvalidTagsError when a value would be misread."""
    tags = {prefix + TAG_ENABLED: "true"}
    if wait is not None:
        tags[prefix + TAG_WAIT_SECONDS] = wait.strip()
    if min_healthy_percent is not None:
        tags[prefix + TAG_MIN_HEALTHY_PERCENT] = min_healthy_percent.strip()
    if max_stops_per_minute is not None:
        tags[prefix + TAG_MAX_STOPS_PER_MINUTE] = max_stops_per_minute.strip()
    if dry_run:
        tags[prefix + TAG_DRY_RUN] = "true"
    result = parse_policy(tags, prefix, default_wait)
    if result.warnings:
        # The functions would log these and fall back; refuse instead of tagging.
        raise InvalidTagsError(
            "; ".join(result.warnings)
            + " (that is how the terminator would read it; nothing tagged)"
        )
    return TagSet(prefix, tags)
